package telemetry

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

// series is one line of VictoriaMetrics' /api/v1/export.
type series struct {
	Metric     map[string]string `json:"metric"`
	Values     []float64         `json:"values"`
	Timestamps []int64           `json:"timestamps"`
}

// export flushes VictoriaMetrics and returns the series matching match,
// keyed by metric name and device.
func export(t *testing.T, base, match string) map[string]series {
	t.Helper()
	resp, err := http.Get(base + "/internal/force_flush")
	if err != nil {
		t.Fatalf("force_flush: %v", err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/api/v1/export?match[]=" + url.QueryEscape(match))
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %s", resp.Status)
	}
	out := map[string]series{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var s series
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		// Export order within a series is by time already; keep it sure.
		idx := make([]int, len(s.Timestamps))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return s.Timestamps[idx[a]] < s.Timestamps[idx[b]] })
		sorted := series{Metric: s.Metric}
		for _, i := range idx {
			sorted.Values = append(sorted.Values, s.Values[i])
			sorted.Timestamps = append(sorted.Timestamps, s.Timestamps[i])
		}
		key := s.Metric["__name__"] + "/" + s.Metric["device"]
		if s.Metric["type"] != "" {
			key += "/" + s.Metric["type"]
		}
		out[key] = sorted
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("export: %v", err)
	}
	return out
}

