package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/jusha-ean/edge/events"
)

// countBySeverity reads back the stored events.
func countBySeverity(t *testing.T, o *Outbox) (map[events.Severity]int, []events.Event) {
	t.Helper()
	n := map[events.Severity]int{}
	var pressure []events.Event
	for _, r := range all(t, o) {
		var e events.Event
		if err := json.Unmarshal(r.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == PressureType {
			pressure = append(pressure, e)
			continue
		}
		n[e.Severity]++
	}
	return n, pressure
}

func TestFullStoreKeepsAlarms(t *testing.T) {
	var raised []bool
	o, _ := openTest(t, Options{MaxBytes: 64 << 10, OnPressure: func(r bool) { raised = append(raised, r) }})
	ctx := context.Background()
	// Flood with info from many goroutines: far more than fits.
	flood(t, o, 16, 100, events.Info)
	st := o.Stats()
	if st.Bytes > st.MaxBytes || st.Evictions == 0 || !st.Pressure || st.Refused != 0 {
		t.Fatalf("after info flood: %+v", st)
	}
	// Then alarms: every one must survive, evicting info, then low, medium.
	var alarms []string
	for i := 0; i < 60; i++ {
		sev := events.High
		if i%2 == 0 {
			sev = events.Critical
		}
		out := mustAppend(t, o, ev("door.forced_open", sev))
		alarms = append(alarms, out.ID)
	}
	stored := map[string]bool{}
	for _, r := range all(t, o) {
		var e events.Event
		if err := json.Unmarshal(r.Payload, &e); err != nil {
			t.Fatal(err)
		}
		stored[e.ID] = true
	}
	for _, id := range alarms {
		if !stored[id] {
			t.Fatalf("alarm %s was evicted", id)
		}
	}
	n, pressure := countBySeverity(t, o)
	if len(pressure) != 1 || pressure[0].Phase != events.Raised || pressure[0].AlarmID == "" {
		t.Fatalf("pressure events: %+v", pressure)
	}
	if len(raised) != 1 || !raised[0] {
		t.Fatalf("pressure callback: %v", raised)
	}
	t.Logf("stored %v, stats %+v", n, o.Stats())

	// Fill the rest with alarms: once nothing evictable is left, refused.
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		_, full = o.Append(ctx, ev("elevator.trapped", events.Critical))
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("store never refused an alarm: %v", full)
	}
	st = o.Stats()
	if st.Refused == 0 || st.Bytes > st.MaxBytes {
		t.Fatalf("refusal not counted: %+v", st)
	}
	for _, id := range alarms {
		if !stored[id] {
			t.Fatalf("alarm %s lost", id)
		}
	}
}

func TestEvictionOrder(t *testing.T) {
	tests := []struct {
		name    string
		fill    []events.Severity // appended in this order, repeated until full
		then    events.Severity
		wantErr error
		gone    events.Severity // the class that must have lost records
		kept    []events.Severity
	}{
		{"info evicts older info", []events.Severity{events.Info}, events.Info, nil, events.Info, nil},
		{"low evicts info before low", []events.Severity{events.Low, events.Info}, events.Low, nil, events.Info, []events.Severity{events.Low}},
		{"medium evicts low before medium", []events.Severity{events.Medium, events.Low}, events.Medium, nil, events.Low, []events.Severity{events.Medium}},
		{"info cannot evict low", []events.Severity{events.Low}, events.Info, ErrFull, "", []events.Severity{events.Low}},
		{"low cannot evict medium", []events.Severity{events.Medium}, events.Low, ErrFull, "", []events.Severity{events.Medium}},
		{"high evicts medium", []events.Severity{events.Medium, events.High}, events.High, nil, events.Medium, []events.Severity{events.High}},
		{"critical never evicts high", []events.Severity{events.High}, events.Critical, ErrFull, "", []events.Severity{events.High}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := openTest(t, Options{MaxBytes: 16 << 10})
			ctx := context.Background()
			// Fill up to just below the bound.
			for i := 0; ; i++ {
				e := ev("door.tamper", tt.fill[i%len(tt.fill)])
				r, err := o.newReq(e)
				if err != nil {
					t.Fatal(err)
				}
				if o.Stats().Bytes+r.size > o.opts.MaxBytes {
					break
				}
				mustAppend(t, o, e)
			}
			before, _ := countBySeverity(t, o)
			var err error
			for i := 0; i < 5 && err == nil; i++ {
				_, err = o.Append(ctx, ev("door.tamper", tt.then))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			after, _ := countBySeverity(t, o)
			if tt.gone != "" && after[tt.gone] >= before[tt.gone]+boolInt(tt.gone == tt.then)*5 {
				t.Fatalf("%s not evicted: before %v after %v", tt.gone, before, after)
			}
			for _, s := range tt.kept {
				if after[s] < before[s] {
					t.Fatalf("%s evicted: before %v after %v", s, before, after)
				}
			}
			if st := o.Stats(); st.Bytes > st.MaxBytes {
				t.Fatalf("over the bound: %+v", st)
			}
		})
	}
}

// flood appends writers*each events of severity sev concurrently.
func flood(t *testing.T, o *Outbox, writers, each int, sev events.Severity) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := o.Append(context.Background(), ev("access.granted", sev)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("flood: %v", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPressureClearsBelowSixtyPercent(t *testing.T) {
	var calls []bool
	o, path := openTest(t, Options{MaxBytes: 32 << 10, OnPressure: func(r bool) { calls = append(calls, r) }})
	for !o.Stats().Pressure {
		mustAppend(t, o, ev("door.tamper", events.Low))
	}
	recs := all(t, o)
	// Ack oldest first; pressure must stay raised until below 60%.
	for _, r := range recs {
		if err := o.Ack(r.Seq); err != nil {
			t.Fatal(err)
		}
		out := mustAppend(t, o, ev("door.tamper", events.Info)) // a commit, to apply the ack
		seq, err := ParseSeq(out.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Ack(seq); err != nil {
			t.Fatal(err)
		}
		st := o.Stats()
		if !st.Pressure {
			break
		}
		if float64(st.Bytes) < PressureClear*float64(st.MaxBytes)-2048 {
			t.Fatalf("pressure still raised at %d of %d bytes", st.Bytes, st.MaxBytes)
		}
	}
	if o.Stats().Pressure {
		t.Fatal("pressure never cleared")
	}
	_, pressure := countBySeverity(t, o)
	last := pressure[len(pressure)-1]
	if last.Phase != events.Cleared || last.AlarmID != pressure[0].AlarmID {
		t.Fatalf("pressure events %+v", pressure)
	}
	if len(calls) != 2 || !calls[0] || calls[1] {
		t.Fatalf("callbacks %v", calls)
	}
	_ = path
}
