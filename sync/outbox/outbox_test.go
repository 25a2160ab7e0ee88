package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	bolt "go.etcd.io/bbolt"
)

const testSource = "/jusha/wannan/gw-01"

// openTest opens an outbox in a temp dir and, at cleanup, closes it and
// checks the bbolt file's consistency.
func openTest(t *testing.T, opts Options) (*Outbox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	return reopen(t, path, opts), path
}

func reopen(t *testing.T, path string, opts Options) *Outbox {
	t.Helper()
	if opts.Source == "" {
		opts.Source = testSource
	}
	o, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		checkFile(t, path)
	})
	return o
}

// checkFile runs bbolt's consistency check on a closed store.
func checkFile(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("reopen for check: %v", err)
		return
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
}

func ev(typ string, sev events.Severity) events.Event {
	return events.New(typ, "door-a1-lobby", time.Date(2026, 11, 27, 10, 0, 0, 123e6, time.UTC), sev, events.RoutePolice)
}

func mustAppend(t *testing.T, o *Outbox, e events.Event) events.Event {
	t.Helper()
	out, err := o.Append(context.Background(), e)
	if err != nil {
		t.Fatalf("append %s: %v", e.Type, err)
	}
	return out
}

func all(t *testing.T, o *Outbox) []Record {
	t.Helper()
	recs, err := o.Next(0, 1<<30)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return recs
}

func TestAppendFillsEnvelope(t *testing.T) {
	o, _ := openTest(t, Options{})
	in := ev("door.forced_open", events.High)
	in.AlarmID = "door-a1-lobby/door.forced_open/7"
	in.Phase = events.Raised
	in.Data = map[string]any{"location": "Block A1 lobby"}
	out := mustAppend(t, o, in)
	if len(out.ID) != 26 || out.Source != testSource || out.SpecVersion != "1.0" || out.Sequence != "00000000000000000001" {
		t.Fatalf("envelope not filled: %+v", out)
	}
	recs := all(t, o)
	if len(recs) != 1 || recs[0].Seq != 1 || recs[0].Category != events.CategoryAlarm {
		t.Fatalf("records: %+v", recs)
	}
	var got events.Event
	if err := json.Unmarshal(recs[0].Payload, &got); err != nil {
		t.Fatalf("stored payload: %v", err)
	}
	if got.ID != out.ID || got.Sequence != out.Sequence || got.Source != testSource ||
		got.AlarmID != in.AlarmID || got.Data["location"] != "Block A1 lobby" || !got.Time.Equal(in.Time) {
		t.Fatalf("stored %+v, appended %+v", got, out)
	}
	// An ID given by the producer is kept.
	in.ID = "01JDX3KEEPTHISIDPLEASE0000"
	if out := mustAppend(t, o, in); out.ID != in.ID || out.Sequence != "00000000000000000002" {
		t.Fatalf("given id: %+v", out)
	}
}

