package access

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// errPrefixClash: two stored credential hashes share their first keySize
// bytes, which the index cannot tell apart (see keySize).
var errPrefixClash = errors.New("two stored credential hashes share their first 16 bytes")

// builder fills a table from entries in their stored binary form.
type builder struct {
	t   *table
	ids strings.Builder
}

// newBuilder starts a table for about n entries; from, if set, lends its
// shared scope lists and schedules (a merge).
func newBuilder(n int, from *table) *builder {
	t := &table{slots: make([]slot, 0, n), keys: make([]credKey, 0, n)}
	if from != nil {
		t.scopes, t.scheds = slices.Clone(from.scopes), slices.Clone(from.scheds)
		t.scopeIDs, t.schedIDs = clonedMap(from.scopeIDs), clonedMap(from.schedIDs)
	} else {
		t.scheds = [][]window{nil} // index 0: no schedule, always
		t.scopeIDs, t.schedIDs = map[string]uint32{}, map[string]uint32{}
	}
	b := &builder{t: t}
	b.ids.Grow(n * 16)
	return b
}

func clonedMap(m map[string]uint32) map[string]uint32 {
	out := make(map[string]uint32, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// addRecord adds a stored entry and its credentials.
func (b *builder) addRecord(rec *record) error {
	sl := slot{maxUses: rec.maxUses, scope: scopeRevoked}
	if !rec.revoked {
		var err error
		if sl.scope, err = b.scopeIndex(rec.scopes, func() ([]scope, error) { return compileScopes(rec) }); err != nil {
			return err
		}
		if sl.sched, err = b.schedIndex(rec.schedule, func() ([]window, error) { return compileSchedule(rec.schedule) }); err != nil {
			return err
		}
	}
	b.ids.Write(rec.id)
	i := b.push(sl, rec.from, rec.until)
	for c := rec.creds; len(c) >= 1+32; c = c[1+32:] {
		b.t.keys = append(b.t.keys, credKey{key: [keySize]byte(c[1 : 1+keySize]), slot: i})
	}
	return nil
}

// push appends a slot valid over [from, until) whose id was just written
// to b.ids, and returns its number.
func (b *builder) push(sl slot, from, until int64) uint32 {
	i := uint32(len(b.t.slots))
	sl.idEnd = uint32(b.ids.Len())
	var ok bool
	if sl.from, sl.until, ok = packValidity(from, until); !ok {
		sl.from, sl.until = wideValidity, 0
		if b.t.wide == nil {
			b.t.wide = make(map[uint32][2]int64)
		}
		b.t.wide[i] = [2]int64{from, until}
	}
	b.t.slots = append(b.t.slots, sl)
	return i
}

// scopeIndex returns the shared scope list encoded as raw, compiling it
// the first time it is seen.
func (b *builder) scopeIndex(raw []byte, compile func() ([]scope, error)) (uint32, error) {
	return intern(b.t.scopeIDs, &b.t.scopes, raw, compile)
}

// schedIndex is scopeIndex for schedules.
func (b *builder) schedIndex(raw []byte, compile func() ([]window, error)) (uint32, error) {
	if len(raw) <= 1 {
		return 0, nil // count 0: no schedule
	}
	return intern(b.t.schedIDs, &b.t.scheds, raw, compile)
}

// intern returns the index in list of the shared value encoded as raw,
// compiling and appending it the first time ids sees raw.
func intern[T any](ids map[string]uint32, list *[]T, raw []byte, compile func() (T, error)) (uint32, error) {
	if i, ok := ids[string(raw)]; ok {
		return i, nil
	}
	v, err := compile()
	if err != nil {
		return 0, err
	}
	i := uint32(len(*list))
	*list = append(*list, v)
	ids[string(raw)] = i
	return i, nil
}

// finish sorts the keys and indexes them.
func (b *builder) finish() (*table, error) {
	t := b.t
	t.ids = b.ids.String()
	if b.ids.Cap() > len(t.ids)+len(t.ids)/8 {
		t.ids = strings.Clone(t.ids) // the guess at their size was high
	}
	slices.SortFunc(t.keys, func(x, y credKey) int { return bytes.Compare(x.key[:], y.key[:]) })
	for i := 1; i < len(t.keys); i++ {
		if t.keys[i].key == t.keys[i-1].key {
			return nil, errPrefixClash
		}
	}
	// A directory on the keys' top bits, about four keys a cell, leaves a
	// lookup a short binary search in one or two cache lines.
	dirBits := 0
	if n := len(t.keys) / 4; n > 1 {
		dirBits = min(bits.Len(uint(n))-1, 20)
	}
	t.shift = uint(32 - dirBits)
	t.dir = make([]uint32, 1<<dirBits+1)
	k := 0
	for p := range t.dir {
		for k < len(t.keys) && uint64(binary.BigEndian.Uint32(t.keys[k].key[:4])>>t.shift) < uint64(p) {
			k++
		}
		t.dir[p] = uint32(k)
	}
	moveOffHeap(t)
	return t, nil
}

// compileScopes turns an entry's encoded doors, gates and lifts into its
// scope list: devices sorted and without duplicates, floors likewise, and
// a lift without floors left out (it grants nothing).
func compileScopes(rec *record) ([]scope, error) {
	var list []scope
	for _, part := range []struct {
		kind uint8
		raw  []byte
	}{{scopeDoor, rec.doors}, {scopeGate, rec.gates}} {
		r := entryReader{b: part.raw}
		devs := make([]string, r.count())
		for i := range devs {
			devs[i] = string(r.raw())
		}
		if r.err != nil {
			return nil, r.err
		}
		slices.Sort(devs)
		for _, d := range slices.Compact(devs) {
			list = append(list, scope{kind: part.kind, dev: d})
		}
	}
	r := entryReader{b: rec.lifts}
	for range r.count() {
		name := string(r.raw())
		floors := make([]int, r.count())
		for i := range floors {
			floors[i] = int(r.varint())
		}
		slices.Sort(floors)
		if floors = slices.Compact(floors); len(floors) > 0 {
			list = append(list, scope{kind: scopeFloors, dev: name, floors: slices.Clip(floors)})
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return slices.Clip(list), nil
}

// compileSchedule compiles encoded windows.
func compileSchedule(raw []byte) ([]window, error) {
	r := entryReader{b: raw}
	ws := make([]window, r.count())
	for i := range ws {
		w := Window{Days: string(r.raw()), From: string(r.raw()), To: string(r.raw())}
		if r.err != nil {
			return nil, r.err
		}
		cw, err := compileWindow(w)
		if err != nil {
			return nil, err
		}
		ws[i] = cw
	}
	return ws, nil
}

// buildTable indexes every entry the read transaction sees. It reads the
// credentials from the entries, not the creds bucket: one sequential scan,
// and a file without that bucket builds the same. ctx ends it early.
// release, if set, is called every few thousand entries to let go of the
// file pages read so far, so that the scan never holds the whole file in
// the resident set.
func buildTable(ctx context.Context, tx *bolt.Tx, n int, release func()) (*table, error) {
	b := newBuilder(n, nil)
	entries := tx.Bucket(bucketEntries)
	if entries == nil {
		return b.finish()
	}
	seen := 0
	err := entries.ForEach(func(k, v []byte) error {
		if seen++; seen%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if release != nil {
				release()
			}
		}
		rec, err := parseRecord(v)
		if err != nil {
			return fmt.Errorf("entry %q: %w", k, err)
		}
		if err := b.addRecord(&rec); err != nil {
			return fmt.Errorf("entry %q: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.finish()
}
