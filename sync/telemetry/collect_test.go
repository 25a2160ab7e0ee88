package telemetry

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

func TestCollectLines(t *testing.T) {
	w := newTestWriter(t, testConfig("http://127.0.0.1:1"), nil)
	at := time.UnixMilli(1_800_000_000_000)
	b := drivers.BoolValue

	door := func(open bool, volts float64) map[string]drivers.Value {
		return map[string]drivers.Value{
			"door_open": b(open), "battery_volts": num(configs.TypeInt16, volts),
			"credential": num(configs.TypeUint32, 4012345678), "credential_pin": num(configs.TypeUint16, 1234),
		}
	}
	for _, v := range []map[string]drivers.Value{door(false, 12.5), door(true, 12.4), door(false, 12.3), door(true, 12.2)} {
		w.Observe(reading("door-a1-lobby", "door", v))
	}
	failed := drivers.Reading{Device: "door-a1-lobby", Quality: drivers.Stale, Online: true,
		Err: errors.New("timeout"), Latency: 10 * time.Millisecond, Values: door(false, 99)}
	w.Observe(failed)

	lift := func(floor float64, moving, open bool) map[string]drivers.Value {
		return map[string]drivers.Value{
			"floor": num(configs.TypeInt16, floor), "moving": b(moving), "door_open": b(open),
			"floor_enable": {Type: configs.TypeBool, List: []drivers.Value{b(true), b(false), b(true)}},
		}
	}
	for _, v := range []map[string]drivers.Value{
		lift(1, false, true), lift(1, false, false), lift(3, true, false), lift(5, false, false),
		lift(5, false, true), lift(5, false, false), lift(2, true, false), lift(1, false, false),
		lift(1, false, true), lift(1, false, false), lift(1, false, true),
	} {
		w.Observe(reading("lift-a1", "elevator", v))
	}

	gate := func(arm bool, count float64) map[string]drivers.Value {
		return map[string]drivers.Value{"arm_open": b(arm), "vehicle_count": num(configs.TypeUint16, count),
			"firmware": {Type: configs.TypeString, Str: "v1.2"}}
	}
	for _, v := range []map[string]drivers.Value{gate(false, 65530), gate(true, 65534), gate(false, 3), gate(true, 5)} {
		w.Observe(reading("gate-north", "gate", v))
	}

	w.Observe(reading("not-configured", "door", door(true, 1)))
	for _, ev := range []events.Event{
		events.New("access.granted", "door-a1-lobby", at, events.Info, events.RouteRecord),
		events.New("access.granted", "door-a1-lobby", at, events.Info, events.RouteRecord),
		events.New("access.denied", "gate-north", at, events.Low, events.RouteRecord),
		alarm("door.forced_open", "door-a1-lobby", events.High, events.Raised),
		alarm("door.forced_open", "door-a1-lobby", events.High, events.Cleared),
		alarm("elevator.trapped", "lift-a1", events.Critical, events.Raised),
		alarm("elevator.trapped", "lift-a1", events.Critical, events.Escalated),
		alarm("gateway.outbox_pressure", "", events.Medium, events.Raised),
	} {
		w.ObserveEvent(ev)
	}

	if n := w.collect(at); n != 12 {
		t.Errorf("collect made %d lines, want 12", n)
	}
	got := bufferedLines(w)
	tags := func(dev, kind, loc string) string {
		return ",device=" + dev + ",gateway=gw-01,kind=" + kind + ",location=" + loc + ",site=wannan "
	}
	doorTags := tags("door-a1-lobby", "door", `Block\ A1\ lobby`)
	liftTags := tags("lift-a1", "elevator", `Block\ A1\,\ car\ 1`)
	gateTags := tags("gate-north", "gate", `North\ gate`)
	const ts = " 1800000000000"
	want := []string{
		"device_point" + doorTags + "battery_volts=12.2,door_open=1" + ts,
		"device_health" + doorTags + "polls=5i,failures=1i,latency_avg_ms=5.2,latency_max_ms=10,online=1i" + ts,
		"device_counters" + doorTags + "passages_granted=2i,passages_denied=0i,door_openings=2i" + ts,
		"device_point" + liftTags + "door_open=1,floor=1,floor_enable_0=1,floor_enable_1=0,floor_enable_2=1,moving=0" + ts,
		"device_health" + liftTags + "polls=11i,failures=0i,latency_avg_ms=4,latency_max_ms=4,online=1i" + ts,
		"device_counters" + liftTags + "passages_granted=0i,passages_denied=0i,door_openings=3i,lift_trips=2i,floors_served=2i" + ts,
		"device_point" + gateTags + "arm_open=1,vehicle_count=5" + ts,
		"device_health" + gateTags + "polls=4i,failures=0i,latency_avg_ms=4,latency_max_ms=4,online=1i" + ts,
		"device_counters" + gateTags + "passages_granted=0i,passages_denied=1i,gate_cycles=2i,vehicles=11i" + ts,
	}
	wantAlarms := []string{
		"alarms,device=door-a1-lobby,gateway=gw-01,kind=door,location=Block\\ A1\\ lobby,severity=high,site=wannan,type=door.forced_open count=1i" + ts,
		"alarms,device=lift-a1,gateway=gw-01,kind=elevator,location=Block\\ A1\\,\\ car\\ 1,severity=critical,site=wannan,type=elevator.trapped count=1i" + ts,
		"alarms,gateway=gw-01,severity=medium,site=wannan,type=gateway.outbox_pressure count=1i" + ts,
	}
	if len(got) != len(want)+len(wantAlarms) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want)+len(wantAlarms), strings.Join(got, "\n"))
	}
	for i, l := range want {
		if got[i] != sortFields(l) && sortFields(got[i]) != sortFields(l) {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], l)
		}
	}
	for _, a := range wantAlarms {
		found := false
		for _, g := range got[len(want):] {
			found = found || g == a
		}
		if !found {
			t.Errorf("missing alarm line %s\nin %s", a, strings.Join(got[len(want):], "\n"))
		}
	}
	if s := w.Stats(); s.Unknown != 1 {
		t.Errorf("Unknown = %d, want 1", s.Unknown)
	}

	// The next window is empty but still reports health and counters, and
	// remembers the online state.
	w.buf.abandon()
	w.collect(at.Add(10 * time.Second))
	got = bufferedLines(w)
	if len(got) != 6 {
		t.Fatalf("empty window: got %d lines, want 6:\n%s", len(got), strings.Join(got, "\n"))
	}
	if want := "device_health" + doorTags + "polls=0i,failures=0i,online=1i 1800000010000"; got[0] != want {
		t.Errorf("empty window health:\n got %s\nwant %s", got[0], want)
	}
}

