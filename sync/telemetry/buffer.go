package telemetry

import "sync"

// ring is the bounded buffer of encoded points (one line protocol line
// each) waiting to be written. When it is full, the oldest point is dropped
// and counted. A batch being written stays in the ring until the server
// accepts it, so a failed write loses nothing; if the batch's points are
// pushed out while the write is in flight, they count as dropped only if
// that write then fails. Every point pushed ends up exactly once in written,
// dropped or rejected (or is still buffered).
type ring struct {
	mu    sync.Mutex
	lines []string
	head  uint64 // sequence number of the oldest buffered point
	tail  uint64 // sequence number the next point gets

	// the batch being written: [flightStart, flightEnd); evicted counts
	// its points pushed out of the ring meanwhile.
	flightStart, flightEnd uint64
	inFlight               bool
	evicted                uint64

	written, dropped, rejected uint64
}

func newRing(capacity int) *ring {
	if capacity < 1 {
		capacity = 1
	}
	return &ring{lines: make([]string, capacity)}
}

// push appends lines, dropping the oldest points when the ring is full.
func (r *ring) push(lines ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := uint64(len(r.lines))
	for _, l := range lines {
		if r.tail-r.head == c {
			if r.inFlight && r.head >= r.flightStart && r.head < r.flightEnd {
				r.evicted++
			} else {
				r.dropped++
			}
			r.lines[r.head%c] = ""
			r.head++
		}
		r.lines[r.tail%c] = l
		r.tail++
	}
}

// len is the number of buffered points, including a batch in flight.
func (r *ring) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.tail - r.head)
}

// take returns up to max of the oldest points, appended to dst, and marks
// them as in flight. Each take must be followed by one settle.
func (r *ring) take(dst []string, max int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := uint64(len(r.lines))
	n := r.tail - r.head
	if n > uint64(max) {
		n = uint64(max)
	}
	for s := r.head; s < r.head+n; s++ {
		dst = append(dst, r.lines[s%c])
	}
	r.flightStart, r.flightEnd, r.inFlight, r.evicted = r.head, r.head+n, true, 0
	return dst
}

// outcome is how a write of the batch in flight ended.
type outcome int

const (
	// delivered: the server stored the batch.
	delivered outcome = iota
	// failed: a retryable failure; the batch stays buffered.
	failed
	// refused: the server refused the batch (4xx); it is not retried.
	refused
)

// settle records the outcome of the write of the batch in flight.
func (r *ring) settle(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.flightEnd - r.flightStart
	switch o {
	case delivered, refused:
		if o == delivered {
			r.written += n
		} else {
			r.rejected += n
		}
		c := uint64(len(r.lines))
		for s := max(r.head, r.flightStart); s < r.flightEnd; s++ {
			r.lines[s%c] = ""
		}
		r.head = max(r.head, r.flightEnd)
	case failed:
		r.dropped += r.evicted
	}
	r.inFlight, r.evicted = false, 0
}

// abandon drops every buffered point (at shutdown, once the deadline has
// passed) and returns how many there were.
func (r *ring) abandon() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.tail - r.head
	r.dropped += n
	c := uint64(len(r.lines))
	for ; r.head < r.tail; r.head++ {
		r.lines[r.head%c] = ""
	}
	return n
}

// counts returns the running totals and the number buffered.
func (r *ring) counts() (written, dropped, rejected uint64, buffered int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.written, r.dropped, r.rejected, int(r.tail - r.head)
}
