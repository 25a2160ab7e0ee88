package access

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Document kinds.
const (
	KindSnapshot = "snapshot"
	KindDelta    = "delta"
)

// Document is a whitelist update as the platform signs it (CONTRACT
// section 5): a snapshot replaces everything, a delta applies to BaseVersion.
type Document struct {
	Site        string    `json:"site"`
	Version     uint64    `json:"version"`
	Kind        string    `json:"kind"`
	BaseVersion uint64    `json:"base_version,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	Upsert      []Entry   `json:"upsert"`
	Remove      []string  `json:"remove,omitempty"`
}

// Entry is one rider: credentials as keyed hashes, where they may go, when.
type Entry struct {
	ID          string       `json:"id"`
	Label       string       `json:"label,omitempty"`
	Credentials []Credential `json:"credentials"`
	// Doors and Gates are device ids; Floors maps an elevator id to floors.
	Doors  []string         `json:"doors,omitempty"`
	Floors map[string][]int `json:"floors,omitempty"`
	Gates  []string         `json:"gates,omitempty"`
	// ValidFrom and ValidUntil bound the entry; nil is unbounded.
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// Schedule lists weekly windows in the site's time zone; empty is always.
	Schedule      []Window `json:"schedule,omitempty"`
	MaxUsesPerDay int      `json:"max_uses_per_day,omitempty"`
	Revoked       bool     `json:"revoked,omitempty"`
}

// Credential is one credential of an entry: its type and
// hex(HMAC-SHA256(site key, type + ":" + value)).
type Credential struct {
	Type string `json:"type"`
	Hash string `json:"hash"`
}

// Window is a weekly time window: Days such as "mon-sun", "mon,wed,fri" or
// "sat-sun"; From and To as "HH:MM" (To may be "24:00"). A window whose To is
// not after From crosses midnight: it starts on the listed day and ends on
// the next.
type Window struct {
	Days string `json:"days"`
	From string `json:"from"`
	To   string `json:"to"`
}

// validID reports whether s is an entry or command id: 1-128 characters of
// letters, digits and ._:@- starting with a letter or digit. (A regexp
// costs a tenth of a second on a 100,000-entry snapshot.)
func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '@' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// maxFloor bounds floor numbers so a typo cannot ask for a million coils.
const maxFloor = 512

// decodeStrict decodes one JSON value into v: unknown fields and trailing
// data are errors.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// ParseDocument decodes and checks a whitelist document strictly. It does
// not check site or versions against a store.
func ParseDocument(b []byte) (*Document, error) {
	d, err := decodeDocument(b)
	if err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Document) validate() error {
	if d.Site == "" {
		return errors.New("site is empty")
	}
	if d.Version == 0 {
		return errors.New("version must be at least 1")
	}
	switch d.Kind {
	case KindSnapshot:
		if d.BaseVersion != 0 {
			return errors.New("a snapshot has no base_version")
		}
		if len(d.Remove) > 0 {
			return errors.New("a snapshot has no remove list")
		}
	case KindDelta:
		if d.BaseVersion == 0 {
			return errors.New("a delta needs base_version")
		}
	default:
		return fmt.Errorf("kind %q: want snapshot or delta", d.Kind)
	}
	windows := make(map[Window]error)
	ids := make(map[string]struct{}, len(d.Upsert))
	hashes := make(map[[32]byte]string, len(d.Upsert))
	for i := range d.Upsert {
		e := &d.Upsert[i]
		if err := e.validate(windows); err != nil {
			return fmt.Errorf("upsert[%d] (%s): %w", i, e.ID, err)
		}
		if _, dup := ids[e.ID]; dup {
			return fmt.Errorf("upsert[%d]: duplicate id %q", i, e.ID)
		}
		ids[e.ID] = struct{}{}
		for _, c := range e.Credentials {
			h, _ := parseHash(c.Hash)
			if other, dup := hashes[h]; dup {
				return fmt.Errorf("upsert[%d] (%s): credential also held by %q", i, e.ID, other)
			}
			hashes[h] = e.ID
		}
	}
	for i, id := range d.Remove {
		if !validID(id) {
			return fmt.Errorf("remove[%d]: bad id %q", i, id)
		}
		if _, both := ids[id]; both {
			return fmt.Errorf("remove[%d]: %q is also upserted", i, id)
		}
	}
	return nil
}

// validate checks an entry; windows caches the check of schedule windows,
// which riders mostly share (nil: no cache).
func (e *Entry) validate(windows map[Window]error) error {
	if !validID(e.ID) {
		return fmt.Errorf("bad id %q", e.ID)
	}
	if len(e.Credentials) == 0 {
		return errors.New("no credentials")
	}
	for i, c := range e.Credentials {
		if !validType(c.Type) {
			return fmt.Errorf("credentials[%d]: unknown type %q (want card, qr or pin)", i, c.Type)
		}
		if _, err := parseHash(c.Hash); err != nil {
			return fmt.Errorf("credentials[%d]: %w", i, err)
		}
	}
	for _, list := range [][]string{e.Doors, e.Gates} {
		for _, dev := range list {
			if dev == "" {
				return errors.New("empty device id in scope")
			}
		}
	}
	for dev, floors := range e.Floors {
		if dev == "" {
			return errors.New("empty elevator id in floors")
		}
		for _, f := range floors {
			if f < -maxFloor || f > maxFloor {
				return fmt.Errorf("floors[%s]: floor %d out of range", dev, f)
			}
		}
	}
	if e.ValidFrom != nil && e.ValidUntil != nil && !e.ValidUntil.After(*e.ValidFrom) {
		return errors.New("valid_until is not after valid_from")
	}
	for i, w := range e.Schedule {
		err, seen := windows[w]
		if !seen {
			_, err = compileWindow(w)
			if windows != nil {
				windows[w] = err
			}
		}
		if err != nil {
			return fmt.Errorf("schedule[%d]: %w", i, err)
		}
	}
	if e.MaxUsesPerDay < 0 || e.MaxUsesPerDay > 1<<20 {
		return fmt.Errorf("max_uses_per_day %d out of range", e.MaxUsesPerDay)
	}
	return nil
}

// parseHash decodes a credential hash: 64 hex characters.
func parseHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("hash: want 64 hex characters, got %d", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errors.New("hash: not hex")
	}
	return h, nil
}

// sortedEntries returns the entries in id order, for sequential bbolt puts.
func sortedEntries(es []Entry) []*Entry {
	out := make([]*Entry, len(es))
	for i := range es {
		out[i] = &es[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
