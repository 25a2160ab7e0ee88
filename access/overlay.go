package access

import (
	"bytes"
	"maps"
	"runtime"
	"slices"
)

// mergeAt is the number of changed credentials past which Run merges the
// overlay into a new base table. Below it a delta copies a map of at most
// this size (well under a millisecond); a merge at a million entries takes
// a fraction of a second of CPU, off the update path.
const mergeAt = 4096

// oentry is an entry a delta upserted: its decision view, and the encoded
// scope lists and schedule it was compiled from, for a merge to share.
type oentry struct {
	view
	scopeKey, schedKey string
}

// compileEntry compiles a stored entry for an overlay, sharing base's
// scope lists and schedules when it has them.
func compileEntry(base *table, rec *record) (*oentry, error) {
	e := &oentry{view: view{id: string(rec.id), from: rec.from, until: rec.until,
		maxUses: rec.maxUses, revoked: rec.revoked}}
	if rec.revoked {
		return e, nil
	}
	e.scopeKey, e.schedKey = string(rec.scopes), string(rec.schedule)
	var err error
	if i, ok := base.scopeIDs[e.scopeKey]; ok {
		e.scopes = base.scopes[i]
	} else if e.scopes, err = compileScopes(rec); err != nil {
		return nil, err
	}
	if len(rec.schedule) <= 1 {
		return e, nil
	}
	if i, ok := base.schedIDs[e.schedKey]; ok {
		e.windows = base.scheds[i]
	} else if e.windows, err = compileSchedule(rec.schedule); err != nil {
		return nil, err
	}
	return e, nil
}

// deltaChange is what a committed delta changed in the creds bucket.
type deltaChange struct {
	dropped [][32]byte // credentials no entry holds any more
	added   [][32]byte // credentials no entry held before
	upsert  []record   // the upserted entries, read from their stored form
}

// withDelta returns the index with a committed delta on top. It fails with
// errPrefixClash if a credential the delta adds shares its prefix with one
// the index still holds; the caller then drops the index.
func (ix *index) withDelta(version uint64, ch *deltaChange) (*index, error) {
	over := make(map[[keySize]byte]*oentry, len(ix.over)+len(ch.dropped)+len(ch.upsert))
	maps.Copy(over, ix.over)
	for _, h := range ch.dropped {
		over[[keySize]byte(h[:keySize])] = nil
	}
	for _, h := range ch.added {
		// The file says nobody held h before: an entry still under its
		// prefix holds another hash.
		key := [keySize]byte(h[:keySize])
		e, changed := over[key]
		if _, held := ix.base.find(&key); e != nil || (!changed && held) {
			return nil, errPrefixClash
		}
	}
	added := make(map[[keySize]byte]bool, len(ch.added))
	for i := range ch.upsert {
		rec := &ch.upsert[i]
		e, err := compileEntry(ix.base, rec)
		if err != nil {
			return nil, err
		}
		for c := rec.creds; len(c) >= 1+32; c = c[1+32:] {
			key := [keySize]byte(c[1 : 1+keySize])
			if added[key] {
				return nil, errPrefixClash
			}
			added[key] = true
			over[key] = e
		}
	}
	return &index{base: ix.base, over: over, version: version}, nil
}

// mergeTable folds an overlay into a new base table. base and over are
// only read: decisions go on using them meanwhile.
func mergeTable(base *table, over map[[keySize]byte]*oentry) (*table, error) {
	defer runtime.KeepAlive(base) // its arrays may be off the heap
	b := newBuilder(len(base.slots)+len(over), base)
	okeys := slices.SortedFunc(maps.Keys(over), func(x, y [keySize]byte) int { return bytes.Compare(x[:], y[:]) })
	moved := make([]uint32, len(base.slots)) // new slot + 1 of each base slot copied
	placed := make(map[*oentry]uint32, len(over))
	addBase := func(k credKey) {
		if _, changed := over[k.key]; changed {
			return
		}
		if moved[k.slot] == 0 {
			sl := base.slots[k.slot]
			from, until := base.validity(k.slot)
			b.ids.WriteString(base.id(k.slot))
			moved[k.slot] = b.push(sl, from, until) + 1
		}
		b.t.keys = append(b.t.keys, credKey{key: k.key, slot: moved[k.slot] - 1})
	}
	addOver := func(key [keySize]byte) error {
		e := over[key]
		if e == nil {
			return nil // removed
		}
		i, ok := placed[e]
		if !ok {
			sl := slot{maxUses: e.maxUses, scope: scopeRevoked}
			if !e.revoked {
				var err error
				if sl.scope, err = b.scopeIndex([]byte(e.scopeKey), func() ([]scope, error) { return e.scopes, nil }); err != nil {
					return err
				}
				if sl.sched, err = b.schedIndex([]byte(e.schedKey), func() ([]window, error) { return e.windows, nil }); err != nil {
					return err
				}
			}
			b.ids.WriteString(e.id)
			i = b.push(sl, e.from, e.until)
			placed[e] = i
		}
		b.t.keys = append(b.t.keys, credKey{key: key, slot: i})
		return nil
	}
	j := 0
	for _, k := range base.keys {
		for ; j < len(okeys) && bytes.Compare(okeys[j][:], k.key[:]) < 0; j++ {
			if err := addOver(okeys[j]); err != nil {
				return nil, err
			}
		}
		addBase(k)
	}
	for ; j < len(okeys); j++ {
		if err := addOver(okeys[j]); err != nil {
			return nil, err
		}
	}
	return b.finish()
}
