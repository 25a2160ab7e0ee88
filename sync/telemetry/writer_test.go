package telemetry

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

func TestNewConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.token", "tok\n", 0o600)
	open := write("open.token", "tok\n", 0o644)
	empty := write("empty.token", " \n", 0o600)
	cases := []struct {
		name    string
		mutate  func(*configs.Telemetry)
		wantErr string
	}{
		{"no token file", func(*configs.Telemetry) {}, ""},
		{"token file", func(c *configs.Telemetry) { c.Influx.TokenFile = good }, ""},
		{"missing token file", func(c *configs.Telemetry) { c.Influx.TokenFile = filepath.Join(dir, "nope") }, "no such file"},
		{"token file readable by others", func(c *configs.Telemetry) { c.Influx.TokenFile = open }, "readable by group or others"},
		{"empty token file", func(c *configs.Telemetry) { c.Influx.TokenFile = empty }, "empty"},
		{"bad url", func(c *configs.Telemetry) { c.Influx.URL = "127.0.0.1:8086" }, "telemetry.influx.url"},
		{"no bucket", func(c *configs.Telemetry) { c.Influx.Bucket = "" }, "bucket is required"},
		{"no org", func(c *configs.Telemetry) { c.Influx.Org = "" }, "org is required"},
		{"negative buffer", func(c *configs.Telemetry) { c.BufferPoints = -1 }, "must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:8086")
			c.mutate(cfg.Telemetry)
			w, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if c.wantErr == "" {
				if err != nil || w == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("New error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:8086")
	cfg.Telemetry.Interval, cfg.Telemetry.FlushInterval = 0, 0
	cfg.Telemetry.BatchSize, cfg.Telemetry.BufferPoints = 0, 0
	w, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if w.interval != configs.DefaultTelemetryInt || w.flushInterval != configs.DefaultFlushInterval ||
		w.batchSize != configs.DefaultBatchSize || len(w.buf.lines) != configs.DefaultBufferPoints {
		t.Errorf("defaults: interval %v flush %v batch %d buffer %d", w.interval, w.flushInterval, w.batchSize, len(w.buf.lines))
	}
}

// TestOff: without a telemetry section New returns nil, and a nil Writer is
// safe to use everywhere the gateway calls it.
func TestOff(t *testing.T) {
	cfg := testConfig("")
	cfg.Telemetry = nil
	w, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || w != nil {
		t.Fatalf("New = %v, %v; want nil, nil", w, err)
	}
	w.Observe(drivers.Reading{Device: "door-a1-lobby"})
	w.ObserveEvent(events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord))
	if s := w.Stats(); s.Enabled {
		t.Errorf("nil Stats %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Errorf("nil Run: %v", err)
	}
}

func TestNextBoundary(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 7, 300, time.UTC)
	cases := []struct {
		interval time.Duration
		want     time.Time
	}{
		{10 * time.Second, time.Date(2026, 11, 27, 10, 0, 10, 0, time.UTC)},
		{time.Minute, time.Date(2026, 11, 27, 10, 1, 0, 0, time.UTC)},
		{50 * time.Millisecond, time.Date(2026, 11, 27, 10, 0, 7, 50_000_000, time.UTC)},
	}
	for _, c := range cases {
		if got := nextBoundary(at, c.interval); !got.Equal(c.want) {
			t.Errorf("nextBoundary(%v) = %v, want %v", c.interval, got, c.want)
		}
	}
}
