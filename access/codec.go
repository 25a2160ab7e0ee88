package access

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Entries are stored in a compact binary form rather than JSON: a 100,000
// entry snapshot then commits in a fraction of the time, and a gateway with
// a million entries starts quickly. The first byte is the format version.
const codecVersion = 1

var credTypes = [...]string{1: TypeCard, 2: TypeQR, 3: TypePIN}

func credTypeCode(t string) byte {
	for i, s := range credTypes {
		if s == t && i > 0 {
			return byte(i)
		}
	}
	return 0
}

// encodeEntry appends the binary form of a validated entry to b.
func encodeEntry(b []byte, e *Entry) []byte {
	b = append(b, codecVersion)
	b = appendString(b, e.ID)
	b = appendString(b, e.Label)
	b = binary.AppendUvarint(b, uint64(len(e.Credentials)))
	for _, c := range e.Credentials {
		h, _ := parseHash(c.Hash) // validated before
		b = append(b, credTypeCode(c.Type))
		b = append(b, h[:]...)
	}
	b = appendStrings(b, e.Doors)
	b = appendStrings(b, e.Gates)
	lifts := make([]string, 0, len(e.Floors))
	for l := range e.Floors {
		lifts = append(lifts, l)
	}
	slices.Sort(lifts)
	b = binary.AppendUvarint(b, uint64(len(lifts)))
	for _, l := range lifts {
		b = appendString(b, l)
		b = binary.AppendUvarint(b, uint64(len(e.Floors[l])))
		for _, f := range e.Floors[l] {
			b = binary.AppendVarint(b, int64(f))
		}
	}
	b = appendTime(b, e.ValidFrom)
	b = appendTime(b, e.ValidUntil)
	b = binary.AppendUvarint(b, uint64(len(e.Schedule)))
	for _, w := range e.Schedule {
		b = appendString(b, w.Days)
		b = appendString(b, w.From)
		b = appendString(b, w.To)
	}
	b = binary.AppendUvarint(b, uint64(e.MaxUsesPerDay))
	if e.Revoked {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

var errCorrupt = errors.New("corrupt entry record")

// entryReader decodes the binary form, failing on any overrun.
type entryReader struct {
	b   []byte
	err error
}

func (r *entryReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errCorrupt
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *entryReader) str() string { return string(r.bytes(r.uvarint())) }

// count reads a length and bounds it by what is left, so a corrupt record
// cannot ask for a huge allocation.
func (r *entryReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errCorrupt
		return 0
	}
	return int(n)
}

func (r *entryReader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *entryReader) time() *time.Time {
	flag := r.bytes(1)
	if len(flag) == 0 || flag[0] == 0 {
		return nil
	}
	sec := r.varint()
	nsec := r.uvarint()
	t := time.Unix(sec, int64(nsec)).UTC()
	return &t
}

// decodeEntry reads an entry written by encodeEntry.
func decodeEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) == 0 || b[0] != codecVersion {
		return e, fmt.Errorf("%w: unknown format", errCorrupt)
	}
	r := &entryReader{b: b[1:]}
	e.ID = r.str()
	e.Label = r.str()
	if n := r.count(); n > 0 {
		e.Credentials = make([]Credential, n)
		for i := range e.Credentials {
			code := r.bytes(1)
			h := r.bytes(32)
			if r.err != nil || int(code[0]) >= len(credTypes) || code[0] == 0 {
				return e, errCorrupt
			}
			e.Credentials[i] = Credential{Type: credTypes[code[0]], Hash: hex.EncodeToString(h)}
		}
	}
	e.Doors = r.strs()
	e.Gates = r.strs()
	if n := r.count(); n > 0 {
		e.Floors = make(map[string][]int, n)
		for range n {
			l := r.str()
			floors := make([]int, r.count())
			for i := range floors {
				floors[i] = int(r.varint())
			}
			e.Floors[l] = floors
		}
	}
	e.ValidFrom = r.time()
	e.ValidUntil = r.time()
	if n := r.count(); n > 0 {
		e.Schedule = make([]Window, n)
		for i := range e.Schedule {
			e.Schedule[i] = Window{Days: r.str(), From: r.str(), To: r.str()}
		}
	}
	e.MaxUsesPerDay = int(r.uvarint())
	rev := r.bytes(1)
	if r.err != nil {
		return e, r.err
	}
	e.Revoked = rev[0] == 1
	if len(r.b) != 0 {
		return e, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(r.b))
	}
	return e, nil
}
