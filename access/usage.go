package access

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// usage counts today's grants of entries that have a daily limit. Only the
// current site-local day is kept, so the map and its bbolt bucket stay
// bounded by the number of limited riders seen today. A count is held by
// pointer so that counting an entry seen before assigns nothing to the map:
// the id a decision passes is a substring of the index's arena, which a
// map key would keep alive after the index is replaced.
type usage struct {
	mu     sync.Mutex
	day    int32
	counts map[string]*uint32
	dirty  bool
}

var keyUsageDay = []byte("\x00day")

// load reads the persisted counters; they count until a decision for a
// later day resets them.
func (u *usage) load(b *bolt.Bucket) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.counts = make(map[string]*uint32)
	if b == nil {
		return
	}
	d := b.Get(keyUsageDay)
	if len(d) != 4 {
		return
	}
	u.day = int32(binary.BigEndian.Uint32(d))
	_ = b.ForEach(func(k, v []byte) error {
		if len(v) == 4 && string(k) != string(keyUsageDay) {
			n := binary.BigEndian.Uint32(v)
			u.counts[string(k)] = &n
		}
		return nil
	})
}

// take counts one use of entry id on day if it is under max, and reports
// whether it was. A day before the current one is not counted (a decision
// for a past time, as the offline check makes).
func (u *usage) take(id string, day int32, max uint32, count bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if day > u.day {
		u.day = day
		clear(u.counts)
		u.dirty = true
	}
	if day < u.day {
		return true
	}
	n := u.counts[id]
	if n != nil && *n >= max {
		return false
	}
	if count {
		if n == nil {
			if u.counts == nil {
				u.counts = make(map[string]*uint32)
			}
			n = new(uint32)
			u.counts[strings.Clone(id)] = n
		}
		*n++
		u.dirty = true
	}
	return true
}

// used returns how often id was granted on day.
func (u *usage) used(id string, day int32) uint32 {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := u.counts[id]; n != nil && day == u.day {
		return *n
	}
	return 0
}

// FlushUsage writes the daily usage counters to disk if they changed, so
// that a restart does not hand riders a fresh daily allowance.
func (s *Store) FlushUsage() error {
	if s.readOnly {
		return nil
	}
	s.usage.mu.Lock()
	if !s.usage.dirty {
		s.usage.mu.Unlock()
		return nil
	}
	day := s.usage.day
	snap := make(map[string]uint32, len(s.usage.counts))
	for k, v := range s.usage.counts {
		snap[k] = *v
	}
	s.usage.dirty = false
	s.usage.mu.Unlock()

	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketUsage); err != nil && err != bolt.ErrBucketNotFound {
			return err
		}
		b, err := tx.CreateBucket(bucketUsage)
		if err != nil {
			return err
		}
		// bbolt keeps the value slices until commit: one buffer per put.
		if err := b.Put(keyUsageDay, binary.BigEndian.AppendUint32(nil, uint32(day))); err != nil {
			return err
		}
		for id, n := range snap {
			if err := b.Put([]byte(id), binary.BigEndian.AppendUint32(nil, n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.usage.mu.Lock()
		s.usage.dirty = true
		s.usage.mu.Unlock()
		return fmt.Errorf("whitelist: flush usage: %w", err)
	}
	return nil
}

// UsageFlushInterval is how often Run writes the daily usage counters.
const UsageFlushInterval = 10 * time.Second

// Run builds the in-memory index decisions read (see index.go), keeps it
// merged as deltas arrive, writes the daily usage counters every
// UsageFlushInterval until ctx ends, then once more, and lets go of mapped
// whitelist pages TrimDelay after a read of the file (see trim). A failed
// flush is logged and retried on the next tick; a failed trim is logged
// once and not tried again. Close the store only after Run has returned.
func (s *Store) Run(ctx context.Context) error {
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		s.maintainIndex(ctx)
	}()
	defer func() { <-indexed }()
	flush := time.NewTicker(UsageFlushInterval)
	defer flush.Stop()
	trim := time.NewTimer(TrimDelay)
	trim.Stop()
	defer trim.Stop()
	for {
		select {
		case <-ctx.Done():
			return s.FlushUsage()
		case <-flush.C:
			if err := s.FlushUsage(); err != nil {
				s.log.Error("whitelist usage flush failed", "err", err)
			}
		case <-s.touchedC:
			if !s.trimError.Load() {
				trim.Reset(TrimDelay)
			}
		case <-trim.C:
			if err := s.trim(); err != nil {
				s.trimError.Store(true)
				s.log.Error("whitelist pages not released: resident memory will grow with the pages decisions read", "err", err)
			}
		}
	}
}
