package access

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// variedEntry is rider i with rules that vary with i: validity, revoked,
// schedules, limits, lifts with repeated and unsorted floors, no scope.
func variedEntry(i int, label string) Entry {
	e := benchEntry(i)
	e.Label = label
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	switch i % 7 {
	case 1:
		e.ValidFrom = tp(t0.Add(time.Duration(i%48) * time.Hour))
	case 2:
		e.ValidUntil = tp(t0.Add(time.Duration(i%48) * time.Hour))
	case 3:
		e.Revoked = true
	case 4:
		e.Schedule = []Window{{Days: "mon-fri", From: "22:00", To: "03:00"}, {Days: "sat", From: "06:00", To: "08:00"}}
	case 5:
		e.Floors[fmt.Sprintf("lift-%02d", i%50)] = []int{9, 3, 9}
		e.MaxUsesPerDay = 1 + i%3
	case 6:
		e.Doors, e.Gates, e.Floors = nil, nil, nil
	}
	if i%11 == 0 {
		e.Credentials = append(e.Credentials, cred(TypeCard, fmt.Sprint(1_000_000+i)))
	}
	switch i % 13 { // validity a slot cannot pack
	case 5:
		e.ValidFrom = tp(time.Unix(-3600, 0))
	case 6:
		e.ValidUntil = tp(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	case 7:
		e.ValidFrom = tp(time.Unix(0, 0))
	}
	return e
}

func TestPackValidity(t *testing.T) {
	for _, tc := range []struct {
		from, until int64
		ok          bool
	}{
		{math.MinInt64, math.MaxInt64, true},
		{1, 0, true},
		{1_780_000_000, 1_790_000_000, true},
		{math.MaxUint32 - 1, math.MaxUint32 - 1, true},
		{0, math.MaxInt64, false},
		{-1, math.MaxInt64, false},
		{math.MaxUint32, math.MaxInt64, false},
		{math.MinInt64, math.MaxUint32, false},
		{math.MinInt64, -1, false},
	} {
		b := newBuilder(1, nil)
		i := b.push(slot{}, tc.from, tc.until)
		from, until := b.t.validity(i)
		if from != tc.from || until != tc.until || (b.t.wide == nil) != tc.ok {
			t.Errorf("[%d, %d): read back [%d, %d), wide %v", tc.from, tc.until, from, until, b.t.wide)
		}
	}
}

// sameAnswers fails unless the index and the file answer alike for the
// credentials of riders 0..n-1 (and some unknown ones), at several devices
// and times, counting nothing. It returns how many it compared by reason.
func sameAnswers(t *testing.T, s *Store, n int) map[string]int {
	t.Helper()
	if s.idx.Load() == nil {
		t.Fatal("no index to compare")
	}
	devs := []Device{door, gate, {ID: "door-07", Kind: "door"}, {ID: "lift-07", Kind: "elevator"},
		{ID: "gate-north", Kind: "gate"}, {ID: "lift-12", Kind: "elevator"}, {ID: "door-07", Kind: "lift"}}
	ats := []time.Time{time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)}
	reasons := map[string]int{}
	for i := range n + 20 {
		for _, c := range []struct{ typ, value string }{{TypeQR, benchValue(i)}, {TypeCard, fmt.Sprint(1_000_000 + i)}} {
			h := s.Hash(c.typ, c.value)
			for _, dev := range devs {
				at := ats[(i+len(dev.ID))%len(ats)]
				got := s.decide(&dev, c.typ, h, at, false)
				want := Decision{Hash: h, Reason: ReasonUnknown}
				s.decideOnFile(&want, &dev, at, false)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %s at %s %s: index %+v, file %+v", c.typ, c.value, dev.Kind, dev.ID, got, want)
				}
				reasons[got.Reason]++
			}
		}
	}
	return reasons
}

