package access

import (
	"math"
	"slices"
	"strconv"
)

// Scope kinds of a compiled entry.
const (
	scopeDoor uint8 = iota + 1
	scopeFloors
	scopeGate
)

// scope grants one device: a door, a gate, or floors of one elevator.
type scope struct {
	kind   uint8
	dev    string
	floors []int
}

// entry is the compiled, immutable form of an [Entry] that decisions read.
// Entries never change once indexed: an update installs new ones, so a
// decision may keep using the pointer after releasing the index lock.
type entry struct {
	id          string
	from, until int64 // unix seconds; unbounded is MinInt64 / MaxInt64
	scopes      []scope
	windows     []window
	maxUses     uint32
	revoked     bool
}

// index maps credential hashes to entries.
type index struct {
	byHash map[[32]byte]*entry
	count  int
}

func newIndex(capacity int) *index {
	return &index{byHash: make(map[[32]byte]*entry, capacity)}
}

// interner shares identical scope lists and schedules between entries: a
// site's riders mostly hold the same few combinations, and sharing them is
// what keeps a million entries within the memory budget. Lookups build
// their key in a reused buffer, so an entry whose combination was seen
// before costs no allocation for it.
type interner struct {
	strs    map[string]string
	scopes  map[string][]scope
	windows map[string][]window
	buf     []byte
	lifts   []string
}

func newInterner() *interner {
	return &interner{strs: map[string]string{}, scopes: map[string][]scope{}, windows: map[string][]window{}}
}

func (in *interner) str(s string) string {
	if v, ok := in.strs[s]; ok {
		return v
	}
	in.strs[s] = s
	return s
}

// compile turns a validated Entry into its decision form, appending its
// credential hashes to hashes.
func (in *interner) compile(e *Entry, hashes [][32]byte) (*entry, [][32]byte) {
	c := &entry{
		id:      e.ID,
		from:    math.MinInt64,
		until:   math.MaxInt64,
		maxUses: uint32(e.MaxUsesPerDay),
		revoked: e.Revoked,
	}
	if e.ValidFrom != nil {
		c.from = e.ValidFrom.Unix()
	}
	if e.ValidUntil != nil {
		c.until = e.ValidUntil.Unix()
	}
	c.scopes = in.scopeList(e)
	c.windows = in.windowList(e.Schedule)
	for _, cr := range e.Credentials {
		h, _ := parseHash(cr.Hash) // validated before
		hashes = append(hashes, h)
	}
	return c, hashes
}

// scopeList returns the entry's scopes, shared with every entry that lists
// the same devices and floors in the same order.
func (in *interner) scopeList(e *Entry) []scope {
	in.lifts = in.lifts[:0]
	for d := range e.Floors {
		in.lifts = append(in.lifts, d)
	}
	slices.Sort(in.lifts)
	k := in.buf[:0]
	for _, d := range e.Doors {
		k = append(append(append(k, '0'+scopeDoor), d...), 0)
	}
	for _, d := range e.Gates {
		k = append(append(append(k, '0'+scopeGate), d...), 0)
	}
	for _, d := range in.lifts {
		k = append(append(k, '0'+scopeFloors), d...)
		for _, f := range e.Floors[d] {
			k = strconv.AppendInt(append(k, ','), int64(f), 10)
		}
		k = append(k, 0)
	}
	in.buf = k
	if len(k) == 0 {
		return nil
	}
	if v, ok := in.scopes[string(k)]; ok {
		return v
	}
	var list []scope
	add := func(kind uint8, devs []string) {
		sorted := slices.Clone(devs)
		slices.Sort(sorted)
		for _, d := range slices.Compact(sorted) {
			list = append(list, scope{kind: kind, dev: in.str(d)})
		}
	}
	add(scopeDoor, e.Doors)
	add(scopeGate, e.Gates)
	for _, d := range in.lifts {
		floors := slices.Clone(e.Floors[d])
		slices.Sort(floors)
		floors = slices.Compact(floors)
		if len(floors) > 0 {
			list = append(list, scope{kind: scopeFloors, dev: in.str(d), floors: slices.Clip(floors)})
		}
	}
	list = slices.Clip(list)
	in.scopes[string(k)] = list
	return list
}

// windowList returns the compiled schedule, shared like scopes.
func (in *interner) windowList(ws []Window) []window {
	if len(ws) == 0 {
		return nil
	}
	k := in.buf[:0]
	for _, w := range ws {
		k = append(append(append(append(append(append(k, w.Days...), '|'), w.From...), '|'), w.To...), ';')
	}
	in.buf = k
	if v, ok := in.windows[string(k)]; ok {
		return v
	}
	list := make([]window, 0, len(ws))
	for _, w := range ws {
		cw, _ := compileWindow(w) // validated before
		list = append(list, cw)
	}
	in.windows[string(k)] = list
	return list
}

// scopeFor returns whether the entry may use the device, and for an
// elevator the floors it may choose. The floors slice is shared: read only.
func (e *entry) scopeFor(dev *Device) ([]int, bool) {
	var kind uint8
	switch dev.Kind {
	case "door":
		kind = scopeDoor
	case "elevator":
		kind = scopeFloors
	case "gate":
		kind = scopeGate
	default:
		return nil, false
	}
	for i := range e.scopes {
		sc := &e.scopes[i]
		if sc.kind == kind && sc.dev == dev.ID {
			return sc.floors, true
		}
	}
	return nil, false
}
