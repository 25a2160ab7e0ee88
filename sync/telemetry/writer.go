// Package telemetry writes the gateway's time series to any InfluxDB v2 write
// API (InfluxDB 2.x/3.x, VictoriaMetrics, ...) for the platform's analysis:
// the last value of every device point per interval, device health, counters
// derived from points and events (door openings, passages, gate cycles,
// vehicles, lift trips, floors served) and raised alarms. docs/telemetry.md
// lists every measurement, field and tag.
//
// Telemetry is best effort by design and never holds up the rest of the
// gateway: Observe and ObserveEvent only update in-memory counters under a
// short lock; Run closes a window each interval, encodes it as line protocol
// into a bounded buffer that drops (and counts) its oldest points when full,
// and writes batches with gzip, retrying 5xx, 429 and network errors with
// backoff and dropping batches the server refuses with another 4xx.
// Nothing here touches the event outbox or its durability budget.
//
// A nil *Writer (telemetry not configured) is valid: its methods do nothing.
package telemetry

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// Writer aggregates readings and events per interval and writes them to an
// InfluxDB v2 API. Create it with New; run it with Run.
type Writer struct {
	log           *slog.Logger
	site, gateway string
	interval      time.Duration
	batchSize     int
	flushInterval time.Duration

	// Retry backoff and the shutdown flush deadline; tests shorten them.
	retryMin, retryMax time.Duration
	shutdownTimeout    time.Duration

	store  *influxWriter
	buf    *ring
	notify chan struct{} // wakes the sender when a window was collected

	mu          sync.Mutex // guards the windows, alarms and unknown
	devices     map[string]*device
	list        []*device // devices in config order
	alarms      map[alarmKey]int64
	spareAlarms map[alarmKey]int64
	unknown     uint64 // readings and events about devices not configured

	// owned by the collector (Run's goroutine)
	enc         []byte
	lineScratch []string
	lastStamp   time.Time // of the last window closed

	errMu       sync.Mutex
	writeErrors uint64
	lastErr     string
	lastErrAt   time.Time
}

// Defaults for settings left zero in the config.
const (
	defaultRetryMin        = time.Second
	defaultRetryMax        = 30 * time.Second
	defaultShutdownTimeout = 5 * time.Second
)

// New returns a Writer for cfg.Telemetry, or nil and no error when the
// config has no telemetry section, so that telemetry off costs nothing.
// The token is read from telemetry.influx.token_file; an empty token_file
// means no token, a missing, unreadable or empty file is an error.
func New(cfg *configs.Config, log *slog.Logger) (*Writer, error) {
	if cfg == nil || cfg.Telemetry == nil {
		return nil, nil
	}
	t := cfg.Telemetry
	if err := validate(t); err != nil {
		return nil, err
	}
	token, err := readToken(t.Influx.TokenFile)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		log:             log.With("component", "telemetry"),
		site:            cfg.Site,
		gateway:         cfg.Gateway,
		interval:        orDefault(t.Interval.D(), configs.DefaultTelemetryInt),
		batchSize:       t.BatchSize,
		flushInterval:   orDefault(t.FlushInterval.D(), configs.DefaultFlushInterval),
		retryMin:        defaultRetryMin,
		retryMax:        defaultRetryMax,
		shutdownTimeout: defaultShutdownTimeout,
		notify:          make(chan struct{}, 1),
		devices:         make(map[string]*device, len(cfg.Devices)),
		alarms:          map[alarmKey]int64{},
		spareAlarms:     map[alarmKey]int64{},
	}
	if w.batchSize <= 0 {
		w.batchSize = configs.DefaultBatchSize
	}
	size := t.BufferPoints
	if size <= 0 {
		size = configs.DefaultBufferPoints
	}
	w.batchSize = min(w.batchSize, size)
	w.buf = newRing(size)
	for _, d := range cfg.Devices {
		if _, dup := w.devices[d.ID]; dup {
			return nil, fmt.Errorf("telemetry: device %q configured twice", d.ID)
		}
		dev := newDevice(cfg.Site, cfg.Gateway, d)
		w.devices[d.ID] = dev
		w.list = append(w.list, dev)
	}
	w.store = newInfluxWriter(t.Influx.URL, token, t.Influx.Org, t.Influx.Bucket)
	return w, nil
}

func validate(t *configs.Telemetry) error {
	u, err := url.Parse(t.Influx.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("telemetry.influx.url %q: want http://host:port or https://host:port", t.Influx.URL)
	}
	if t.Influx.Org == "" {
		return fmt.Errorf("telemetry.influx.org is required")
	}
	if t.Influx.Bucket == "" {
		return fmt.Errorf("telemetry.influx.bucket is required")
	}
	if t.BatchSize < 0 || t.BufferPoints < 0 {
		return fmt.Errorf("telemetry: batch_size and buffer_points must not be negative")
	}
	return nil
}

// readToken reads the API token; the file must be private to its owner.
func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("telemetry.influx.token_file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("telemetry.influx.token_file %s: readable by group or others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("telemetry.influx.token_file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("telemetry.influx.token_file %s: empty", path)
	}
	return token, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Observe folds one poll of one device into the current interval. It never
// blocks for long and is safe to call from any goroutine; a nil Writer
// ignores it.
func (w *Writer) Observe(r drivers.Reading) {
	if w == nil {
		return
	}
	w.mu.Lock()
	d := w.devices[r.Device]
	if d == nil {
		w.unknown++
		first := w.unknown == 1
		w.mu.Unlock()
		if first {
			w.log.Warn("telemetry: reading of a device not in the config ignored; further ones are only counted",
				"device", r.Device)
		}
		return
	}
	d.observe(r)
	w.mu.Unlock()
}

// Stats is the writer's state for the status page and /metrics.
type Stats struct {
	Enabled bool
	// Written is the number of points the server accepted.
	Written uint64
	// Dropped is the number of points lost because the buffer was full, or
	// still buffered when shutdown's flush deadline passed.
	Dropped uint64
	// Rejected is the number of points in batches the server refused (4xx).
	Rejected uint64
	// WriteErrors is the number of failed write attempts.
	WriteErrors uint64
	LastError   string
	LastErrorAt time.Time
	// Buffered is the number of points waiting to be written.
	Buffered int
	// Unknown counts readings and events about devices not in the config.
	Unknown uint64
}

// Stats returns the running totals. A nil Writer reports Enabled false.
func (w *Writer) Stats() Stats {
	if w == nil {
		return Stats{}
	}
	s := Stats{Enabled: true}
	s.Written, s.Dropped, s.Rejected, s.Buffered = w.buf.counts()
	w.errMu.Lock()
	s.WriteErrors, s.LastError, s.LastErrorAt = w.writeErrors, w.lastErr, w.lastErrAt
	w.errMu.Unlock()
	w.mu.Lock()
	s.Unknown = w.unknown
	w.mu.Unlock()
	return s
}
