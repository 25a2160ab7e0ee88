package rules

import (
	"time"

	"github.com/jusha-ean/edge/drivers"
)

// ring holds the times of the last n occurrences of something, to count
// occurrences within a window without allocating.
type ring struct {
	ts   []time.Time
	next int
	n    int
}

func newRing(n int) ring {
	if n < 1 {
		n = 1
	}
	return ring{ts: make([]time.Time, n)}
}

func (r *ring) push(t time.Time) {
	r.ts[r.next] = t
	r.next = (r.next + 1) % len(r.ts)
	if r.n < len(r.ts) {
		r.n++
	}
}

func (r *ring) reset() { r.n, r.next = 0, 0 }

// full reports whether the ring holds its capacity of occurrences, the
// oldest of them no longer than window before t.
func (r *ring) full(t time.Time, window time.Duration) bool {
	if r.n < len(r.ts) {
		return false
	}
	return t.Sub(r.ts[r.next]) <= window
}

// episode is one opening of a door or a gate arm: from the first reading
// that shows it open until it has stayed closed for debounce. A contact that
// bounces shut for less than debounce stays in the same episode.
type episode struct {
	active      bool
	authorized  bool
	start       time.Time
	closedSince time.Time
}

// update feeds the episode whether the thing is open at t, and reports
// whether a new episode started.
func (ep *episode) update(open bool, t time.Time, debounce time.Duration) bool {
	if open {
		ep.closedSince = time.Time{}
		if !ep.active {
			ep.active, ep.start = true, t
			return true
		}
		return false
	}
	if ep.active {
		if ep.closedSince.IsZero() {
			ep.closedSince = t
		}
		if t.Sub(ep.closedSince) >= debounce {
			ep.active = false
		}
	}
	return false
}

// point reads a bool point, and whether the reading has it.
func point(r *drivers.Reading, name string) (bool, bool) {
	v, ok := r.Values[name]
	return v.Num != 0, ok
}

// num reads a numeric point; absent points are 0.
func num(r *drivers.Reading, name string) float64 { return r.Values[name].Num }

// grantInForce reports whether a grant, remote open or exit request for d
// still covers an opening at t.
func (d *device) grantInForce(t time.Time) bool {
	return !d.grantUntil.IsZero() && !t.After(d.grantUntil)
}

// seconds is a duration as a number for event data.
func seconds(d time.Duration) float64 { return d.Seconds() }