// sortFields puts the fields of a line in name order, since device_point
// fields follow the order points were first seen in (a map's order).
func sortFields(line string) string {
	parts := splitUnescaped(line)
	if len(parts) != 3 {
		return line
	}
	fields := strings.Split(parts[1], ",")
	sortStrings(fields)
	return parts[0] + " " + strings.Join(fields, ",") + " " + parts[2]
}

func splitUnescaped(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == ' ' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func alarm(typ, subject string, sev events.Severity, phase events.Phase) events.Event {
	ev := events.New(typ, subject, time.Now(), sev, events.RouteCommunity)
	ev.AlarmID, ev.Phase = subject+"/"+typ+"/1", phase
	return ev
}

func TestCounterDelta(t *testing.T) {
	cases := []struct {
		name      string
		prev, cur drivers.Value
		want      int64
	}{
		{"steady", num(configs.TypeUint16, 10), num(configs.TypeUint16, 10), 0},
		{"up", num(configs.TypeUint16, 10), num(configs.TypeUint16, 13), 3},
		{"uint16 wrap", num(configs.TypeUint16, 65534), num(configs.TypeUint16, 2), 4},
		{"uint32 wrap", num(configs.TypeUint32, 1<<32-1), num(configs.TypeUint32, 0), 1},
		{"reset to zero", num(configs.TypeUint16, 500), num(configs.TypeUint16, 0), 0},
		{"reset then counted", num(configs.TypeUint16, 500), num(configs.TypeUint16, 7), 7},
		{"float counter reset", num(configs.TypeFloat32, 90), num(configs.TypeFloat32, 4), 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := counterDelta(c.prev, c.cur); got != c.want {
				t.Errorf("counterDelta(%v, %v) = %d, want %d", c.prev.Num, c.cur.Num, got, c.want)
			}
		})
	}
}

// TestObserveConcurrent runs Observe and ObserveEvent from many goroutines
// while windows close, for the race detector, and checks nothing is lost.
func TestObserveConcurrent(t *testing.T) {
	w := newTestWriter(t, testConfig("http://127.0.0.1:1"), nil)
	const workers, per = 4, 500
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range per {
				w.Observe(reading("door-a1-lobby", "door", map[string]drivers.Value{"battery_volts": num(configs.TypeInt16, float64(i*per+j))}))
				w.ObserveEvent(events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord))
			}
		}()
	}
	var polls, granted int
	at := time.UnixMilli(1_800_000_000_000)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		at = at.Add(time.Second)
		w.collect(at)
		for _, l := range bufferedLines(w) {
			polls += fieldInt(l, "device_health,device=door-a1-lobby", "polls")
			granted += fieldInt(l, "device_counters,device=door-a1-lobby", "passages_granted")
		}
		w.buf.abandon()
	}
	if polls != workers*per || granted != workers*per {
		t.Errorf("counted %d polls and %d passages, want %d each", polls, granted, workers*per)
	}
}

// fieldInt returns the integer field of a line with the given prefix, or 0.
func fieldInt(line, prefix, field string) int {
	if !strings.HasPrefix(line, prefix) {
		return 0
	}
	for _, f := range strings.Split(splitUnescaped(line)[1], ",") {
		if k, v, ok := strings.Cut(f, "="); ok && k == field {
			n := 0
			for _, c := range strings.TrimSuffix(v, "i") {
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	return 0
}
