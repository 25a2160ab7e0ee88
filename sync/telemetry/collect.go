package telemetry

import (
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// Measurement names, documented in docs/telemetry.md.
const (
	MeasurementPoint    = "device_point"
	MeasurementHealth   = "device_health"
	MeasurementCounters = "device_counters"
	MeasurementAlarms   = "alarms"
)

// alarmKey groups raised alarms in a window.
type alarmKey struct{ subject, typ, severity string }

// ObserveEvent counts access decisions and raised alarms. It never blocks
// for long and is safe to call from any goroutine; a nil Writer ignores it.
func (w *Writer) ObserveEvent(ev events.Event) {
	if w == nil {
		return
	}
	first := false
	w.mu.Lock()
	switch {
	case ev.Type == "access.granted" || ev.Type == "access.denied":
		d := w.devices[ev.Subject]
		if d == nil {
			w.unknown++
			first = w.unknown == 1
			break
		}
		if ev.Type == "access.granted" {
			d.win.granted++
		} else {
			d.win.denied++
		}
	case ev.Phase == events.Raised:
		w.alarms[alarmKey{ev.Subject, ev.Type, string(ev.Severity)}]++
	}
	w.mu.Unlock()
	if first {
		w.log.Warn("telemetry: access event about a device not in the config ignored; further ones are only counted",
			"device", ev.Subject, "type", ev.Type)
	}
}

// collect closes the window ending at now: it swaps every device's window
// for an empty one under the lock, then encodes the closed windows outside
// it and pushes the lines to the buffer. It returns how many lines it made.
func (w *Writer) collect(now time.Time) int {
	w.lastStamp = now
	w.mu.Lock()
	for _, d := range w.list {
		d.win, d.spare = d.spare, d.win
	}
	alarms := w.alarms
	w.alarms, w.spareAlarms = w.spareAlarms, nil
	if w.alarms == nil {
		w.alarms = map[alarmKey]int64{}
	}
	online := make([]bool, len(w.list))
	for i, d := range w.list {
		online[i] = d.online
	}
	w.mu.Unlock()

	lines := w.lineScratch[:0]
	for i, d := range w.list {
		win := d.spare
		lines = w.appendDevice(lines, d, win, online[i], now)
		win.reset()
	}
	for k, n := range alarms {
		lines = append(lines, w.alarmLine(k, n, now))
	}
	clear(alarms)
	w.mu.Lock()
	w.spareAlarms = alarms
	w.mu.Unlock()
	w.buf.push(lines...)
	clear(lines)
	w.lineScratch = lines[:0]
	return len(lines)
}

// appendDevice encodes one device's window as its device_point,
// device_health and device_counters lines.
func (w *Writer) appendDevice(lines []string, d *device, win *window, online bool, now time.Time) []string {
	if f := w.pointFields(d, win, now); f != nil {
		lines = append(lines, string(f))
	}

	b := append(w.enc[:0], MeasurementHealth...)
	b = append(b, d.tags...)
	b = append(b, ' ')
	f := fieldWriter{b: b}
	f.int("polls", win.polls)
	f.int("failures", win.failures)
	if win.polls > 0 {
		f.float("latency_avg_ms", ms(win.latSum)/float64(win.polls))
		f.float("latency_max_ms", ms(win.latMax))
	}
	f.int("online", boolInt(online))
	lines = append(lines, string(appendTimestamp(f.b, now)))

	b = append(f.b[:0], MeasurementCounters...)
	b = append(b, d.tags...)
	b = append(b, ' ')
	f = fieldWriter{b: b}
	f.int("passages_granted", win.granted)
	f.int("passages_denied", win.denied)
	switch d.kind {
	case configs.KindDoor:
		f.int("door_openings", win.doorOpenings)
	case configs.KindElevator:
		f.int("door_openings", win.doorOpenings)
		f.int("lift_trips", win.liftTrips)
		f.int("floors_served", int64(len(win.floors)))
	case configs.KindGate:
		f.int("gate_cycles", win.gateCycles)
		f.int("vehicles", win.vehicles)
	}
	lines = append(lines, string(appendTimestamp(f.b, now)))
	w.enc = f.b
	return lines
}

// pointFields encodes the device_point line, or returns nil when the device
// gave no good values in the window.
func (w *Writer) pointFields(d *device, win *window, now time.Time) []byte {
	b := append(w.enc[:0], MeasurementPoint...)
	b = append(b, d.tags...)
	b = append(b, ' ')
	f := fieldWriter{b: b}
	for _, name := range win.order {
		p := win.values[name]
		if !p.set {
			continue
		}
		if len(p.list) == 0 {
			f.float(name, p.num)
			continue
		}
		for i, v := range p.list {
			f.floatIndexed(name, i, v)
		}
	}
	w.enc = f.b
	if f.n == 0 {
		return nil
	}
	return appendTimestamp(f.b, now)
}

// alarmLine encodes one alarms line: raised alarms of one type and
// severity at one device (or gateway-wide subject) in the window.
func (w *Writer) alarmLine(k alarmKey, n int64, now time.Time) string {
	tags := []tag{
		{"site", w.site}, {"gateway", w.gateway}, {"device", k.subject},
		{"type", k.typ}, {"severity", k.severity},
	}
	if d := w.devices[k.subject]; d != nil {
		tags = append(tags, tag{"kind", d.kind}, tag{"location", d.location})
	}
	b := appendTags(append(w.enc[:0], MeasurementAlarms...), tags)
	b = append(b, ' ')
	f := fieldWriter{b: b}
	f.int("count", n)
	w.enc = appendTimestamp(f.b, now)
	return string(w.enc)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
