package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a way a controller or its network misbehaves.
type FaultKind uint8

// Fault kinds.
const (
	// FaultNone answers normally.
	FaultNone FaultKind = iota
	// FaultNoAnswer accepts requests and never replies (an unplugged bus
	// behind a TCP converter, a hung controller).
	FaultNoAnswer
	// FaultException answers every request with the exception code in
	// FaultMode.Exception.
	FaultException
	// FaultSlow answers correctly after FaultMode.Delay.
	FaultSlow
	// FaultGarbage answers with random bytes instead of a frame.
	FaultGarbage
	// FaultDrop sends the first half of the answer and closes the connection.
	FaultDrop
	// FaultWrongUnit answers with another unit id than the request's.
	FaultWrongUnit
	// FaultWrongTransaction answers with another transaction id.
	FaultWrongTransaction
	// FaultStuck answers with the values frozen as they were when the fault
	// began; writes are accepted and change nothing a client can read.
	FaultStuck
	// FaultDisconnect closes every connection as soon as it sends a request,
	// and new ones as soon as they are accepted.
	FaultDisconnect
)

var faultNames = [...]string{
	FaultNone:             "none",
	FaultNoAnswer:         "no_answer",
	FaultException:        "exception",
	FaultSlow:             "slow",
	FaultGarbage:          "garbage",
	FaultDrop:             "drop",
	FaultWrongUnit:        "wrong_unit",
	FaultWrongTransaction: "wrong_transaction",
	FaultStuck:            "stuck",
	FaultDisconnect:       "disconnect",
}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// Modbus exception codes for FaultException.
const (
	ExIllegalFunction    uint8 = 0x01
	ExIllegalDataAddress uint8 = 0x02
	ExIllegalDataValue   uint8 = 0x03
	ExDeviceFailure      uint8 = 0x04
	ExDeviceBusy         uint8 = 0x06
	ExGatewayNoResponse  uint8 = 0x0B
)

// FaultMode is a fault and its parameter.
type FaultMode struct {
	Kind FaultKind
	// Exception is the code FaultException answers with.
	Exception uint8
	// Delay is how late FaultSlow answers.
	Delay time.Duration
}

// Validate reports a fault mode that lacks its parameter.
func (f FaultMode) Validate() error {
	switch {
	case f.Kind > FaultDisconnect:
		return fmt.Errorf("unknown fault kind %d", f.Kind)
	case f.Kind == FaultException && (f.Exception == 0 || f.Exception > 0x7f):
		return fmt.Errorf("fault exception: code %d out of range 1-127", f.Exception)
	case f.Kind == FaultSlow && f.Delay <= 0:
		return fmt.Errorf("fault slow: delay must be positive")
	}
	return nil
}

func (f FaultMode) String() string {
	switch f.Kind {
	case FaultException:
		return fmt.Sprintf("exception:%d", f.Exception)
	case FaultSlow:
		return "slow:" + f.Delay.String()
	}
	return f.Kind.String()
}

// ParseFault reads a fault mode as String writes it: "none", "no_answer",
// "exception:2", "slow:1.5s", "garbage", "drop", "wrong_unit",
// "wrong_transaction", "stuck", "disconnect".
func ParseFault(text string) (FaultMode, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(text), ":")
	for k, n := range faultNames {
		if n != name {
			continue
		}
		f := FaultMode{Kind: FaultKind(k)}
		switch f.Kind {
		case FaultException:
			code, err := strconv.ParseUint(arg, 0, 8)
			if err != nil {
				return FaultMode{}, fmt.Errorf("fault %q: want exception:CODE, such as exception:2", text)
			}
			f.Exception = uint8(code)
		case FaultSlow:
			d, err := time.ParseDuration(arg)
			if err != nil {
				return FaultMode{}, fmt.Errorf("fault %q: want slow:DURATION, such as slow:2s", text)
			}
			f.Delay = d
		default:
			if hasArg {
				return FaultMode{}, fmt.Errorf("fault %q: %s takes no argument", text, name)
			}
		}
		return f, f.Validate()
	}
	return FaultMode{}, fmt.Errorf("unknown fault %q (want one of %s)", text, strings.Join(faultNames[:], ", "))
}

// Fault switches the simulator's fault mode; FaultMode{} restores normal
// answers. Entering FaultStuck freezes what clients read; leaving it shows
// the live values again.
func (s *Sim) Fault(f FaultMode) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case f.Kind == FaultStuck && s.frozen == nil:
		s.frozen = s.img.clone()
	case f.Kind != FaultStuck:
		s.frozen = nil
	}
	s.fault = f
	s.log.Info("sim fault", "unit", s.unit, "fault", f.String())
	return nil
}

// CurrentFault returns the fault mode in force.
func (s *Sim) CurrentFault() FaultMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}
