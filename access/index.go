package access

import (
	"math"
	"slices"
	"strconv"
	"strings"
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
// what keeps a million entries within the memory budget.
type interner struct {
	strs    map[string]string
	scopes  map[string][]scope
	windows map[string][]window
}

func newInterner() *interner {
	return &interner{strs: map[string]string{}, scopes: map[string][]scope{}, windows: map[string][]window{}}
}

func (in *interner) str(s string) string {
	if v, ok := in.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	in.strs[s] = s
	return s
}

// compile turns a validated Entry into its decision form and its hashes.
func (in *interner) compile(e *Entry) (*entry, [][32]byte) {
	c := &entry{
		id:      strings.Clone(e.ID),
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
	hashes := make([][32]byte, 0, len(e.Credentials))
	for _, cr := range e.Credentials {
		h, _ := parseHash(cr.Hash) // validated before
		hashes = append(hashes, h)
	}
	return c, hashes
}

func (in *interner) scopeList(e *Entry) []scope {
	var key strings.Builder
	var list []scope
	add := func(kind uint8, devs []string) {
		sorted := slices.Clone(devs)
		slices.Sort(sorted)
		for _, d := range slices.Compact(sorted) {
			list = append(list, scope{kind: kind, dev: d})
			key.WriteByte('0' + kind)
			key.WriteString(d)
			key.WriteByte(0)
		}
	}
	add(scopeDoor, e.Doors)
	add(scopeGate, e.Gates)
	elevators := make([]string, 0, len(e.Floors))
	for d := range e.Floors {
		elevators = append(elevators, d)
	}
	slices.Sort(elevators)
	for _, d := range elevators {
		floors := slices.Clone(e.Floors[d])
		slices.Sort(floors)
		floors = slices.Compact(floors)
		if len(floors) == 0 {
			continue
		}
		list = append(list, scope{kind: scopeFloors, dev: d, floors: floors})
		key.WriteByte('0' + scopeFloors)
		key.WriteString(d)
		for _, f := range floors {
			key.WriteByte(',')
			key.WriteString(strconv.Itoa(f))
		}
		key.WriteByte(0)
	}
	if len(list) == 0 {
		return nil
	}
	k := key.String()
	if v, ok := in.scopes[k]; ok {
		return v
	}
	for i := range list {
		list[i].dev = in.str(list[i].dev)
	}
	list = slices.Clip(list)
	in.scopes[k] = list
	return list
}

func (in *interner) windowList(ws []Window) []window {
	if len(ws) == 0 {
		return nil
	}
	var key strings.Builder
	for _, w := range ws {
		key.WriteString(w.Days)
		key.WriteByte('|')
		key.WriteString(w.From)
		key.WriteByte('|')
		key.WriteString(w.To)
		key.WriteByte(';')
	}
	k := key.String()
	if v, ok := in.windows[k]; ok {
		return v
	}
	list := make([]window, 0, len(ws))
	for _, w := range ws {
		cw, _ := compileWindow(w) // validated before
		list = append(list, cw)
	}
	in.windows[k] = list
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