// startSender runs the writer's send loop until the test ends.
func startSender(t *testing.T, w *Writer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.sendLoop(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// base is a window grid in the recent past, inside the store's retention.
func base() time.Time { return time.Now().Add(-time.Hour).Truncate(10 * time.Second) }

func TestVictoriaRoundTrip(t *testing.T) {
	v := testbed.StartVictoriaMetrics(t)
	w := newTestWriter(t, testConfig(v.URL), nil)
	startSender(t, w)
	t0 := base()
	b := drivers.BoolValue
	const windows = 3
	for i := range windows {
		for j := range 4 {
			w.Observe(reading("door-a1-lobby", "door", map[string]drivers.Value{
				"door_open": b(j%2 == 1), "battery_volts": num(configs.TypeInt16, 12+float64(i)+float64(j)/10),
			}))
			w.Observe(reading("lift-a1", "elevator", map[string]drivers.Value{
				"floor": num(configs.TypeInt16, float64(j+1)), "moving": b(j == 2), "door_open": b(j == 3),
			}))
		}
		w.ObserveEvent(events.New("access.granted", "door-a1-lobby", t0, events.Info, events.RouteRecord))
		w.ObserveEvent(alarm("elevator.trapped", "lift-a1", events.Critical, events.Raised))
		w.collect(t0.Add(time.Duration(i) * 10 * time.Second))
		w.wake()
	}
	// 3 devices x 3 lines (the gate has no points: 2) + 1 alarm, per window.
	const total = windows * (3 + 3 + 2 + 1)
	waitFor(t, "points written", 20*time.Second, func() bool { return w.Stats().Written == total })

	var got map[string]series
	waitFor(t, "points readable", 20*time.Second, func() bool {
		got = export(t, v.URL, `{__name__=~"device_point.*|device_health.*|device_counters.*|alarms.*"}`)
		return len(got) > 0 && len(got["device_point_battery_volts/door-a1-lobby"].Values) == windows
	})
	volts := got["device_point_battery_volts/door-a1-lobby"]
	for i := range windows {
		if want := 12.3 + float64(i); volts.Values[i] != want || volts.Timestamps[i] != t0.Add(time.Duration(i)*10*time.Second).UnixMilli() {
			t.Errorf("battery_volts[%d] = %v at %d, want %v at %d", i, volts.Values[i], volts.Timestamps[i], want, t0.Add(time.Duration(i)*10*time.Second).UnixMilli())
		}
	}
	wantLabels := map[string]string{"site": "wannan", "gateway": "gw-01", "device": "lift-a1", "kind": "elevator", "location": "Block A1, car 1"}
	for k, want := range wantLabels {
		if l := got["device_point_floor/lift-a1"].Metric[k]; l != want {
			t.Errorf("label %s = %q, want %q", k, l, want)
		}
	}
	checks := []struct {
		key  string
		want float64 // every window
	}{
		{"device_point_door_open/door-a1-lobby", 1},
		{"device_point_floor/lift-a1", 4},
		{"device_health_polls/door-a1-lobby", 4},
		{"device_health_failures/door-a1-lobby", 0},
		{"device_health_online/door-a1-lobby", 1},
		{"device_health_latency_max_ms/lift-a1", 4},
		{"device_health_polls/gate-north", 0},
		{"device_counters_passages_granted/door-a1-lobby", 1},
		{"device_counters_lift_trips/lift-a1", 1},
		{"device_counters_floors_served/lift-a1", 1},
		{"alarms_count/lift-a1/elevator.trapped", 1},
	}
	for _, c := range checks {
		s := got[c.key]
		if len(s.Values) != windows {
			t.Errorf("%s: %d samples, want %d", c.key, len(s.Values), windows)
			continue
		}
		for i, val := range s.Values {
			if val != c.want {
				t.Errorf("%s[%d] = %v, want %v", c.key, i, val, c.want)
			}
		}
	}
	// Door openings: the first window's first edge has no previous state.
	if s := got["device_counters_door_openings/door-a1-lobby"]; fmt.Sprint(s.Values) != "[2 2 2]" {
		t.Errorf("door openings %v, want [2 2 2]", s.Values)
	}
	if s := got["alarms_count/lift-a1/elevator.trapped"]; s.Metric["severity"] != "critical" {
		t.Errorf("alarm labels %v", s.Metric)
	}
	if s := w.Stats(); s.Dropped != 0 || s.Rejected != 0 || s.WriteErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRunFlushesOnShutdown runs the whole writer with a real clock and a
// 50 ms interval: every poll observed shows up in the store, including the
// last partial window flushed on shutdown.
func TestRunFlushesOnShutdown(t *testing.T) {
	v := testbed.StartVictoriaMetrics(t)
	w := newTestWriter(t, testConfig(v.URL), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	const polls = 60
	for i := range polls {
		w.Observe(reading("gate-north", "gate", map[string]drivers.Value{
			"arm_open": drivers.BoolValue(i%10 < 5), "vehicle_count": num(configs.TypeUint16, float64(i/10)),
		}))
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	s := w.Stats()
	if s.Buffered != 0 || s.Dropped != 0 || s.Written == 0 {
		t.Fatalf("after shutdown: %+v", s)
	}
	sum := func(key string) (n float64) {
		for _, x := range export(t, v.URL, `{__name__=~"device_health.*|device_counters.*"}`)[key].Values {
			n += x
		}
		return n
	}
	p, seen := 0.0, -1.0
	waitFor(t, "all polls readable", 20*time.Second, func() bool {
		p = sum("device_health_polls/gate-north")
		if p != polls && p != seen {
			s := export(t, v.URL, `{__name__="device_health_polls"}`)["device_health_polls/gate-north"]
			t.Logf("polls readable: %v of %d, windows %v at %v; writer %+v", p, polls, s.Values, s.Timestamps, w.Stats())
		}
		seen = p
		return p == polls
	})
	// Windows are stamped on the interval grid; only the last, closed at
	// shutdown, may fall between two marks.
	ts := export(t, v.URL, `{__name__="device_health_polls"}`)["device_health_polls/gate-north"].Timestamps
	for i, at := range ts {
		if at%50 != 0 && i != len(ts)-1 {
			t.Errorf("window %d stamped %d, not on the 50 ms grid", i, at)
		}
	}
	if c := sum("device_counters_gate_cycles/gate-north"); c != 5 {
		t.Errorf("gate cycles %v, want 5", c)
	}
	if n := sum("device_counters_vehicles/gate-north"); n != 5 {
		t.Errorf("vehicles %v, want 5", n)
	}
}

// TestStoreOutage takes the store away for 20 s while windows keep closing.
// With room in the buffer every point arrives after it comes back; with a
// small buffer the oldest are dropped, and the drop counter says exactly
// how many.
func TestStoreOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s outage")
	}
	cases := []struct {
		name   string
		buffer int
	}{
		{"buffered then delivered", 10000},
		{"small buffer drops oldest", 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := testbed.StartVictoriaMetrics(t)
			cfg := testConfig(v.URL)
			cfg.Devices = cfg.Devices[:1] // 3 lines per window
			cfg.Telemetry.BufferPoints, cfg.Telemetry.BatchSize = c.buffer, 6
			w := newTestWriter(t, cfg, nil)
			startSender(t, w)
			t0 := base().Add(-time.Hour)
			window := 0
			next := func() {
				w.Observe(reading("door-a1-lobby", "door", map[string]drivers.Value{"battery_volts": num(configs.TypeInt16, float64(window))}))
				w.collect(t0.Add(time.Duration(window) * 10 * time.Second))
				w.wake()
				window++
			}
			for range 5 {
				next()
			}
			waitFor(t, "points before the outage", 20*time.Second, func() bool { s := w.Stats(); return s.Written == 15 && s.Buffered == 0 })

			v.Stop()
			for stop := time.Now().Add(20 * time.Second); time.Now().Before(stop); {
				next()
				time.Sleep(500 * time.Millisecond)
			}
			during := window - 5
			s := w.Stats()
			if s.Written != 15 || s.WriteErrors == 0 {
				t.Errorf("during the outage: %+v", s)
			}
			// Dropped is checked once the store is back: points pushed out
			// of a batch in flight count only once that write has failed.
			kept := min(3*during, c.buffer)
			if s.Buffered != kept {
				t.Errorf("during the outage: %+v, want %d buffered", s, kept)
			}

			v.Restart()
			waitFor(t, "buffered points delivered", 60*time.Second, func() bool { return w.Stats().Buffered == 0 })
			s = w.Stats()
			if s.Written != uint64(15+kept) || s.Dropped != uint64(3*during-kept) || s.Rejected != 0 {
				t.Errorf("after the outage: %+v, want %d written and %d dropped", s, 15+kept, 3*during-kept)
			}
			// The store holds the windows before the outage and the newest
			// kept/3 windows of it: the oldest were the ones dropped.
			var want []float64
			for i := range window {
				if i < 5 || i >= window-kept/3 {
					want = append(want, float64(i))
				}
			}
			var got series
			waitFor(t, "points readable", 20*time.Second, func() bool {
				got = export(t, v.URL, `{__name__="device_point_battery_volts"}`)["device_point_battery_volts/door-a1-lobby"]
				return len(got.Values) >= len(want)
			})
			if fmt.Sprint(got.Values) != fmt.Sprint(want) {
				t.Errorf("stored windows %v\nwant %v", got.Values, want)
			}
		})
	}
}
