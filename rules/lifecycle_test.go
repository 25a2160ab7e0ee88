package rules

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// forcedGate raises gate.forced_open (high, street) on g1 at 1s.
var forcedGate = []step{arm(0, "down", false), arm(1, "mid", false)}

func TestEscalation(t *testing.T) {
	cases := []struct {
		name   string
		ackAt  float64 // 0: never
		ackID  string
		steps  []step
		want   []string
		output bool
	}{
		{name: "not acked in 60s: escalated once, route up",
			steps: append(slices.Clone(forcedGate), T(60.9), T(61), T(200)),
			want:  []string{"1.0 gate.forced_open raised", "61.0 alarm.escalated escalated"}},
		{name: "acked in time: not escalated", ackAt: 30, ackID: "g1/gate.forced_open/1",
			steps: append(slices.Clone(forcedGate), T(61), T(200)),
			want:  []string{"1.0 gate.forced_open raised"}},
		{name: "cleared but not acked: still escalated",
			steps: append(slices.Clone(forcedGate), arm(5, "down", false), T(7), T(61)),
			want:  []string{"1.0 gate.forced_open raised", "7.0 gate.forced_open cleared", "61.0 alarm.escalated escalated"}},
		{name: "medium alarms do not escalate",
			steps: []step{arm(0, "down", false), arm(1, "down", false, "fault_code", 2), T(500)},
			want:  []string{"1.0 gate.fault raised"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(dev("g1", "gate", ""))
			e, rec := newEngine(t, cfg, Options{})
			for _, s := range tc.steps {
				if tc.ackAt > 0 && s.at > tc.ackAt {
					if err := e.Ack(tc.ackID, "centre", at(tc.ackAt)); err != nil {
						t.Fatalf("Ack: %v", err)
					}
					tc.ackAt = 0
				}
				play(e, cfg, []step{s})
			}
			if got := rec.lines(); !slices.Equal(got, tc.want) {
				t.Fatalf("events:\n got  %q\n want %q", got, tc.want)
			}
			for _, ev := range rec.all() {
				if ev.Type != TypeAlarmEscalated {
					continue
				}
				if ev.AlarmID != "g1/gate.forced_open/1" || ev.Route != events.RoutePolice || ev.Severity != events.High ||
					ev.Phase != events.Escalated || ev.Data["alarm_type"] != "gate.forced_open" || ev.Data["location"] != "loc g1" {
					t.Errorf("escalated event = %+v", ev)
				}
			}
		})
	}
}

func TestAck(t *testing.T) {
	cfg := config(dev("g1", "gate", ""))
	e, _ := newEngine(t, cfg, Options{})
	if err := e.Ack("g1/gate.forced_open/1", "centre", at(0)); !errors.Is(err, ErrUnknownAlarm) {
		t.Fatalf("ack before any alarm: err = %v, want ErrUnknownAlarm", err)
	}
	play(e, cfg, forcedGate)
	// The alarm's raised event comes back from the outbox with its id.
	ev := events.New("gate.forced_open", "g1", at(1), events.High, events.RouteStreet)
	ev.ID, ev.AlarmID, ev.Phase = "01JDX3EVENT", "g1/gate.forced_open/1", events.Raised
	e.Notify(ev)
	if err := e.Ack("01JDX3EVENT", "centre", at(10)); err != nil {
		t.Fatalf("ack by event id: %v", err)
	}
	open := e.OpenAlarms()
	if len(open) != 1 || !open[0].Acked || open[0].AckedBy != "centre" || !open[0].AckedAt.Equal(at(10)) {
		t.Fatalf("open alarms = %+v", open)
	}
	if err := e.Ack("g1/gate.forced_open/1", "centre", at(11)); err != nil {
		t.Errorf("second ack: %v", err)
	}
	play(e, cfg, []step{arm(20, "down", false), T(22), T(100)})
	if open := e.OpenAlarms(); len(open) != 0 {
		t.Errorf("acked and cleared alarm still open: %+v", open)
	}
	if err := e.Ack("g1/gate.forced_open/1", "centre", at(101)); err != nil {
		t.Errorf("ack of a finished alarm (a redelivered ack): %v", err)
	}
	if err := e.Ack("01JDX3EVENT", "centre", at(101)); err != nil {
		t.Errorf("redelivered ack by event id of a finished alarm: %v", err)
	}
	if err := e.Ack("g1/gate.forced_open/9", "centre", at(101)); !errors.Is(err, ErrUnknownAlarm) {
		t.Errorf("ack of unknown id: err = %v", err)
	}
}

