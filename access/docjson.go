package access

import (
	"errors"
	"fmt"
)

// decodeDocument is a strict decoder for the whitelist document, written
// out by hand because encoding/json spends well over a second on a
// 100,000-entry snapshot. It is stricter than encoding/json (field names
// must match exactly, no field twice, no null inside lists) and otherwise
// gives the same result; FuzzDecodeDocument holds it to that.
func decodeDocument(b []byte) (*Document, error) {
	p := &jsonCursor{b: b}
	d := &Document{}
	var seen uint32
	err := p.object(func(key string) error {
		var err error
		switch key {
		case "site":
			err = p.once(&seen, 0, key, func() (err error) { d.Site, err = p.nullableStr(d.Site); return })
		case "version":
			err = p.once(&seen, 1, key, func() (err error) { d.Version, err = p.uint(d.Version); return })
		case "kind":
			err = p.once(&seen, 2, key, func() (err error) { d.Kind, err = p.nullableStr(d.Kind); return })
		case "base_version":
			err = p.once(&seen, 3, key, func() (err error) { d.BaseVersion, err = p.uint(d.BaseVersion); return })
		case "issued_at":
			err = p.once(&seen, 4, key, func() error { return p.time(&d.IssuedAt) })
		case "upsert":
			err = p.once(&seen, 5, key, func() error {
				null, err := p.array(func() error {
					d.Upsert = append(d.Upsert, Entry{})
					return p.entry(&d.Upsert[len(d.Upsert)-1])
				})
				if err == nil && !null && d.Upsert == nil {
					d.Upsert = []Entry{}
				}
				if null {
					d.Upsert = nil
				}
				return err
			})
		case "remove":
			err = p.once(&seen, 6, key, func() (err error) { d.Remove, err = p.strs(); return })
		default:
			return fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i != len(p.b) {
		return nil, errors.New("trailing data after the JSON document")
	}
	return d, nil
}

func (p *jsonCursor) entry(e *Entry) error {
	if p.isNull() {
		return errors.New("null entry")
	}
	var seen uint32
	return p.object(func(key string) error {
		switch key {
		case "id":
			return p.once(&seen, 0, key, func() (err error) { e.ID, err = p.nullableStr(e.ID); return })
		case "label":
			return p.once(&seen, 1, key, func() (err error) { e.Label, err = p.nullableStr(e.Label); return })
		case "credentials":
			return p.once(&seen, 2, key, func() error {
				null, err := p.array(func() error {
					var c Credential
					if p.isNull() {
						return errors.New("null credential")
					}
					var cs uint32
					err := p.object(func(k string) error {
						switch k {
						case "type":
							return p.once(&cs, 0, k, func() (err error) { c.Type, err = p.nullableStr(c.Type); return })
						case "hash":
							return p.once(&cs, 1, k, func() (err error) { c.Hash, err = p.nullableStr(c.Hash); return })
						}
						return fmt.Errorf("unknown field %q", k)
					})
					e.Credentials = append(e.Credentials, c)
					return err
				})
				e.Credentials = fixSlice(e.Credentials, null)
				return err
			})
		case "doors":
			return p.once(&seen, 3, key, func() (err error) { e.Doors, err = p.strs(); return })
		case "gates":
			return p.once(&seen, 4, key, func() (err error) { e.Gates, err = p.strs(); return })
		case "floors":
			return p.once(&seen, 5, key, func() error { return p.floors(e) })
		case "valid_from":
			return p.once(&seen, 6, key, func() (err error) { e.ValidFrom, err = p.timePtr(); return })
		case "valid_until":
			return p.once(&seen, 7, key, func() (err error) { e.ValidUntil, err = p.timePtr(); return })
		case "schedule":
			return p.once(&seen, 8, key, func() error {
				null, err := p.array(func() error {
					var w Window
					if p.isNull() {
						return errors.New("null window")
					}
					var ws uint32
					err := p.object(func(k string) error {
						switch k {
						case "days":
							return p.once(&ws, 0, k, func() (err error) { w.Days, err = p.nullableStr(w.Days); return })
						case "from":
							return p.once(&ws, 1, k, func() (err error) { w.From, err = p.nullableStr(w.From); return })
						case "to":
							return p.once(&ws, 2, k, func() (err error) { w.To, err = p.nullableStr(w.To); return })
						}
						return fmt.Errorf("unknown field %q", k)
					})
					e.Schedule = append(e.Schedule, w)
					return err
				})
				e.Schedule = fixSlice(e.Schedule, null)
				return err
			})
		case "max_uses_per_day":
			return p.once(&seen, 9, key, func() error {
				if p.isNull() {
					return nil
				}
				v, err := p.int()
				e.MaxUsesPerDay = int(v)
				return err
			})
		case "revoked":
			return p.once(&seen, 10, key, func() (err error) { e.Revoked, err = p.bool(e.Revoked); return })
		}
		return fmt.Errorf("unknown field %q", key)
	})
}

func (p *jsonCursor) floors(e *Entry) error {
	if p.isNull() {
		e.Floors = nil
		return nil
	}
	e.Floors = map[string][]int{}
	return p.object(func(lift string) error {
		if _, dup := e.Floors[lift]; dup {
			return fmt.Errorf("floors: duplicate key %q", lift)
		}
		var fl []int
		null, err := p.array(func() error {
			v, err := p.int()
			fl = append(fl, int(v))
			return err
		})
		e.Floors[lift] = fixSlice(fl, null)
		return err
	})
}

// fixSlice gives encoding/json's results: null is nil, [] is empty.
func fixSlice[T any](s []T, null bool) []T {
	if null {
		return nil
	}
	if s == nil {
		return []T{}
	}
	return s
}

// once parses a field's value unless the field was seen before.
func (p *jsonCursor) once(seen *uint32, bit uint, key string, parse func() error) error {
	if *seen&(1<<bit) != 0 {
		return fmt.Errorf("duplicate field %q", key)
	}
	*seen |= 1 << bit
	if err := parse(); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
