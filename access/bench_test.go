package access

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// benchEntry is rider i of a site of 50 blocks: a door and a lift each,
// gates, a shared schedule; every tenth rider has a daily limit.
func benchEntry(i int) Entry {
	block := i % 50
	h := NewHasher(testKey).Hash(TypeQR, benchValue(i))
	e := Entry{
		ID: fmt.Sprintf("rider-%07d", i), Label: "rider 138****" + fmt.Sprintf("%04d", i%10000),
		Credentials: []Credential{{Type: TypeQR, Hash: hex.EncodeToString(h[:])}},
		Doors:       []string{fmt.Sprintf("door-%02d", block), fmt.Sprintf("door-%02d", (block+1)%50)},
		Floors:      map[string][]int{fmt.Sprintf("lift-%02d", block): {1, 2 + i%30}},
		Gates:       []string{"gate-north"},
		Schedule:    []Window{{Days: "mon-sun", From: "06:00", To: "23:30"}},
	}
	if i%10 == 0 {
		e.MaxUsesPerDay = 1 << 20
	}
	return e
}

func benchValue(i int) string { return fmt.Sprintf("QR-RIDER-%09d", i) }

var (
	millionOnce   sync.Once
	millionStore  *Store
	millionSigner signer
	millionHeap   uint64
	millionBuild  time.Duration
)

// millionEntries returns a store whose file holds 1,000,000 entries
// (committed by the snapshot code, without the JSON and signature), indexed
// as Run indexes it, the Go heap the index took (its big arrays are off
// the heap: see offheap.go) and how long it took to build.
func millionEntries(b *testing.B) (*Store, uint64) {
	millionOnce.Do(func() {
		path := filepath.Join(b.TempDir(), "bench.db")
		sg := newSigner(b, "central-2026")
		opts := Options{Site: "wannan", Key: testKey, Location: time.UTC,
			Signers: map[string]ed25519.PublicKey{sg.id: sg.pub}}
		if err := writeMillion(path, opts); err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC() // the second empties sync.Pools the commit filled
		runtime.ReadMemStats(&before)
		s, err := Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		s.indexing.Store(true)
		if err := s.buildIndex(b.Context()); err != nil {
			b.Fatal(err)
		}
		millionBuild = time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&after)
		// Left open for the benchmark's later runs: b's cleanups run after each.
		millionStore, millionSigner = s, sg
		millionHeap = after.HeapInuse - min(before.HeapInuse, after.HeapInuse)
	})
	if millionStore == nil {
		b.Skip("building the million-entry whitelist failed")
	}
	return millionStore, millionHeap
}

// writeMillion commits a million entries to the file at path.
func writeMillion(path string, opts Options) error {
	s, err := Open(path, opts)
	if err != nil {
		return err
	}
	doc := snapshot(1)
	doc.Upsert = make([]Entry, 1_000_000)
	for i := range doc.Upsert {
		doc.Upsert[i] = benchEntry(i)
	}
	_, err = s.applySnapshot(&doc)
	return errors.Join(err, s.Close())
}

// BenchmarkDecide1M decides granted reads (hash, lookup, scope, schedule)
// with a million entries indexed, and reports latency percentiles measured
// call by call, the heap the index holds (HeapInuse after a GC) and how
// long Run's build took.
func BenchmarkDecide1M(b *testing.B) { benchDecide1M(b, false, false) }

// BenchmarkDecide1MFile is BenchmarkDecide1M on the file, as decisions are
// made until the index is built.
func BenchmarkDecide1MFile(b *testing.B) { benchDecide1M(b, true, false) }

// BenchmarkDecide1MFileTrimmed is BenchmarkDecide1MFile with the file's
// pages let go of before each decision (untimed), as Run does after a
// quiet spell: every lookup faults its pages back in from the page cache.
func BenchmarkDecide1MFileTrimmed(b *testing.B) { benchDecide1M(b, true, true) }

func benchDecide1M(b *testing.B, onFile, trimmed bool) {
	s, heap := millionEntries(b)
	size := s.idx.Load().base.sizeBytes()
	if onFile {
		ix := s.idx.Swap(nil)
		defer s.idx.Store(ix)
	}
	const sample = 4096
	values := make([]string, sample)
	devs := make([]Device, sample)
	for k := range values {
		i := (k * 7919) % 1_000_000 // spread over the whitelist
		values[k] = benchValue(i)
		devs[k] = Device{ID: fmt.Sprintf("lift-%02d", i%50), Kind: "elevator"}
		if k%2 == 0 {
			devs[k] = Device{ID: fmt.Sprintf("door-%02d", i%50), Kind: "door"}
		}
	}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	lat := make([]time.Duration, 0, 1<<20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := i % sample
		if trimmed {
			b.StopTimer()
			s.touched.Store(true)
			if err := s.trim(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		t0 := time.Now()
		d := s.Decide(devs[k], TypeQR, values[k], at)
		el := time.Since(t0)
		if !d.Granted {
			b.Fatalf("%s at %s: %s", values[k], devs[k].ID, d.Reason)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, el)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(0.999), "p99.9-µs")
	b.ReportMetric(float64(heap)/(1<<20), "index-heap-MiB")
	b.ReportMetric(float64(size)/(1<<20), "index-MiB")
	b.ReportMetric(millionBuild.Seconds()*1000, "index-build-ms")
}

// BenchmarkApply1MDelta100 applies signed deltas of 100 entries on top
// of the indexed million-entry whitelist (overlay included).
func BenchmarkApply1MDelta100(b *testing.B) {
	s, _ := millionEntries(b)
	benchDeltas(b, s, millionSigner, 1_000_000)
}

// cpuTime is the process's user+system CPU time: on a shared, loaded
// machine it says what an operation costs better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHash is the keyed hash alone.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(testKey)
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Hash(TypeQR, "QR-RIDER-000000123")
	}
}

