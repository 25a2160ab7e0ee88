package access

import (
	"math"
	"slices"
	"sync"
)

// record is the view of one stored entry (the binary form of codec.go)
// that decisions on the file and the index build read, in place, without
// decoding the entry: no string, slice or map is built for it. Its slices
// point into the buffer it was parsed from (the bbolt map: valid only
// inside its read transaction).
type record struct {
	id           []byte
	creds        []byte // per credential: type code, then its 32-byte hash
	from, until  int64  // unix seconds; unbounded is MinInt64 / MaxInt64
	doors, gates []byte // encoded string lists
	lifts        []byte // encoded lift list: name, then its floors
	scopes       []byte // doors, gates and lifts together, as one key
	schedule     []byte // encoded windows
	maxUses      uint32
	revoked      bool
}

// raw reads a length-prefixed byte string without copying it.
func (r *entryReader) raw() []byte { return r.bytes(r.uvarint()) }

// unix reads an optional time as unix seconds, def when absent.
func (r *entryReader) unix(def int64) int64 {
	flag := r.bytes(1)
	if len(flag) == 0 || flag[0] == 0 {
		return def
	}
	sec := r.varint()
	r.uvarint() // nanoseconds: decisions work in whole seconds
	return sec
}

// section runs skip and returns the bytes it consumed.
func (r *entryReader) section(skip func(r *entryReader)) []byte {
	start := r.b
	skip(r)
	return start[:len(start)-len(r.b)]
}

func skipStrings(r *entryReader) {
	for range r.count() {
		r.raw()
	}
}

func skipLifts(r *entryReader) {
	for range r.count() {
		r.raw()
		for range r.count() {
			r.varint()
		}
	}
}

func skipWindows(r *entryReader) {
	for range r.count() {
		r.raw()
		r.raw()
		r.raw()
	}
}

// parseRecord checks the binary form of an entry as decodeEntry does and
// returns its decision view.
func parseRecord(b []byte) (record, error) {
	var rec record
	if len(b) == 0 || b[0] != codecVersion {
		return rec, errCorrupt
	}
	r := entryReader{b: b[1:]}
	rec.id = r.raw()
	r.raw() // label
	n := r.count()
	rec.creds = r.bytes(uint64(n) * (1 + 32))
	scopes := r.b
	rec.doors = r.section(skipStrings)
	rec.gates = r.section(skipStrings)
	rec.lifts = r.section(skipLifts)
	rec.scopes = scopes[:len(scopes)-len(r.b)]
	rec.from = r.unix(math.MinInt64)
	rec.until = r.unix(math.MaxInt64)
	rec.schedule = r.section(skipWindows)
	maxUses := r.uvarint()
	rev := r.bytes(1)
	switch {
	case r.err != nil:
		return rec, r.err
	case len(r.b) != 0 || maxUses > math.MaxUint32:
		return rec, errCorrupt
	}
	rec.maxUses, rec.revoked = uint32(maxUses), rev[0] == 1
	return rec, nil
}

// listHas reports whether an encoded string list holds id.
func listHas(list []byte, id string) bool {
	r := entryReader{b: list}
	for range r.count() {
		if string(r.raw()) == id {
			return true
		}
	}
	return false
}

// scopeFor returns whether the entry may use the device, and for an
// elevator the floors it may choose, sorted and without duplicates (a new
// slice, the only allocation of a grant at a lift).
func (rec *record) scopeFor(dev *Device) ([]int, bool) {
	switch dev.Kind {
	case "door":
		return nil, listHas(rec.doors, dev.ID)
	case "gate":
		return nil, listHas(rec.gates, dev.ID)
	case "elevator":
	default:
		return nil, false
	}
	r := entryReader{b: rec.lifts}
	for range r.count() {
		name := r.raw()
		n := r.count()
		if string(name) != dev.ID {
			for range n {
				r.varint()
			}
			continue
		}
		if n == 0 {
			return nil, false // no floor on this lift: no scope
		}
		floors := make([]int, n)
		for i := range floors {
			floors[i] = int(r.varint())
		}
		slices.Sort(floors)
		return slices.Clip(slices.Compact(floors)), r.err == nil
	}
	return nil, false
}

// maxSchedules bounds the schedule cache; a site's riders share a handful.
const maxSchedules = 4096

// schedules caches compiled schedules by their encoded bytes, so that a
// decision neither parses day names nor allocates for a schedule seen before.
type schedules struct {
	mu sync.RWMutex
	m  map[string][]window
}

// get returns the compiled windows of an encoded schedule; nil means always.
func (c *schedules) get(raw []byte) ([]window, error) {
	if len(raw) <= 1 {
		return nil, nil // count 0: no schedule
	}
	c.mu.RLock()
	ws, ok := c.m[string(raw)]
	c.mu.RUnlock()
	if ok {
		return ws, nil
	}
	ws, err := compileSchedule(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSchedules {
		c.m = make(map[string][]window)
	}
	c.m[string(raw)] = ws
	c.mu.Unlock()
	return ws, nil
}
