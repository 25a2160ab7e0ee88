package access

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// mappedKiB is the resident size of this process's mapping of path, from
// /proc/self/smaps.
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, found, kib := false, false, 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = fields[len(fields)-1] == path // a mapping's header line
			found = found || in
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			kib += n
		}
	}
	if err := sc.Err(); err != nil || !found {
		t.Fatalf("no mapping of %s in /proc/self/smaps (%v)", path, err)
	}
	return kib
}

// Decisions map whitelist pages in; trim lets go of them, and decisions
// after it read the same entries.
func TestTrimReleasesMappedPages(t *testing.T) {
	f := newFixture(t, time.UTC)
	const n = 20_000
	doc := snapshot(1)
	for i := range n {
		doc.Upsert = append(doc.Upsert, benchEntry(i))
	}
	if _, err := f.store.applySnapshot(&doc); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	decideAll := func() {
		t.Helper()
		for i := 0; i < n; i += 7 {
			dev := Device{ID: fmt.Sprintf("door-%02d", i%50), Kind: "door"}
			if d := f.store.Decide(dev, TypeQR, benchValue(i), at); !d.Granted {
				t.Fatalf("%s: %+v", benchValue(i), d)
			}
		}
	}
	decideAll()
	path := f.store.path
	before := mappedKiB(t, path)
	if err := f.store.trim(); err != nil {
		t.Fatal(err)
	}
	after := mappedKiB(t, path)
	// Thousands of lookups spread over the file map most of it in; a trim
	// leaves nothing of it mapped.
	if before < 1024 || after > 64 {
		t.Fatalf("mapped %d KiB after the decisions, %d KiB after the trim", before, after)
	}
	if err := f.store.trim(); err != nil || mappedKiB(t, path) > 64 {
		t.Fatalf("second trim with nothing touched: %v", err)
	}
	decideAll()
	t.Logf("%d entries: %d KiB mapped after %d decisions, %d KiB after the trim", n, before, n/7, after)
}

// Run lets go of the pages once the index is built, and TrimDelay after
// an update; decisions served by the index touch no page.
func TestRunTrims(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.apply(t, snapshot(1, rider("r1", "Q1")))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.store.Run(ctx) }()
		time.Sleep(TrimDelay)
		synctest.Wait()
		if f.store.touched.Load() || f.store.idx.Load() == nil {
			t.Fatalf("after the build: touched %v, index %v", f.store.touched.Load(), f.store.idx.Load() != nil)
		}
		if d := f.store.Decide(door, TypeQR, "Q1", time.Now()); !d.Granted || f.store.touched.Load() {
			t.Fatalf("an indexed decision touched the file: %+v", d)
		}
		f.apply(t, Document{Site: "wannan", Version: 2, Kind: KindDelta, BaseVersion: 1, Upsert: []Entry{rider("r2", "Q2")}})
		time.Sleep(TrimDelay / 2)
		synctest.Wait()
		if !f.store.touched.Load() {
			t.Fatal("trimmed before the delay")
		}
		time.Sleep(TrimDelay / 2)
		synctest.Wait()
		if f.store.touched.Load() || f.store.trimError.Load() {
			t.Fatalf("after the delay: touched %v, trim failed %v", f.store.touched.Load(), f.store.trimError.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