// The index gives the file's decisions after a build, a snapshot, deltas
// (the overlay) and a merge, with deltas applied during the merge.
func TestIndexMatchesFile(t *testing.T) {
	f := newFixture(t, time.UTC)
	const n = 3000
	doc := snapshot(1)
	for i := range n {
		doc.Upsert = append(doc.Upsert, variedEntry(i, "v1"))
	}
	f.apply(t, doc)
	f.index(t) // scanned from the file
	// Every reason but usage_limit (nothing is counted) is compared.
	if reasons := sameAnswers(t, f.store, n); len(reasons) != 7 {
		t.Fatalf("compared decisions with reasons %v", reasons)
	}

	doc.Version = 2 // built by the snapshot
	f.apply(t, doc)
	sameAnswers(t, f.store, n)

	// Deltas: riders change rules, lose or move credentials, leave, come.
	v := uint64(2)
	delta := func(from, to int) {
		t.Helper()
		d := Document{Site: "wannan", Version: v + 1, Kind: KindDelta, BaseVersion: v}
		for i := from; i < to; i++ {
			switch i % 4 {
			case 0:
				d.Remove = append(d.Remove, fmt.Sprintf("rider-%07d", i))
			case 1:
				e := variedEntry(i+3, fmt.Sprint(v)) // new rules, the same cards
				e.ID, e.Credentials = fmt.Sprintf("rider-%07d", i), variedEntry(i, "").Credentials
				d.Upsert = append(d.Upsert, e)
			default:
				e := variedEntry(i, fmt.Sprint(v))
				e.Credentials = e.Credentials[:1]
				e.Credentials[0] = cred(TypeQR, benchValue(i+n)) // a new card
				d.Upsert = append(d.Upsert, e)
			}
		}
		f.apply(t, d)
		v++
	}
	delta(0, 100)
	delta(100, 250)
	if ix := f.store.idx.Load(); len(ix.over) == 0 || ix.version != v {
		t.Fatalf("overlay of %d, index version %d, want %d", len(ix.over), ix.version, v)
	}
	sameAnswers(t, f.store, 2*n)

	// A merge folds the overlay in; a delta committed while it ran stays
	// in the new overlay.
	ix := f.store.idx.Load()
	merged, err := mergeTable(ix.base, ix.over)
	if err != nil {
		t.Fatal(err)
	}
	delta(250, 300)
	f.store.applyMu.Lock()
	f.store.installMerged(ix, merged)
	f.store.applyMu.Unlock()
	if got := f.store.idx.Load(); got.base != merged || len(got.over) == 0 || len(got.over) >= len(ix.over) {
		t.Fatalf("after the merge: base merged %v, overlay %d (was %d)", got.base == merged, len(got.over), len(ix.over))
	}
	sameAnswers(t, f.store, 2*n)
	if err := f.store.mergeOverlay(); err != nil { // too small to merge: a no-op
		t.Fatal(err)
	}
	sameAnswers(t, f.store, 2*n)
}

// Enough changed credentials make the delta ask Run to merge, and Run does.
func TestRunMergesOverlay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		doc := snapshot(1)
		for i := range mergeAt {
			doc.Upsert = append(doc.Upsert, benchEntry(i))
		}
		f.apply(t, doc)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.store.Run(ctx) }()
		synctest.Wait()
		if f.store.idx.Load() == nil {
			t.Fatal("Run built no index")
		}
		d := Document{Site: "wannan", Version: 2, Kind: KindDelta, BaseVersion: 1}
		for i := range mergeAt {
			e := benchEntry(i)
			e.Credentials = []Credential{cred(TypeQR, benchValue(i+mergeAt))}
			d.Upsert = append(d.Upsert, e)
		}
		f.apply(t, d)
		synctest.Wait()
		if ix := f.store.idx.Load(); ix == nil || len(ix.over) != 0 || ix.version != 2 {
			t.Fatalf("after %d changes: %+v", 2*mergeAt, ix)
		}
		sameAnswers(t, f.store, 2*mergeAt)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// An update committed while the build scans makes it scan again; a
