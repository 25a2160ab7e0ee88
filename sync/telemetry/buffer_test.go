package telemetry

import (
	"fmt"
	"testing"
)

func lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

func TestRingAccounting(t *testing.T) {
	type totals struct{ written, dropped, rejected uint64 }
	cases := []struct {
		name     string
		run      func(r *ring) []string // returns what a later take sees
		want     totals
		buffered int
	}{
		{"overflow drops oldest", func(r *ring) []string {
			r.push(lines(0, 15)...)
			return r.take(nil, 100)
		}, totals{0, 5, 0}, 10},
		{"delivered batch leaves the rest", func(r *ring) []string {
			r.push(lines(0, 8)...)
			r.take(nil, 3)
			r.settle(delivered)
			return r.take(nil, 100)
		}, totals{3, 0, 0}, 5},
		{"failed batch stays buffered", func(r *ring) []string {
			r.push(lines(0, 8)...)
			r.take(nil, 3)
			r.settle(failed)
			return r.take(nil, 100)
		}, totals{0, 0, 0}, 8},
		{"refused batch is counted and removed", func(r *ring) []string {
			r.push(lines(0, 8)...)
			r.take(nil, 3)
			r.settle(refused)
			return r.take(nil, 100)
		}, totals{0, 0, 3}, 5},
		{"evicted in flight then delivered: not dropped", func(r *ring) []string {
			r.push(lines(0, 10)...)
			r.take(nil, 4)
			r.push(lines(10, 13)...) // evicts 0,1,2 while in flight
			r.settle(delivered)
			return r.take(nil, 100)
		}, totals{4, 0, 0}, 9},
		{"evicted in flight then failed: dropped", func(r *ring) []string {
			r.push(lines(0, 10)...)
			r.take(nil, 4)
			r.push(lines(10, 16)...) // evicts 0..3 in flight, 4,5 buffered
			r.settle(failed)
			return r.take(nil, 100)
		}, totals{0, 6, 0}, 10},
		{"abandon drops the rest", func(r *ring) []string {
			r.push(lines(0, 7)...)
			r.abandon()
			return r.take(nil, 100)
		}, totals{0, 7, 0}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRing(10)
			rest := c.run(r)
			written, dropped, rejected, buffered := r.counts()
			if got := (totals{written, dropped, rejected}); got != c.want || buffered != c.buffered {
				t.Errorf("got %+v buffered %d, want %+v buffered %d", got, buffered, c.want, c.buffered)
			}
			if len(rest) != c.buffered {
				t.Fatalf("take saw %d lines, want %d", len(rest), c.buffered)
			}
			// What remains is always the newest, in order.
			for i := 1; i < len(rest); i++ {
				if rest[i-1] >= rest[i] && len(rest[i-1]) >= len(rest[i]) {
					t.Errorf("remaining lines out of order: %v", rest)
				}
			}
		})
	}
}