func snapshotEnvelope(b *testing.B, sg signer, version uint64, n int) []byte {
	d := snapshot(version)
	d.Upsert = make([]Entry, n)
	for i := range d.Upsert {
		d.Upsert[i] = benchEntry(i)
	}
	return sg.sign(b, d)
}

func benchStore(b *testing.B, sg signer) *Store {
	s, err := Open(filepath.Join(b.TempDir(), "wl.db"), Options{Site: "wannan", Key: testKey, Location: time.UTC,
		Signers: map[string]ed25519.PublicKey{sg.id: sg.pub}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	s.indexing.Store(true) // as Run does: updates keep an index
	if err := s.buildIndex(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkApplySnapshot100k verifies, decodes, commits (fsync) and swaps
// in a signed snapshot of 100,000 entries.
func BenchmarkApplySnapshot100k(b *testing.B) {
	sg := newSigner(b, "central-2026")
	env := snapshotEnvelope(b, sg, 1, 100_000)
	b.SetBytes(int64(len(env)))
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s := benchStore(b, sg)
		b.StartTimer()
		c0 := cpuTime()
		res, err := s.ApplySigned(b.Context(), env)
		cpu += cpuTime() - c0
		if err != nil || res.Entries != 100_000 {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkApplyDelta100 applies signed deltas of 100 entries on top of an
// indexed 100,000-entry whitelist.
func BenchmarkApplyDelta100(b *testing.B) {
	sg := newSigner(b, "central-2026")
	s := benchStore(b, sg)
	if _, err := s.ApplySigned(b.Context(), snapshotEnvelope(b, sg, 1, 100_000)); err != nil {
		b.Fatal(err)
	}
	benchDeltas(b, s, sg, 100_000)
}

// benchDeltas applies deltas of 100 updated entries to s, which holds n
// entries of benchEntry; the wall time per op and the CPU time are
// reported, and the size of the overlay left.
func benchDeltas(b *testing.B, s *Store, sg signer, n int) {
	v := s.Version()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		d := Document{Site: "wannan", Version: v + 1, Kind: KindDelta, BaseVersion: v, IssuedAt: time.Now()}
		for i := range 100 {
			e := benchEntry(int(v*100)%n + i)
			e.Label = fmt.Sprintf("updated in %d", v+1)
			d.Upsert = append(d.Upsert, e)
		}
		env := sg.sign(b, d)
		b.StartTimer()
		c0 := cpuTime()
		if _, err := s.ApplySigned(b.Context(), env); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		v++
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	if ix := s.idx.Load(); ix != nil {
		b.ReportMetric(float64(len(ix.over)), "overlay-keys")
	}
}

// signalActuator reports each write on a channel.
type signalActuator struct{ wrote chan struct{} }

func (a signalActuator) Write(context.Context, string, string, drivers.Value) error {
	a.wrote <- struct{}{}
	return nil
}

func (a signalActuator) WriteBools(context.Context, string, string, []bool) error {
	a.wrote <- struct{}{}
	return nil
}

// BenchmarkObserveToWrite is the gateway's own share of "credential_seq
// changed -> unlock written": decision, queue hand-off and the write call,
// without the Modbus round trip.
func BenchmarkObserveToWrite(b *testing.B) {
	f := newFixture(b, time.UTC)
	f.apply(b, snapshot(1, Entry{ID: "r1", Credentials: []Credential{cred(TypeCard, "1001")}, Doors: []string{door.ID}}))
	act := signalActuator{wrote: make(chan struct{}, 1)}
	c, err := NewController(f.store, testDevices[:1], act, ControllerOptions{UnlockTime: time.Hour, Emit: func(events.Event) {}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	c.Observe(reading(door.ID, time.Now(), 0, 1001))
	lat := make([]time.Duration, 0, 1<<16)
	seq := uint16(0)
	for b.Loop() {
		seq++
		t0 := time.Now()
		c.Observe(reading(door.ID, t0, seq, 1001))
		<-act.wrote
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	b.StopTimer()
	cancel()
	for stopped := false; !stopped; {
		select {
		case <-act.wrote: // the relock write at shutdown
		case <-done:
			stopped = true
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkMerge1M folds an overlay of mergeAt changed credentials into
// the million-entry base, as Run does in the background (not installed).
func BenchmarkMerge1M(b *testing.B) {
	s, _ := millionEntries(b)
	v := s.Version()
	for ix := s.idx.Load(); len(ix.over) < mergeAt; ix = s.idx.Load() {
		d := Document{Site: "wannan", Version: v + 1, Kind: KindDelta, BaseVersion: v}
		for i := range 500 {
			e := benchEntry(int(v*500)%1_000_000 + i)
			e.Credentials = []Credential{cred(TypeQR, fmt.Sprintf("MERGE-%d-%d", v, i))}
			d.Upsert = append(d.Upsert, e)
		}
		if _, err := s.applyDelta(&d); err != nil {
			b.Fatal(err)
		}
		v++
	}
	ix := s.idx.Load()
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		if _, err := mergeTable(ix.base, ix.over); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(len(ix.over)), "overlay-keys")
}
