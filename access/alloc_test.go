package access

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxFileDecideAllocs bounds what a grant allocates while decisions read
// the file (hash, lookup, validity, scope, schedule, daily limit): bbolt's
// read transaction (3), opening two buckets (2 or 3 each, depending on
// alignment) and two gets (1 each), and the entry id; a grant at a lift
// adds its floors. The entry is read in place: decoding it would add an
// allocation per string, slice and map.
const maxFileDecideAllocs = 13

// A grant allocates nothing once the index serves it (issue 5), and a
// small, fixed number of objects while decisions read the file.
func TestDecideGrantAllocs(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	onBothPaths(t, shanghai, func(t *testing.T, f *fixture) {
		f.apply(t, snapshot(1, Entry{ID: "r1", Credentials: []Credential{cred(TypeQR, "QR-1")},
			Doors: []string{door.ID}, Floors: map[string][]int{lift.ID: {3, 4}},
			ValidFrom: tp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), ValidUntil: tp(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)),
			Schedule:      []Window{{Days: "sat", From: "06:00", To: "08:00"}, {Days: "mon-fri", From: "22:00", To: "03:00"}},
			MaxUsesPerDay: 1 << 20}))
		at := time.Date(2026, 11, 27, 23, 0, 0, 0, shanghai)
		h := HashCredential(testKey, TypeQR, "QR-1")
		var max, atLift float64 = 0, 0
		if f.store.idx.Load() == nil {
			max, atLift = maxFileDecideAllocs, 1
		}
		for _, tc := range []struct {
			name string
			max  float64
			fn   func() Decision
		}{
			{"door", max, func() Decision { return f.store.Decide(door, TypeQR, "QR-1", at) }},
			{"lift", max + atLift, func() Decision { return f.store.Decide(lift, TypeQR, "QR-1", at) }},
			{"prehashed", max, func() Decision { return f.store.DecideHash(door, TypeQR, h, at) }},
			{"unknown", max, func() Decision { return f.store.Decide(door, TypeQR, "QR-2", at) }},
		} {
			var d Decision
			if n := testing.AllocsPerRun(200, func() { d = tc.fn() }); n > tc.max || d.Granted != (tc.name != "unknown") {
				t.Errorf("%s: %v allocations (at most %v), decision %+v", tc.name, n, tc.max, d)
			}
		}
	})
}

// Run flushes the daily counters on its tick and when it stops.
func TestStoreRunFlushesUsage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.apply(t, snapshot(1, Entry{ID: "r1", Credentials: []Credential{cred(TypePIN, "77")}, Doors: []string{door.ID}, MaxUsesPerDay: 5}))
		stored := func() int {
			n := 0
			_ = f.store.db.View(func(tx *bolt.Tx) error {
				if v := tx.Bucket(bucketUsage).Get([]byte("r1")); len(v) == 4 {
					n = int(v[3])
				}
				return nil
			})
			return n
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.store.Run(ctx) }()
		f.store.Decide(door, TypePIN, "77", time.Now())
		synctest.Wait()
		if n := stored(); n != 0 {
			t.Fatalf("flushed before the tick: %d", n)
		}
		time.Sleep(UsageFlushInterval)
		synctest.Wait()
		if n := stored(); n != 1 {
			t.Fatalf("after a tick: %d", n)
		}
		f.store.Decide(door, TypePIN, "77", time.Now())
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := stored(); n != 2 {
			t.Fatalf("after stop: %d", n)
		}
	})
}
