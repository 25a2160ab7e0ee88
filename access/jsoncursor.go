package access

import (
	"fmt"
	"strconv"
	"time"
)

// object reads a JSON object, calling field for each key with the cursor on
// its value.
func (p *jsonCursor) object(field func(key string) error) error {
	if !p.consume('{') {
		return fmt.Errorf("offset %d: want an object", p.i)
	}
	if p.consume('}') {
		return nil
	}
	for {
		key, err := p.str()
		if err != nil {
			return err
		}
		if !p.consume(':') {
			return fmt.Errorf("offset %d: want :", p.i)
		}
		if err := field(key); err != nil {
			return err
		}
		if p.consume(',') {
			continue
		}
		if p.consume('}') {
			return nil
		}
		return fmt.Errorf("offset %d: want , or }", p.i)
	}
}

// array reads a JSON array (or null, reported), calling elem for each
// element with the cursor on it.
func (p *jsonCursor) array(elem func() error) (null bool, err error) {
	if p.isNull() {
		return true, nil
	}
	if !p.consume('[') {
		return false, fmt.Errorf("offset %d: want an array", p.i)
	}
	if p.consume(']') {
		return false, nil
	}
	for {
		if err := elem(); err != nil {
			return false, err
		}
		if p.consume(',') {
			continue
		}
		if p.consume(']') {
			return false, nil
		}
		return false, fmt.Errorf("offset %d: want , or ]", p.i)
	}
}

// literal consumes the keyword w if it is next.
func (p *jsonCursor) literal(w string) bool {
	p.skip()
	if len(p.b)-p.i >= len(w) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

func (p *jsonCursor) isNull() bool { return p.literal("null") }

// nullableStr reads a string; null keeps old, as encoding/json does.
func (p *jsonCursor) nullableStr(old string) (string, error) {
	if p.isNull() {
		return old, nil
	}
	return p.str()
}

func (p *jsonCursor) strs() ([]string, error) {
	var out []string
	null, err := p.array(func() error {
		s, err := p.str()
		out = append(out, s)
		return err
	})
	return fixSlice(out, null), err
}

func (p *jsonCursor) bool(old bool) (bool, error) {
	switch {
	case p.literal("true"):
		return true, nil
	case p.literal("false"):
		return false, nil
	case p.isNull():
		return old, nil
	}
	return false, fmt.Errorf("offset %d: want true or false", p.i)
}

// number returns the literal of a JSON number.
func (p *jsonCursor) number() (string, error) {
	p.skip()
	start, b := p.i, p.b
	i := start
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return "", fmt.Errorf("offset %d: want a number", start)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return "", fmt.Errorf("offset %d: bad number", start)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", fmt.Errorf("offset %d: bad number", start)
		}
	}
	p.i = i
	return string(b[start:i]), nil
}

func (p *jsonCursor) uint(old uint64) (uint64, error) {
	if p.isNull() {
		return old, nil
	}
	lit, err := p.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(lit, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("number %s: want an unsigned integer", lit)
	}
	return v, nil
}

func (p *jsonCursor) int() (int64, error) {
	lit, err := p.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(lit, 10, strconv.IntSize)
	if err != nil {
		return 0, fmt.Errorf("number %s: want an integer", lit)
	}
	return v, nil
}

// time reads an RFC 3339 string exactly as time.Time.UnmarshalJSON does.
func (p *jsonCursor) time(t *time.Time) error {
	if p.isNull() {
		return nil
	}
	p.skip()
	start := p.i
	if _, err := p.str(); err != nil {
		return err
	}
	return t.UnmarshalJSON(p.b[start:p.i])
}

func (p *jsonCursor) timePtr() (*time.Time, error) {
	if p.isNull() {
		return nil, nil
	}
	t := new(time.Time)
	if err := p.time(t); err != nil {
		return nil, err
	}
	return t, nil
}
