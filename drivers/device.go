package drivers

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// DeviceStats is a device's polling record since the Manager started.
type DeviceStats struct {
	ID   string
	Kind string
	URL  string
	// Polls counts finished polls, Failures the failed ones among them.
	Polls    uint64
	Failures uint64
	// Requests counts Modbus requests, RequestErrors the failed ones
	// (timeouts, exceptions, garbled replies, wrong ids).
	Requests      uint64
	RequestErrors uint64
	// DecodeErrors counts points whose registers could not be decoded.
	DecodeErrors uint64
	LastPoll     time.Time // when the last poll finished
	LastLatency  time.Duration
	AvgLatency   time.Duration // over successful polls
	MaxLatency   time.Duration
	Online       bool
	LastError    string // empty after a successful poll
}

// device is one configured device and its polling state. Only its link's
// goroutine touches the fields above mu; Stats reads stats under mu.
type device struct {
	id, kind string
	unit     uint8
	points   []configs.Point
	byName   map[string]int
	blocks   []block
	log      *slog.Logger

	poll, timeout, maxBackoff time.Duration
	retries, offlineAfter     int

	due     time.Time // next request is due
	started time.Time // current poll's first request
	next    int       // index of the next block of the current poll
	attempt int       // failed tries of the current block
	scratch []Value   // values of the current poll, by point index
	have    []bool    // which of scratch were read in the current poll
	// last holds the last good values. Readings share it: it is never
	// modified once handed out, only replaced. lastVals and lastHave are
	// the same values by point index, for a cheap comparison.
	last     map[string]Value
	lastVals []Value
	lastHave []bool
	lastAt   time.Time
	fails    int // consecutive failed polls

	mu    sync.Mutex
	stats DeviceStats
	okSum time.Duration
	okN   int64
}

// newDevice checks a device's config and plans its requests.
func newDevice(d configs.Device, log *slog.Logger) (*device, error) {
	if d.Resolved == nil {
		return nil, fmt.Errorf("device %q: profile %q not loaded", d.ID, d.Profile)
	}
	if d.Modbus.UnitID < 0 || d.Modbus.UnitID > 255 {
		return nil, fmt.Errorf("device %q: unit_id %d: want 0-255", d.ID, d.Modbus.UnitID)
	}
	dev := &device{
		id: d.ID, kind: d.Kind, unit: uint8(d.Modbus.UnitID),
		points: d.Resolved.Points, byName: make(map[string]int, len(d.Resolved.Points)),
		log:          log.With("device", d.ID),
		poll:         orDefault(d.Poll.D(), configs.DefaultPoll),
		timeout:      orDefault(d.Modbus.Timeout.D(), configs.DefaultTimeout),
		maxBackoff:   orDefault(d.Modbus.MaxBackoff.D(), configs.DefaultMaxBackoff),
		retries:      configs.DefaultRetries,
		offlineAfter: configs.DefaultOfflineAfter,
	}
	if d.Modbus.Retries != nil {
		dev.retries = max(0, *d.Modbus.Retries)
	}
	if d.Modbus.OfflineAfter > 0 {
		dev.offlineAfter = d.Modbus.OfflineAfter
	}
	gap := configs.DefaultMaxGap
	if d.Modbus.MaxGap != nil {
		gap = max(0, *d.Modbus.MaxGap)
	}
	idx := make([]int, len(dev.points))
	for i, p := range dev.points {
		if err := CheckPoint(p); err != nil {
			return nil, fmt.Errorf("device %q: %w", d.ID, err)
		}
		if _, dup := dev.byName[p.Name]; dup {
			return nil, fmt.Errorf("device %q: point %q defined twice", d.ID, p.Name)
		}
		dev.byName[p.Name] = i
		idx[i] = i
	}
	dev.blocks = planBlocks(dev.points, idx, gap)
	n := len(dev.points)
	dev.scratch, dev.have = make([]Value, n), make([]bool, n)
	dev.lastVals, dev.lastHave = make([]Value, n), make([]bool, n)
	dev.stats = DeviceStats{ID: d.ID, Kind: d.Kind, URL: d.Modbus.URL, Online: true}
	return dev, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// online is the driver's view: fewer than offlineAfter polls failed in a row.
func (d *device) online() bool { return d.fails < d.offlineAfter }

// backoff is the wait before the next poll after fails polls failed in a
// row: the poll interval doubled per failure, capped at maxBackoff, with
// jitter in [50%, 100%] of it (r in [0, 1)) so devices do not retry in step.
func backoff(fails int, poll, maxBackoff time.Duration, r float64) time.Duration {
	d := poll
	for i := 0; i < fails && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + time.Duration(r*float64(d/2))
}

func (d *device) countRequest(err error) {
	d.mu.Lock()
	d.stats.Requests++
	if err != nil {
		d.stats.RequestErrors++
	}
	d.mu.Unlock()
}

func (d *device) countPoll(at time.Time, latency time.Duration, err error, decodeErrs int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.stats
	s.Polls++
	s.LastPoll, s.LastLatency = at, latency
	s.DecodeErrors += uint64(decodeErrs)
	s.Online = d.online()
	if err != nil {
		s.Failures++
		s.LastError = err.Error()
		return
	}
	s.LastError = ""
	d.okSum += latency
	d.okN++
	s.AvgLatency = d.okSum / time.Duration(d.okN)
	s.MaxLatency = max(s.MaxLatency, latency)
}

func (d *device) snapshot() DeviceStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}