func TestUnackedAlarmsAreForgottenAfterADay(t *testing.T) {
	cfg := config(dev("g1", "gate", ""))
	e, _ := newEngine(t, cfg, Options{})
	play(e, cfg, append(slices.Clone(forcedGate), arm(5, "down", false), T(7), T(61)))
	if n := len(e.OpenAlarms()); n != 1 {
		t.Fatalf("open alarms = %d, want the cleared, escalated one", n)
	}
	e.Tick(at(7 + 24*3600))
	if n := len(e.OpenAlarms()); n != 1 {
		t.Fatalf("forgotten too early: %d open", n)
	}
	e.Tick(at(8 + 24*3600))
	if n := len(e.OpenAlarms()); n != 0 {
		t.Fatalf("open alarms after a day = %d, want 0", n)
	}
	if err := e.Ack("g1/gate.forced_open/1", "centre", at(9+24*3600)); err != nil {
		t.Errorf("late ack of a recently forgotten alarm: %v", err)
	}
}

func TestAlarmIDsIncrease(t *testing.T) {
	cfg := config(dev("d1", "door", ""))
	e, rec := newEngine(t, cfg, Options{})
	play(e, cfg, []step{R(0, open, false), R(1, open, true), R(2, open, false), T(5),
		R(10, open, true), R(11, open, false), T(20)})
	var ids []string
	for _, ev := range rec.all() {
		ids = append(ids, ev.AlarmID+" "+string(ev.Phase))
	}
	want := []string{"d1/door.forced_open/1 raised", "d1/door.forced_open/1 cleared",
		"d1/door.forced_open/2 raised", "d1/door.forced_open/2 cleared"}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %q, want %q", ids, want)
	}
}

// fakeOutput records writes of escalation outputs.
type fakeOutput struct {
	mu     sync.Mutex
	writes []string
	fail   int
}

func (f *fakeOutput) Write(_ context.Context, device, point string, v drivers.Value) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("device busy")
	}
	state := "off"
	if v.Bool() {
		state = "on"
	}
	f.writes = append(f.writes, device+"."+point+"="+state)
	return nil
}

