package telemetry

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// testConfig is a site with one device of each kind.
func testConfig(url string) *configs.Config {
	return &configs.Config{
		Site:    "wannan",
		Gateway: "gw-01",
		Telemetry: &configs.Telemetry{
			Influx:        configs.Influx{URL: url, Org: "jusha", Bucket: "edge"},
			Interval:      configs.Duration(50 * time.Millisecond),
			BatchSize:     100,
			FlushInterval: configs.Duration(20 * time.Millisecond),
			BufferPoints:  10000,
		},
		Devices: []configs.Device{
			{ID: "door-a1-lobby", Kind: configs.KindDoor, Location: "Block A1 lobby"},
			{ID: "lift-a1", Kind: configs.KindElevator, Location: "Block A1, car 1"},
			{ID: "gate-north", Kind: configs.KindGate, Location: "North gate"},
		},
	}
}

// newTestWriter builds a Writer with short retry waits; it logs to logs.
func newTestWriter(t testing.TB, cfg *configs.Config, logs io.Writer) *Writer {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	w, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w.retryMin, w.retryMax = 20*time.Millisecond, 200*time.Millisecond
	w.shutdownTimeout = 2 * time.Second
	return w
}

func num(typ configs.Type, v float64) drivers.Value {
	return drivers.Value{Type: typ, Num: v, Int: int64(v), Uint: uint64(v)}
}

func reading(dev, kind string, values map[string]drivers.Value) drivers.Reading {
	return drivers.Reading{
		Device: dev, Kind: kind, Time: time.Now(), Quality: drivers.Good, Online: true,
		Latency: 4 * time.Millisecond, Values: values,
	}
}

// bufferedLines returns what is buffered, without removing it.
func bufferedLines(w *Writer) []string {
	lines := w.buf.take(nil, 1<<30)
	w.buf.settle(failed)
	return lines
}

// waitFor polls cond until it holds or the deadline passes. It bounds the
// test in time; it asserts nothing about speed.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