// snapshot's own index wins over the scan.
func TestBuildRacesUpdates(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, rider("r1", "Q1"), rider("r2", "Q2")))
	f.store.indexing.Store(true)

	scanned, version, err := f.store.scanIndex(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, Document{Site: "wannan", Version: 2, Kind: KindDelta, BaseVersion: 1,
		Upsert: []Entry{rider("r3", "Q3")}, Remove: []string{"r1"}})
	f.store.applyMu.Lock()
	installed := f.store.installBuilt(scanned, version, time.Now())
	f.store.applyMu.Unlock()
	if installed || f.store.idx.Load() != nil {
		t.Fatal("a scan of version 1 was installed over version 2")
	}
	if err := f.store.buildIndex(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ix := f.store.idx.Load(); ix == nil || ix.version != 2 {
		t.Fatalf("index after the rebuild: %+v", ix)
	}
	sameAnswers(t, f.store, 4)

	f.store.idx.Store(nil) // as before the first build
	scanned, version, err = f.store.scanIndex(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, snapshot(3, rider("r4", "Q4")))
	byUpdate := f.store.idx.Load()
	if byUpdate == nil || byUpdate.version != 3 {
		t.Fatalf("the snapshot built no index: %+v", byUpdate)
	}
	f.store.applyMu.Lock()
	installed = f.store.installBuilt(scanned, version, time.Now())
	f.store.applyMu.Unlock()
	if !installed || f.store.idx.Load() != byUpdate {
		t.Fatal("the scan replaced the snapshot's index")
	}
	if d := f.store.Explain(door, TypeQR, "Q4", time.Now()); !d.Granted {
		t.Fatalf("Q4: %+v", d)
	}
}

// Decisions made while Run builds the index, and updates apply, are right
// whichever path answers them, and the index is used in the end.
func TestDecideDuringBuild(t *testing.T) {
	f := newFixture(t, time.UTC)
	const n = 20_000
	doc := snapshot(1)
	for i := range n {
		doc.Upsert = append(doc.Upsert, benchEntry(i))
	}
	f.apply(t, doc)
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.store.Run(ctx) }()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	onFile, onIndex := 0, 0
	wg.Go(func() {
		for i := 0; ; i = (i + 7919) % n {
			indexed := f.store.idx.Load() != nil
			dev := Device{ID: fmt.Sprintf("door-%02d", i%50), Kind: "door"}
			d := f.store.Explain(dev, TypeQR, benchValue(i), at)
			mu.Lock()
			if !d.Granted || d.EntryID != fmt.Sprintf("rider-%07d", i) {
				bad = append(bad, fmt.Sprintf("%d: %+v", i, d))
			}
			if indexed {
				onIndex++
			} else {
				onFile++
			}
			stop := onIndex >= 2000
			mu.Unlock()
			if stop {
				return
			}
		}
	})
	// A delta moving a card, while the build may still be scanning.
	moved := benchEntry(n)
	moved.Credentials = []Credential{cred(TypeQR, benchValue(5))}
	f.apply(t, Document{Site: "wannan", Version: 2, Kind: KindDelta, BaseVersion: 1,
		Upsert: []Entry{moved}, Remove: []string{"rider-0000005"}})
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		if b[:2] != "5:" { // rider 5's card moved to rider n
			t.Errorf("decision during the build: %s", b)
		}
	}
	if d := f.store.Explain(door, TypeQR, benchValue(5), at); d.EntryID != moved.ID {
		t.Errorf("moved card: %+v", d)
	}
	sameAnswers(t, f.store, n+1)
	t.Logf("%d decisions on the file, then %d on the index", onFile, onIndex)
}

// Two stored hashes sharing the index's prefix leave decisions on the
// file, whether the build or a delta meets them.
func TestPrefixClashKeepsFile(t *testing.T) {
	clash := func(last byte) Credential {
		h := HashCredential(testKey, TypeQR, "CLASH")
		h[31] = last
		return Credential{Type: TypeQR, Hash: hex.EncodeToString(h[:])}
	}
	one, two := rider("r1", "x"), rider("r2", "y")
	one.Credentials, two.Credentials = []Credential{clash(1)}, []Credential{clash(2)}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, one, two))
	f.store.indexing.Store(true)
	if err := f.store.buildIndex(t.Context()); err == nil || f.store.idx.Load() != nil {
		t.Fatalf("build over clashing prefixes: %v", err)
	}

	f = newFixture(t, time.UTC)
	f.apply(t, snapshot(1, one, rider("r3", "Q3")))
	f.index(t)
	f.apply(t, Document{Site: "wannan", Version: 2, Kind: KindDelta, BaseVersion: 1, Upsert: []Entry{two}})
	if f.store.idx.Load() != nil {
		t.Fatal("a delta adding a clashing prefix kept the index")
	}
	h := HashCredential(testKey, TypeQR, "Q3")
	if d := f.store.DecideHash(door, TypeQR, h, at); !d.Granted || d.EntryID != "r3" {
		t.Fatalf("on the file after the clash: %+v", d)
	}
}