func (f *fakeOutput) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func TestEscalationOutputThroughRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := config(dev("g1", "gate", ""), dev("siren-1", "door", ""))
		cfg.Rules = map[string]configs.RuleConfig{
			"alarm.escalated": {OutputDevice: "siren-1", OutputPoint: "unlock"},
		}
		out := &fakeOutput{fail: 1}
		rec := &recorder{}
		e, err := NewEngine(cfg, Options{Output: out}, rec.emit, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()

		start := time.Now()
		r := reading("g1", 0, "arm_closed", true)
		r.Time = start
		e.Observe(r)
		r = reading("g1", 0, "arm_closed", false)
		r.Time = start.Add(time.Second)
		e.Observe(r)

		time.Sleep(60 * time.Second)
		synctest.Wait()
		if got := out.got(); len(got) != 0 {
			t.Fatalf("output written before the ack timeout: %v", got)
		}
		time.Sleep(2 * time.Second) // escalated at 61s; the first write fails
		synctest.Wait()
		if got := out.got(); len(got) != 0 {
			t.Fatalf("writes = %v, want the failed one not recorded", got)
		}
		time.Sleep(outputRetry)
		synctest.Wait()
		if got := out.got(); !slices.Equal(got, []string{"siren-1.unlock=on"}) {
			t.Fatalf("writes after retry = %v", got)
		}
		if err := e.Ack("g1/gate.forced_open/1", "centre", time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := out.got(); !slices.Equal(got, []string{"siren-1.unlock=on", "siren-1.unlock=off"}) {
			t.Fatalf("writes after ack = %v", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		esc := 0
		for _, ev := range rec.all() {
			if ev.Type == TypeAlarmEscalated {
				esc++
			}
		}
		if esc != 1 {
			t.Errorf("escalated events = %d, want 1: %v", esc, rec.lines())
		}
	})
}

// TestEmitMayCallBack checks that emit can feed events back into the engine
// (the gateway's fan-out does) without deadlock, and that order holds.
func TestEmitMayCallBack(t *testing.T) {
	cfg := config(dev("d1", "door", "a1"), dev("d2", "door", "b2"))
	var e *Engine
	var got []string
	n := 0
	emit := func(ev events.Event) {
		n++
		ev.ID = "ev-" + string(rune('a'+n))
		got = append(got, ev.Type+" "+string(ev.Phase))
		e.Notify(ev)
		if ev.Type == "door.forced_open" && ev.Phase == events.Raised {
			// The access controller's decision arriving through the same path.
			g := events.New("access.granted", "d2", ev.Time, events.Info, events.RouteRecord)
			g.Data = map[string]any{"entry": "rider-1"}
			e.Notify(g)
		}
	}
	var err error
	e, err = NewEngine(cfg, Options{Now: func() time.Time { return t0 }}, emit, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	play(e, cfg, []step{RD("d1", 0, open, false), RD("d2", 0), G("d1", 0.5, "rider-1"),
		RD("d1", 30, open, true), RD("d1", 31, open, false), T(40)})
	want := []string{"door.forced_open raised", "access.sharing raised", "door.forced_open cleared"}
	if !slices.Equal(got, want) {
		t.Errorf("emitted %q, want %q", got, want)
	}
	if err := e.Ack("ev-b", "centre", at(41)); err != nil {
		t.Errorf("ack by the id of the raised event: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	var devs []configs.Device
	for i := range 8 {
		devs = append(devs, dev("d"+string(rune('0'+i)), "door", ""))
	}
	cfg := config(devs...)
	e, rec := newEngine(t, cfg, Options{})
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() {
			for k := range 200 {
				e.Observe(reading(d.ID, float64(k)*0.2, open, (k/10+i)%2 == 0))
			}
		})
	}
	wg.Go(func() {
		for k := range 200 {
			e.Tick(at(float64(k) * 0.2))
			for _, a := range e.OpenAlarms() {
				_ = e.Ack(a.ID, "centre", at(float64(k)*0.2))
			}
		}
	})
	wg.Wait()
	raised := map[string]bool{}
	for _, ev := range rec.all() {
		switch ev.Phase {
		case events.Raised:
			if raised[ev.AlarmID] {
				t.Errorf("raised twice: %s", ev.AlarmID)
			}
			raised[ev.AlarmID] = true
		case events.Cleared:
			if !raised[ev.AlarmID] {
				t.Errorf("cleared before raised: %s", ev.AlarmID)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		rules map[string]configs.RuleConfig
		want  string
	}{
		{"unknown rule", map[string]configs.RuleConfig{"door.opened": {}}, `unknown rule "door.opened"`},
		{"bad severity", map[string]configs.RuleConfig{"door.held_open": {Severity: "urgent"}}, `unknown severity "urgent"`},
		{"bad route", map[string]configs.RuleConfig{"door.held_open": {Route: "army"}}, `unknown route "army"`},
		{"negative count", map[string]configs.RuleConfig{"access.probing": {Count: -1}}, `count -1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(dev("d1", "door", ""))
			cfg.Rules = tc.rules
			_, err := NewEngine(cfg, Options{}, func(events.Event) {}, quietLog())
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrConfig containing %q", err, tc.want)
			}
		})
	}
	for _, rules := range []map[string]configs.RuleConfig{
		{"alarm.escalated": {OutputDevice: "x", OutputPoint: "y"}},
		{"door.sos": {OutputDevice: "d1"}},
		{"access.granted": {Count: 3}},
		{"access.probing": {Count: maxCount + 1}},
	} {
		cfg := config(dev("d1", "door", ""))
		cfg.Rules = rules
		var logs strings.Builder
		if _, err := NewEngine(cfg, Options{}, func(events.Event) {}, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Errorf("rules %v: %v, want a warning only", rules, err)
		}
		if !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("rules %v: no warning logged: %s", rules, logs.String())
		}
	}
	bad := config(dev("x1", "turnstile", ""))
	if _, err := NewEngine(bad, Options{}, func(events.Event) {}, quietLog()); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown kind: err = %v", err)
	}
}

func TestOverrides(t *testing.T) {
	d := dev("d1", "door", "")
	d.Rules = map[string]configs.RuleConfig{"door.forced_open": {Route: "street"}}
	cfg := config(d)
	cfg.Rules = map[string]configs.RuleConfig{"door.forced_open": {Severity: "critical", Route: "community"}}
	e, rec := newEngine(t, cfg, Options{})
	play(e, cfg, []step{R(0, open, false), R(1, open, true)})
	evs := rec.all()
	if len(evs) != 1 || evs[0].Severity != events.Critical || evs[0].Route != events.RouteStreet {
		t.Errorf("events = %+v, want critical (top level) via street (device)", evs)
	}
}

func TestDeviceOnlineSeverity(t *testing.T) {
	cfg := config(dev("d1", "door", ""))
	cfg.Rules = map[string]configs.RuleConfig{"device.online": {Severity: "low", Route: "community"}}
	e, rec := newEngine(t, cfg, Options{})
	play(e, cfg, []step{Off(0), R(5)})
	evs := rec.all()
	if len(evs) != 2 || evs[0].Severity != events.Medium || evs[1].Type != "device.online" ||
		evs[1].Severity != events.Low || evs[1].Route != events.RouteCommunity || evs[1].AlarmID != evs[0].AlarmID {
		t.Errorf("events = %+v", evs)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	cfg := config(dev("d1", "door", ""), dev("e1", "elevator", ""), dev("g1", "gate", ""))
	e, _ := newEngine(t, cfg, Options{})
	rs := []drivers.Reading{
		reading("d1", 0, open, false, lock, false, exit, false, "tamper", false, "sos_button", false),
		reading("e1", 0, "floor", 3, "moving", true, "door_open", false, "in_door_zone", false, "fault_code", 0),
		reading("g1", 0, "arm_closed", true, "arm_open", false, "loop_occupied", false, "fault_code", 0),
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		r := rs[i%len(rs)]
		r.Time = at(float64(i) * 0.01)
		e.Observe(r)
		i++
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %.1f times per reading, want 0", allocs)
	}
}
