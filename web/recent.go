package web

import (
	"sync"

	"github.com/jusha-ean/edge/events"
)

// DefaultRecentEvents is how many events RecentEvents keeps by default.
const DefaultRecentEvents = 200

// RecentEvents keeps the latest events the gateway raised, for the status
// page. The gateway feeds it with Add after each event is durable; it is
// safe for concurrent use and never blocks on readers.
type RecentEvents struct {
	mu   sync.Mutex
	buf  []events.Event
	next int // index of the slot the next event goes to
	full bool
}

// NewRecentEvents returns a ring that keeps the last n events; n <= 0 means
// DefaultRecentEvents.
func NewRecentEvents(n int) *RecentEvents {
	if n <= 0 {
		n = DefaultRecentEvents
	}
	return &RecentEvents{buf: make([]events.Event, n)}
}

// Add records an event, replacing the oldest one when the ring is full.
func (r *RecentEvents) Add(ev events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = ev
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// Recent returns up to limit events, newest first; limit <= 0 means all
// that are kept. The events' Data maps are shared with the caller of Add
// and must be treated as read-only.
func (r *RecentEvents) Recent(limit int) []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]events.Event, 0, limit)
	for i := 0; i < limit; i++ {
		idx := (r.next - 1 - i + len(r.buf)) % len(r.buf)
		out = append(out, r.buf[idx])
	}
	return out
}

// Len returns the number of events kept.
func (r *RecentEvents) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return len(r.buf)
	}
	return r.next
}