func TestSequencePlaceholderOnlyInEnvelope(t *testing.T) {
	o, _ := openTest(t, Options{})
	e := ev("door.tamper", events.Medium)
	e.Subject = `tricky "sequence":"00000000000000000000" subject`
	e.Data = map[string]any{"sequence": seqPlaceholder, "note": `"sequence":"00000000000000000000"`}
	for i := 0; i < 3; i++ {
		mustAppend(t, o, e)
	}
	for i, r := range all(t, o) {
		var got events.Event
		if err := json.Unmarshal(r.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.Sequence != FormatSeq(uint64(i+1)) || got.Subject != e.Subject ||
			got.Data["sequence"] != seqPlaceholder || got.Data["note"] != e.Data["note"] {
			t.Fatalf("record %d: %+v", i, got)
		}
	}
}

func TestRejectsBadEvents(t *testing.T) {
	o, _ := openTest(t, Options{MaxBytes: 2048})
	big := ev("door.tamper", events.High)
	big.Data = map[string]any{"blob": string(make([]byte, 4096))}
	tests := []struct {
		name string
		ev   events.Event
		want error
	}{
		{"no type", events.Event{Severity: events.High}, ErrInvalid},
		{"larger than the store", big, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := o.Append(context.Background(), tt.ev); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x.db"), Options{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("open without source: %v", err)
	}
}

func TestSequenceSurvivesReopenAndAcks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o, err := Open(path, Options{Source: testSource})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		mustAppend(t, o, ev("access.granted", events.Info))
	}
	if err := o.Ack(1, 2, 3, 4, 5); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil { // flushes the acks
		t.Fatal(err)
	}
	if _, err := o.Append(context.Background(), ev("x.y", events.Info)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	checkFile(t, path)

	o = reopen(t, path, Options{})
	if recs := all(t, o); len(recs) != 0 {
		t.Fatalf("acked records came back: %d", len(recs))
	}
	if st := o.Stats(); st.LastSeq != 5 || st.Depth != 0 || st.Bytes != 0 {
		t.Fatalf("stats after reopen: %+v", st)
	}
	if out := mustAppend(t, o, ev("access.denied", events.Low)); out.Sequence != FormatSeq(6) {
		t.Fatalf("sequence after reopen: %s", out.Sequence)
	}
}

func TestNextMergesClassesInOrder(t *testing.T) {
	o, _ := openTest(t, Options{})
	sevs := []events.Severity{events.Info, events.Critical, events.Low, events.Medium, events.High, events.Info, events.Low}
	for _, s := range sevs {
		mustAppend(t, o, ev("door.tamper", s))
	}
	recs := all(t, o)
	if len(recs) != len(sevs) {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
	tests := []struct {
		after uint64
		max   int
		want  []uint64
	}{
		{0, 3, []uint64{1, 2, 3}},
		{3, 2, []uint64{4, 5}},
		{6, 10, []uint64{7}},
		{7, 10, nil},
		{0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("after %d max %d", tt.after, tt.max), func(t *testing.T) {
			recs, err := o.Next(tt.after, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, r := range recs {
				got = append(got, r.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Acked records disappear at once from Next, before the commit.
	if err := o.Ack(1, 2); err != nil {
		t.Fatal(err)
	}
	if recs, _ := o.Next(0, 1); len(recs) != 1 || recs[0].Seq != 3 {
		t.Fatalf("after ack: %+v", recs)
	}
	if st := o.Stats(); st.Retries == 0 {
		t.Fatalf("records handed out twice not counted as retries: %+v", st)
	}
}

func TestConcurrentAppendsShareCommits(t *testing.T) {
	o, _ := openTest(t, Options{})
	const writers, each = 16, 50
	var wg sync.WaitGroup
	seqs := make(chan string, writers*each)
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				out, err := o.Append(context.Background(), ev("access.granted", events.Info))
				if err != nil {
					errs <- err
					return
				}
				seqs <- out.Sequence
			}
		}()
	}
	wg.Wait()
	close(seqs)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("sequence %s given twice", s)
		}
		seen[s] = true
	}
	for i := 1; i <= writers*each; i++ {
		if !seen[FormatSeq(uint64(i))] {
			t.Fatalf("sequence %d missing", i)
		}
	}
	st := o.Stats()
	if st.Appended != writers*each || st.Depth != writers*each {
		t.Fatalf("stats: %+v", st)
	}
	if st.Commits >= st.Appended {
		t.Fatalf("no group commit: %d commits for %d appends", st.Commits, st.Appended)
	}
	t.Logf("%d appends in %d commits", st.Appended, st.Commits)
}

func TestOldestAge(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	o, _ := openTest(t, Options{Now: clock})
	if st := o.Stats(); st.OldestAge != 0 {
		t.Fatalf("empty store has age %v", st.OldestAge)
	}
	mustAppend(t, o, ev("door.tamper", events.Low))
	mustAppend(t, o, ev("door.tamper", events.Critical))
	now = now.Add(90 * time.Second)
	if st := o.Stats(); st.OldestAge != 90*time.Second {
		t.Fatalf("oldest age %v", st.OldestAge)
	}
}

func TestCorruptRecordIsSkippedNotBlocking(t *testing.T) {
	o, _ := openTest(t, Options{})
	mustAppend(t, o, ev("door.tamper", events.Info))
	mustAppend(t, o, ev("door.tamper", events.Info))
	err := o.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(classBucket[classInfo]).Put(seqKey(1), []byte{1, 2}) })
	if err != nil {
		t.Fatal(err)
	}
	recs := all(t, o)
	if len(recs) != 1 || recs[0].Seq != 2 {
		t.Fatalf("records %+v", recs)
	}
	mustAppend(t, o, ev("door.tamper", events.Info)) // commits the deletion
	if st := o.Stats(); st.Corrupt != 1 || st.Depth != 2 {
		t.Fatalf("stats %+v", st)
	}
}
