package sim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// The helpers below are the models' access to the image by point name. They
// run with s.mu held and ignore points the profile does not have (optional
// points such as tamper or occupied).

func (s *Sim) setBool(name string, b bool) {
	if p := s.points[name]; p != nil {
		s.img.putBool(p, 0, b)
	}
}

func (s *Sim) boolOf(name string) bool {
	p := s.points[name]
	return p != nil && s.img.getBool(p, 0)
}

// setInt writes a whole number; a value the point cannot hold is clamped by
// ignoring the write, which only a hand-made profile with a too-small type
// can cause.
func (s *Sim) setInt(name string, n int64) {
	if p := s.points[name]; p != nil {
		_ = s.img.putElem(p, 0, drivers.Value{Type: configs.TypeInt64, Int: n, Num: float64(n)})
	}
}

func (s *Sim) setFloat(name string, f float64) {
	if p := s.points[name]; p != nil {
		_ = s.img.putElem(p, 0, drivers.Value{Type: configs.TypeFloat32, Num: f})
	}
}

func (s *Sim) intOf(name string) int64 {
	p := s.points[name]
	if p == nil {
		return 0
	}
	return s.img.getElem(p, 0).Int
}

// bump adds one to a counter point, wrapping at the top of its type.
func (s *Sim) bump(name string) {
	p := s.points[name]
	if p == nil {
		return
	}
	u := s.img.getElem(p, 0).Uint + 1
	if bits := 16 * p.Registers(); bits < 64 {
		u &= 1<<bits - 1
	}
	_ = s.img.putElem(p, 0, drivers.Value{Type: configs.TypeUint64, Uint: u, Num: float64(u)})
}

// Present makes the controller's reader read a credential: credential takes
// the value (decimal digits for a numeric point, the text for a string
// point) and then credential_seq moves on by one, as CONTRACT section 3
// describes. Every kind has a reader; a profile without one gets an error.
func (s *Sim) Present(credential string) error {
	p := s.points["credential"]
	if p == nil || s.points["credential_seq"] == nil {
		return fmt.Errorf("sim: present: profile %q has no credential reader: %w", s.profile.Name, ErrUnknownPoint)
	}
	var v drivers.Value
	if p.Type == configs.TypeString {
		v = drivers.Value{Type: configs.TypeString, Str: credential}
	} else {
		u, err := strconv.ParseUint(strings.TrimSpace(credential), 10, 64)
		if err != nil {
			// The value itself stays out of the error: it is a credential.
			return fmt.Errorf("sim: present: point %q is numeric and the credential is not a decimal number", p.Name)
		}
		v = drivers.Value{Type: configs.TypeUint64, Uint: u, Num: float64(u)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.img.put(p, v); err != nil {
		return fmt.Errorf("sim: present: %w", err)
	}
	s.bump("credential_seq")
	return nil
}

// SetFault sets the controller's fault_code point (0 clears it). A lift with
// a fault stops where it is; a gate arm with a fault does not move.
func (s *Sim) SetFault(code uint16) error {
	if s.points["fault_code"] == nil {
		return fmt.Errorf("sim: set fault: %w", ErrWrongKind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setInt("fault_code", int64(code))
	return nil
}

// Number is an untyped number for Set: scaled and float points take it as
// their value, integer points as a whole number.
func Number(f float64) drivers.Value { return drivers.Value{Num: f} }
