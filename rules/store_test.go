package rules

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	fs := NewFileStore(filepath.Join(dir, "rules.json"))
	b, err := fs.Load()
	if err != nil || b != nil {
		t.Fatalf("Load of nothing = %q, %v; want nil, nil", b, err)
	}
	for _, s := range []string{`{"version":1}`, `{"version":1,"x":2}`} {
		if err := fs.Save([]byte(s)); err != nil {
			t.Fatalf("Save: %v", err)
		}
		b, err = fs.Load()
		if err != nil || string(b) != s {
			t.Fatalf("Load = %q, %v; want %q", b, err, s)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left in the state dir: %v", ents)
	}
	bad := NewFileStore(filepath.Join(dir, "missing", "rules.json"))
	if err := bad.Save([]byte("{}")); err == nil {
		t.Error("Save into a missing directory: no error")
	}
}

// memStore is a StateStore in memory that keeps every save.
type memStore struct {
	mu    sync.Mutex
	b     []byte
	saves [][]byte
}

func (m *memStore) Load() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b, nil
}

func (m *memStore) Save(b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b = slices.Clone(b)
	m.saves = append(m.saves, m.b)
	return nil
}

func TestRestartKeepsAlarmState(t *testing.T) {
	store := NewFileStore(filepath.Join(t.TempDir(), "rules.json"))
	cfg := config(dev("d1", "door", ""), dev("g1", "gate", ""), dev("e1", "elevator", ""))
	e1, rec1 := newEngine(t, cfg, Options{Store: store})
	play(e1, cfg, []step{
		RD("d1", 0, open, false), RD("d1", 1, open, true), RD("d1", 3, open, false), T(5), // d1 /1 raised, cleared
		RD("d1", 10, open, true),                                        // d1 /2 raised
		on("g1", arm(0, "down", false)), on("g1", arm(1, "mid", false)), // g1 /1
		RD("e1", 0, "moving", true), on("e1", Off(2)), // e1 offline
		T(61), // d1 /1 and g1 /1 escalate
	})
	if n := len(rec1.all()); n != 7 {
		t.Fatalf("first life: %d events %q", n, rec1.lines())
	}

	e2, rec2 := newEngine(t, cfg, Options{Store: store})
	var ids []string
	for _, a := range e2.OpenAlarms() {
		ids = append(ids, a.ID)
	}
	want := []string{"d1/door.forced_open/1", "g1/gate.forced_open/1", "e1/device.offline/1", "d1/door.forced_open/2"}
	if !slices.Equal(ids, want) {
		t.Fatalf("restored alarms %q, want %q", ids, want)
	}
	play(e2, cfg, []step{
		T(65),                    // nothing escalates twice
		RD("d1", 66, open, true), // the same forced opening: no new alarm
		RD("e1", 66, "moving", true),
		T(70),                            // d1 /2 escalates
		RD("d1", 80, open, false), T(82), // d1 /2 clears
		RD("d1", 90, open, true),        // a new forced opening: /3
		on("g1", arm(91, "mid", false)), // still the same g1 opening
	})
	var got []string
	for _, ev := range rec2.all() {
		got = append(got, ev.AlarmID+" "+string(ev.Phase))
	}
	wantEv := []string{"e1/device.offline/1 cleared", "d1/door.forced_open/2 escalated",
		"d1/door.forced_open/2 cleared", "d1/door.forced_open/3 raised"}
	if !slices.Equal(got, wantEv) {
		t.Fatalf("second life events %q, want %q", got, wantEv)
	}
	if err := e2.Ack("d1/door.forced_open/1", "centre", at(95)); err != nil {
		t.Errorf("ack of a restored alarm: %v", err)
	}
	e3, _ := newEngine(t, cfg, Options{Store: store})
	for _, a := range e3.OpenAlarms() {
		if a.ID == "d1/door.forced_open/1" {
			t.Errorf("acked and cleared alarm came back after a restart: %+v", a)
		}
		if a.ID == "g1/gate.forced_open/1" && !a.Escalated {
			t.Errorf("escalation lost across restarts: %+v", a)
		}
	}
}

// TestPendingEventsSurviveACrash starts an engine from the state saved
// before its events were handed over, as after a crash at that moment.
func TestPendingEventsSurviveACrash(t *testing.T) {
	cfg := config(dev("d1", "door", ""))
	mem := &memStore{}
	e1, rec1 := newEngine(t, cfg, Options{Store: mem})
	play(e1, cfg, []step{R(0, open, false), R(1, open, true)})
	if len(rec1.all()) != 1 || len(mem.saves) != 2 {
		t.Fatalf("events %q, saves %d", rec1.lines(), len(mem.saves))
	}
	crashed := &memStore{b: mem.saves[0]}
	e2, rec2 := newEngine(t, cfg, Options{Store: crashed})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e2.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	evs := rec2.all()
	if len(evs) != 1 || evs[0].AlarmID != "d1/door.forced_open/1" || evs[0].Phase != events.Raised {
		t.Fatalf("replayed %q", rec2.lines())
	}
	e3, rec3 := newEngine(t, cfg, Options{Store: crashed})
	if err := e3.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec3.all()) != 0 {
		t.Errorf("pending events emitted twice: %q", rec3.lines())
	}
}

