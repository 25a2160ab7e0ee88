package rules

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// benchSite builds 200 devices (doors, elevators, gates in turn) with every
// rule on, and two readings per device that, alternating every 4s, exercise
// the detectors (openings, trips, the loop) without raising alarms.
func benchSite(b *testing.B) (*Engine, [][2]drivers.Reading) {
	b.Helper()
	var devs []configs.Device
	var rs [][2]drivers.Reading
	for i := range 200 {
		id := fmt.Sprintf("dev-%03d", i)
		zone := fmt.Sprintf("z%d", i%4)
		switch i % 3 {
		case 0:
			devs = append(devs, dev(id, "door", zone))
			rs = append(rs, [2]drivers.Reading{
				reading(id, 0, open, true, lock, true, exit, false, "tamper", false, "sos_button", false),
				reading(id, 0, open, false, lock, false, exit, false, "tamper", false, "sos_button", false),
			})
		case 1:
			devs = append(devs, dev(id, "elevator", zone))
			base := []any{"floor", 3, "fault_code", 0, "alarm_button", false, "inspection", false, "occupied", false}
			rs = append(rs, [2]drivers.Reading{
				reading(id, 0, append([]any{"moving", true, "door_open", false, "in_door_zone", false}, base...)...),
				reading(id, 0, append([]any{"moving", false, "door_open", false, "in_door_zone", true}, base...)...),
			})
		default:
			devs = append(devs, dev(id, "gate", zone))
			rs = append(rs, [2]drivers.Reading{
				reading(id, 0, "arm_closed", true, "arm_open", false, "loop_occupied", true, "fault_code", 0, "vehicle_count", 5),
				reading(id, 0, "arm_closed", true, "arm_open", false, "loop_occupied", false, "fault_code", 0, "vehicle_count", 5),
			})
		}
	}
	e, err := NewEngine(config(devs...), Options{Now: func() time.Time { return t0 }},
		func(events.Event) {}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return e, rs
}

// BenchmarkObserve measures readings evaluated per second: 200 devices
// polled every 200ms, one reading per millisecond of simulated time.
func BenchmarkObserve(b *testing.B) {
	e, rs := benchSite(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dev := i % len(rs)
		r := &rs[dev][(i/len(rs)/20)%2] // each device changes every 20 polls (4s)
		r.Time = t0.Add(time.Duration(i) * time.Millisecond)
		e.Observe(*r)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
	if n := len(e.OpenAlarms()); n != 0 {
		b.Fatalf("the steady path raised %d alarms: %+v", n, e.OpenAlarms()[0])
	}
}

// BenchmarkTick measures one tick over the 200 devices.
func BenchmarkTick(b *testing.B) {
	e, rs := benchSite(b)
	for d := range rs {
		r := rs[d][1]
		r.Time = t0
		e.Observe(r)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Tick(t0.Add(time.Duration(i) * 200 * time.Millisecond))
		i++
	}
}
