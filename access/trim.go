package access

import (
	"fmt"
	"time"
)

// TrimDelay is how soon after an update, or a decision made on the file
// before the index was ready, Run lets go of the whitelist pages it mapped
// in; reads within the delay share one trim, so a burst of them costs a few
// trims a second at most. The index build lets go of them as it ends.
//
// bbolt reads the file through a shared mapping, and every page a read
// touches, with the kernel's fault-around (16 pages per fault), stays
// mapped and so counts in the process's resident set: building the index
// of a 100,000-entry whitelist maps the whole file in, some 22 MiB. The
// pages stay in the page cache, shared and reclaimable; dropping them from
// the mapping costs the next read of the file a few minor faults.
const TrimDelay = 100 * time.Millisecond

// markTouched notes that file pages may have been mapped in, and asks Run
// for a trim if none is pending. Decisions served by the index touch none.
func (s *Store) markTouched() {
	if !s.touched.Swap(true) {
		select {
		case s.touchedC <- struct{}{}:
		default: // Run has been asked already
		}
	}
}

// trim drops the file's pages from the process's mapping if a read touched
// them since the last trim.
func (s *Store) trim() error {
	if !s.touched.Swap(false) {
		return nil
	}
	// The read transaction holds bbolt's mmap lock: the mapping cannot be
	// moved by a growing writer while it is advised.
	tx, err := s.db.Begin(false)
	if err != nil {
		return fmt.Errorf("whitelist: trim: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to undo
	if err := dropMapped(s.db.Info().Data, uintptr(tx.Size())); err != nil {
		return fmt.Errorf("whitelist: trim %d mapped bytes: %w", tx.Size(), err)
	}
	return nil
}