func TestDamagedStateDoesNotReuseIDs(t *testing.T) {
	cfg := config(dev("d1", "door", ""))
	for _, b := range []string{"{not json", `{"version":99,"counters":{"d1/door.forced_open":3}}`} {
		e, rec := newEngine(t, cfg, Options{Store: &memStore{b: []byte(b)}})
		play(e, cfg, []step{R(0, open, false), R(1, open, true)})
		evs := rec.all()
		want := "d1/door.forced_open/" + strconv.FormatInt(t0.Unix()+1, 10)
		if len(evs) != 1 || evs[0].AlarmID != want {
			t.Errorf("state %q: events %+v, want one with alarm id %s", b, evs, want)
		}
	}
}

func FuzzRestore(f *testing.F) {
	cfg := config(dev("d1", "door", "a1"), dev("e1", "elevator", "b1"), dev("g1", "gate", ""))
	mem := &memStore{}
	e, _ := newEngine(f, cfg, Options{Store: mem})
	play(e, cfg, []step{R(0, open, false), R(1, open, true), on("g1", arm(0, "down", false)),
		on("g1", arm(1, "mid", false)), on("e1", Off(2)), T(61)})
	f.Add(mem.b)
	f.Add([]byte(`{"version":1,"alarms":[null,{"id":"x"},{"id":"d1/door.sos/2","type":"door.sos","device":"d1"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := NewEngine(cfg, Options{Store: &memStore{b: b}, Now: func() time.Time { return t0 }},
			func(events.Event) {}, quietLog())
		if err != nil {
			t.Fatalf("NewEngine on saved state %q: %v", b, err)
		}
		before := map[string]bool{}
		for _, a := range e.OpenAlarms() {
			before[a.ID] = true
		}
		rec := &recorder{}
		e.emit = rec.emit
		play(e, cfg, []step{R(100, open, false), R(101, open, true), on("e1", car(100, false, false, false)),
			on("g1", arm(100, "down", false)), on("g1", arm(101, "up", false)), T(200)})
		for _, ev := range rec.all() {
			if ev.Phase == events.Raised && before[ev.AlarmID] {
				t.Errorf("alarm id %s reused", ev.AlarmID)
			}
		}
		for _, a := range e.OpenAlarms() {
			_ = e.Ack(a.ID, "fuzz", at(300))
		}
	})
}

// TestRestartMidCondition restarts the engine while a timed condition holds:
// the alarm neither clears nor raises again, and clears with its own id.
func TestRestartMidCondition(t *testing.T) {
	cases := []struct {
		name        string
		dev         configs.Device
		before      []step
		after       []step
		wantRestart []string
	}{
		{name: "door held open", dev: dev("d1", "door", ""),
			before:      []step{R(0, open, false), R(1, open, true, lock, true), T(31)},
			after:       []step{T(32), R(40, open, true), T(45), R(50, open, false), T(52)},
			wantRestart: []string{"d1/door.held_open/1 cleared"}},
		{name: "elevator trapped", dev: dev("e1", "elevator", ""),
			before:      []step{car(0, true, false, false), car(1, false, false, false, "occupied", true), T(46)},
			after:       []step{car(50, false, false, false, "occupied", true), T(55), car(56, true, false, false), T(58)},
			wantRestart: []string{"e1/elevator.trapped/1 cleared"}},
		{name: "gate stuck open", dev: dev("g1", "gate", ""),
			before:      []step{arm(0, "up", false), T(61)},
			after:       []step{arm(62, "up", false), T(70), arm(80, "down", false), T(82)},
			wantRestart: []string{"g1/gate.stuck_open/1 cleared"}},
		{name: "gate tailgating", dev: dev("g1", "gate", ""),
			before: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "up", true), arm(3, "up", false),
				arm(4, "up", true)},
			after:       []step{arm(5, "up", false), T(6), arm(8, "down", false), T(10)},
			wantRestart: []string{"g1/gate.tailgating/1 cleared"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := &memStore{}
			cfg := config(tc.dev)
			e1, rec1 := newEngine(t, cfg, Options{Store: store})
			play(e1, cfg, tc.before)
			if len(rec1.all()) != 1 {
				t.Fatalf("before the restart: %q", rec1.lines())
			}
			e2, rec2 := newEngine(t, cfg, Options{Store: store})
			play(e2, cfg, tc.after)
			var got []string
			for _, ev := range rec2.all() {
				if ev.Type != TypeAlarmEscalated {
					got = append(got, ev.AlarmID+" "+string(ev.Phase))
				}
			}
			if !slices.Equal(got, tc.wantRestart) {
				t.Errorf("after the restart %q, want %q", got, tc.wantRestart)
			}
		})
	}
}
