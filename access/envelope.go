package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// parseEnvelope decodes a signed envelope strictly: one JSON object with
// the string fields key_id, payload and sig, nothing else. A snapshot's
// envelope runs to tens of megabytes of base64, which encoding/json would
// scan byte by byte twice; this reads each string with one IndexByte and
// falls back to encoding/json only for strings with escapes.
func parseEnvelope(b []byte) (Envelope, error) {
	var env Envelope
	p := &jsonCursor{b: b}
	if !p.consume('{') {
		return env, errors.New("want a JSON object")
	}
	seen := 0
	if !p.consume('}') {
		for {
			key, err := p.str()
			if err != nil {
				return env, err
			}
			if !p.consume(':') {
				return env, fmt.Errorf("offset %d: want :", p.i)
			}
			val, err := p.str()
			if err != nil {
				return env, fmt.Errorf("field %q: %w", key, err)
			}
			var bit int
			switch key {
			case "key_id":
				env.KeyID, bit = val, 1
			case "payload":
				env.Payload, bit = val, 2
			case "sig":
				env.Sig, bit = val, 4
			default:
				return env, fmt.Errorf("unknown field %q", key)
			}
			if seen&bit != 0 {
				return env, fmt.Errorf("duplicate field %q", key)
			}
			seen |= bit
			if p.consume(',') {
				continue
			}
			if p.consume('}') {
				break
			}
			return env, fmt.Errorf("offset %d: want , or }", p.i)
		}
	}
	p.skip()
	if p.i != len(p.b) {
		return env, errors.New("trailing data after the JSON object")
	}
	return env, nil
}

// jsonCursor walks a JSON text.
type jsonCursor struct {
	b []byte
	i int
}

func (p *jsonCursor) skip() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, if it is next.
func (p *jsonCursor) consume(c byte) bool {
	p.skip()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a JSON string.
func (p *jsonCursor) str() (string, error) {
	p.skip()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", fmt.Errorf("offset %d: want a string", p.i)
	}
	start := p.i
	j := start + 1
	escaped := false
	for {
		k := bytes.IndexByte(p.b[j:], '"')
		if k < 0 {
			return "", errors.New("unterminated string")
		}
		j += k
		// The quote ends the string unless an odd run of backslashes
		// precedes it.
		n := 0
		for m := j - 1; m > start && p.b[m] == '\\'; m-- {
			n++
		}
		if n > 0 {
			escaped = true
		}
		if n%2 == 0 {
			break
		}
		j++
	}
	raw := p.b[start : j+1]
	p.i = j + 1
	if !escaped && plainASCII(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// plainASCII reports whether a raw string is printable ASCII without
// backslashes, so that its JSON value is its bytes; anything else (escapes,
// control characters, UTF-8 to validate) takes encoding/json's path.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}
