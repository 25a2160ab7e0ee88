package access

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maintainIndex builds the index, then merges the overlays deltas grow,
// until ctx ends. Run runs it beside its own loop.
func (s *Store) maintainIndex(ctx context.Context) {
	s.indexing.Store(true)
	if err := s.buildIndex(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("whitelist index not built: decisions read the file", "err", err)
		}
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.mergeC:
			if err := s.mergeOverlay(); err != nil {
				s.log.Error("whitelist index overlay not merged: decisions go on reading it", "err", err)
			}
		}
	}
}

// buildIndex scans the file into an index and swaps it in, then lets go of
// the pages the scan mapped in. The scan does not hold up updates: if one
// commits meanwhile, the scan is done again, holding them up this time.
// An index a snapshot installed meanwhile is newer, and stays.
func (s *Store) buildIndex(ctx context.Context) error {
	t0 := time.Now()
	for locked := false; ; locked = true {
		if locked {
			s.applyMu.Lock()
		}
		t, version, err := s.scanIndex(ctx)
		if !locked {
			s.applyMu.Lock()
		}
		done := err == nil && s.installBuilt(t, version, t0)
		s.applyMu.Unlock()
		if err != nil {
			return err
		}
		if done {
			s.touched.Store(true)
			return s.trim()
		}
	}
}

// installBuilt swaps in a table scanned from version unless an update
// committed since; it reports whether the store has an index now. The
// caller holds applyMu.
func (s *Store) installBuilt(t *table, version uint64, t0 time.Time) bool {
	if s.idx.Load() != nil {
		return true // a snapshot's, newer
	}
	if version != s.Version() {
		return false
	}
	s.idx.Store(&index{base: t, version: version})
	s.log.Info("whitelist index built", "entries", len(t.slots), "credentials", len(t.keys),
		"bytes", t.sizeBytes(), "took", time.Since(t0).Round(time.Millisecond))
	return true
}

// scanIndex indexes the version the file holds now.
func (s *Store) scanIndex(ctx context.Context) (*table, uint64, error) {
	var t *table
	var version uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		n := 0
		if meta != nil {
			if v := meta.Get(keyVersion); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
			if v := meta.Get(keyCount); len(v) == 8 {
				n = int(min(binary.BigEndian.Uint64(v), 1<<24)) // a capacity hint only
			}
		}
		// Inside the read transaction bbolt cannot move the mapping, and
		// the values read so far are copied into the table: their pages
		// can go (see trim).
		release := func() { _ = dropMapped(s.db.Info().Data, uintptr(tx.Size())) }
		var err error
		t, err = buildTable(ctx, tx, n, release)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("whitelist: index: %w", err)
	}
	return t, version, nil
}

// swapIndex replaces the index with what next makes of it, while updates
// are held (applyMu), after an update's commit. If next fails, the index
// is dropped and decisions read the file, which holds the update.
func (s *Store) swapIndex(next func(cur *index) (*index, error)) {
	ix, err := next(s.idx.Load())
	if err != nil {
		s.idx.Store(nil)
		s.log.Error("whitelist index dropped: decisions read the file", "err", err)
		return
	}
	s.idx.Store(ix)
	if len(ix.over) >= mergeAt {
		select {
		case s.mergeC <- struct{}{}:
		default: // a merge is asked for already
		}
	}
}

// mergeOverlay folds the overlay into a new base table, without holding up
// decisions or updates, and swaps it in with what deltas changed meanwhile
// as its overlay.
func (s *Store) mergeOverlay() error {
	ix := s.idx.Load()
	if ix == nil || len(ix.over) < mergeAt {
		return nil
	}
	t, err := mergeTable(ix.base, ix.over)
	if err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.installMerged(ix, t)
	return nil
}

// installMerged swaps in t, merged from ix, keeping as its overlay what
// deltas changed since ix. The caller holds applyMu.
func (s *Store) installMerged(ix *index, t *table) {
	cur := s.idx.Load()
	if cur == nil || cur.base != ix.base {
		return // replaced by a snapshot meanwhile: nothing to merge
	}
	// An overlay holds what each changed credential maps to now; one still
	// mapping to what t merged (the same entry, or removed) is in t.
	rest := make(map[[keySize]byte]*oentry)
	for k, e := range cur.over {
		if old, ok := ix.over[k]; !ok || old != e {
			rest[k] = e
		}
	}
	s.idx.Store(&index{base: t, over: rest, version: cur.version})
}
