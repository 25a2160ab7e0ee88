package access

import (
	"bytes"
	"encoding/binary"
	"math"
	"runtime"
)

// The in-memory index answers decisions without touching the bbolt file
// once Run has built it; until then, and in stores nobody runs (offline
// tools), decisions read the file (decide.go, record.go).
//
// It is compact rather than a map of pointers: an entry costs some 56
// bytes (a 20-byte credential key, a 24-byte slot, its id in one string
// arena), and the scope lists and schedules riders share are stored
// once. It is immutable: an update builds a new one (a snapshot) or a new
// overlay on top of it (a delta) and swaps it in whole, so a decision never
// sees half an update.

// keySize is how much of a credential hash the index keeps. The hashes are
// HMAC-SHA256 under the site key, so the first 128 bits are as unguessable
// as the whole: a presented credential matches a stored prefix without
// being that credential with odds of n in 2^128 per read (n stored hashes),
// which is a forgery nobody can aim without the key. Two stored hashes
// sharing a prefix (odds about n^2 / 2^129, 2^-89 at a million) would make
// the build give up (errPrefixClash) and decisions stay on the file, which
// compares all 32 bytes.
const keySize = 16

// credKey maps a credential hash prefix to the slot of its entry.
type credKey struct {
	key  [keySize]byte
	slot uint32
}

// slot is the decision form of one entry in a table: 24 bytes.
type slot struct {
	idEnd   uint32 // the id is ids[previous slot's idEnd:idEnd]
	scope   uint32 // index in table.scopes, or scopeRevoked
	sched   uint32 // index in table.scheds
	maxUses uint32
	// from and until are unix seconds, 0 and MaxUint32 meaning unbounded
	// (packValidity); from is wideValidity when they do not fit, and
	// table.wide holds them.
	from, until uint32
}

// wideValidity marks a slot whose validity is in table.wide.
const wideValidity = math.MaxUint32

// packValidity packs unix seconds (MinInt64 / MaxInt64: unbounded) into a
// slot's 32-bit fields, covering 1970 to 2106 exactly; ok is false for
// times outside.
func packValidity(from, until int64) (f, u uint32, ok bool) {
	switch {
	case from == math.MinInt64:
	case from >= 1 && from < math.MaxUint32:
		f = uint32(from)
	default:
		return 0, 0, false
	}
	switch {
	case until == math.MaxInt64:
		u = math.MaxUint32
	case until >= 0 && until < math.MaxUint32:
		u = uint32(until)
	default:
		return 0, 0, false
	}
	return f, u, true
}

// validity returns slot i's validity in unix seconds.
func (t *table) validity(i uint32) (from, until int64) {
	sl := &t.slots[i]
	if sl.from == wideValidity {
		w := t.wide[i]
		return w[0], w[1]
	}
	from, until = int64(sl.from), int64(sl.until)
	if sl.from == 0 {
		from = math.MinInt64
	}
	if sl.until == math.MaxUint32 {
		until = math.MaxInt64
	}
	return from, until
}

// scopeRevoked marks a revoked entry: the first check denies it, so its
// other rules are not kept.
const scopeRevoked = math.MaxUint32

// Scope kinds of a compiled entry.
const (
	scopeDoor uint8 = iota + 1
	scopeFloors
	scopeGate
)

// scope grants one device: a door, a gate, or floors of one elevator
// (sorted, without duplicates, never empty).
type scope struct {
	kind   uint8
	dev    string
	floors []int
}

// table is the immutable base of an index.
type table struct {
	keys   []credKey // sorted by key
	dir    []uint32  // dir[p]: the first key whose top bits are >= p
	shift  uint      // 32 - the directory's bits
	slots  []slot
	ids    string              // every slot's id, one after the other
	scopes [][]scope           // shared scope lists
	scheds [][]window          // shared schedules; index 0 is "always"
	wide   map[uint32][2]int64 // validity of the slots it does not fit
	// scopeIDs and schedIDs find a shared list by its encoded form, for
	// the entries a delta or a merge adds.
	scopeIDs map[string]uint32
	schedIDs map[string]uint32
}

// view is an entry as a decision reads it, from a table slot or an overlay.
type view struct {
	id          string
	from, until int64
	scopes      []scope
	windows     []window
	maxUses     uint32
	revoked     bool
}

// index is what decisions read: a table and the changes since it was built.
type index struct {
	base *table
	// over maps the hash prefixes deltas changed since base to their
	// entry, nil where the credential was removed. Copied on each delta.
	over    map[[keySize]byte]*oentry
	version uint64
}

// find returns the slot of the entry holding key.
func (t *table) find(key *[keySize]byte) (uint32, bool) {
	p := binary.BigEndian.Uint32(key[:4]) >> t.shift
	lo, hi := int(t.dir[p]), int(t.dir[p+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := bytes.Compare(t.keys[m].key[:], key[:]); {
		case c == 0:
			return t.keys[m].slot, true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0, false
}

// id returns the id of slot i, a substring of the arena.
func (t *table) id(i uint32) string {
	start := uint32(0)
	if i > 0 {
		start = t.slots[i-1].idEnd
	}
	return t.ids[start:t.slots[i].idEnd]
}

// view fills v with slot i.
func (t *table) view(i uint32, v *view) {
	sl := &t.slots[i]
	*v = view{id: t.id(i), maxUses: sl.maxUses}
	v.from, v.until = t.validity(i)
	if sl.scope == scopeRevoked {
		v.revoked = true
		return
	}
	v.scopes, v.windows = t.scopes[sl.scope], t.scheds[sl.sched]
}

// lookup fills v with the entry holding credential hash h.
func (ix *index) lookup(h *[32]byte, v *view) bool {
	key := [keySize]byte(h[:keySize])
	if ix.over != nil {
		if e, ok := ix.over[key]; ok {
			if e == nil {
				return false // removed by a delta
			}
			*v = e.view
			return true
		}
	}
	i, ok := ix.base.find(&key)
	if ok {
		ix.base.view(i, v)
	}
	runtime.KeepAlive(ix.base) // its arrays may be off the heap (offheap.go)
	return ok
}

// scopeFor returns whether the entry may use the device, and for an
// elevator the floors it may choose. The floors slice is shared: read only.
func (v *view) scopeFor(dev *Device) ([]int, bool) {
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
	for i := range v.scopes {
		sc := &v.scopes[i]
		if sc.kind == kind && sc.dev == dev.ID {
			return sc.floors, true
		}
	}
	return nil, false
}

// sizeBytes is about what the table holds, on the heap or off it.
func (t *table) sizeBytes() int {
	return len(t.keys)*20 + len(t.dir)*4 + len(t.slots)*24 + len(t.ids)
}
