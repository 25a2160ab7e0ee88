package rules

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// StateStore keeps the engine's alarm state across restarts. Load returns
// (nil, nil) when nothing was saved yet.
type StateStore interface {
	Load() ([]byte, error)
	Save(b []byte) error
}

// Actuator drives an output point; *drivers.Manager satisfies it.
type Actuator interface {
	Write(ctx context.Context, device, point string, v drivers.Value) error
}

// Options are the engine's optional collaborators.
type Options struct {
	// Store persists alarm state; nil keeps it in memory only.
	Store StateStore
	// Now is the clock of Run and of readings without a time; default time.Now.
	Now func() time.Time
	// Output drives escalation outputs (sirens, lights); nil disables them.
	Output Actuator
	// TickEvery is Run's tick period; default 200ms.
	TickEvery time.Duration
}

// Engine turns readings and access decisions into alarms. It is safe for
// concurrent use: pollers call Observe, the uplink calls Ack, the gateway's
// event fan-out calls Notify.
type Engine struct {
	log        *slog.Logger
	emit       func(events.Event)
	now        func() time.Time
	store      StateStore
	out        Actuator
	tickEvery  time.Duration
	ackTimeout time.Duration
	escalation params
	wake       chan struct{}

	mu       sync.Mutex
	devices  map[string]*device
	order    []*device
	alarms   map[string]*Alarm
	byEvent  map[string]string
	counters map[string]uint64
	// counterFloor is where alarm numbers continue after a lost state.
	counterFloor uint64
	recent       []string
	recentNext   int
	entries      map[string]grantRec
	unknown      map[string]bool
	outputs      map[outputKey]*output
	lastPrune    time.Time
	maxShare     time.Duration

	queue     []events.Event
	spare     []events.Event
	draining  bool
	dirty     bool
	saveRetry bool
	// saveFails counts failed saves in a row and saveLogged is when the
	// last one was logged; only the draining goroutine touches them.
	saveFails  int
	saveLogged time.Time
}

// saveLogEvery bounds how often a save that keeps failing (a full disk)
// is logged: the first failure at once, then at most once a minute.
const saveLogEvery = time.Minute

// device is the per-device state, built once so Observe does not allocate.
type device struct {
	id, kind, location, zone string
	online, known            bool
	offline                  slot
	onlineP                  params
	probing                  slot
	sharing                  slot
	denials                  ring
	lastShare                time.Time
	shareData                map[string]any
	grantUntil               time.Time
	door                     *doorDet
	elev                     *elevDet
	gate                     *gateDet
}

// NewEngine builds an engine for cfg's devices and rules, restoring the
// alarm state saved in opts.Store. emit receives every event the engine
// produces, in order, never while the engine's lock is held.
func NewEngine(cfg *configs.Config, opts Options, emit func(events.Event), log *slog.Logger) (*Engine, error) {
	if cfg == nil || emit == nil || log == nil {
		return nil, fmt.Errorf("rules: NewEngine needs a config, an emit func and a logger")
	}
	warnings, err := validateRules(cfg)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn("rules config: " + w)
	}
	e := &Engine{
		log: log, emit: emit, now: opts.Now, store: opts.Store, out: opts.Output,
		tickEvery: opts.TickEvery, ackTimeout: cfg.Upstream.AckTimeout.D(),
		wake:    make(chan struct{}, 1),
		devices: make(map[string]*device, len(cfg.Devices)),
		alarms:  make(map[string]*Alarm), byEvent: make(map[string]string),
		counters: make(map[string]uint64), recent: make([]string, 1024),
		entries: make(map[string]grantRec), unknown: make(map[string]bool),
		outputs: make(map[outputKey]*output),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.tickEvery <= 0 {
		e.tickEvery = 200 * time.Millisecond
	}
	if e.ackTimeout <= 0 {
		e.ackTimeout = configs.DefaultAckTimeout
	}
	e.escalation, _ = defaultParams(TypeAlarmEscalated)
	e.escalation.merge(cfg.Rules[TypeAlarmEscalated])
	for i := range cfg.Devices {
		dc := &cfg.Devices[i]
		if _, dup := e.devices[dc.ID]; dup {
			return nil, fmt.Errorf("%w: duplicate device %q", ErrConfig, dc.ID)
		}
		d, err := e.newDevice(cfg, dc)
		if err != nil {
			return nil, err
		}
		e.devices[d.id] = d
		e.maxShare = max(e.maxShare, d.sharing.p.window)
		e.order = append(e.order, d)
	}
	if err := e.restore(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) newDevice(cfg *configs.Config, dc *configs.Device) (*device, error) {
	mk := func(typ string) slot {
		s := slot{typ: typ, p: resolve(cfg, dc, typ)}
		if !validOutput(cfg, s.p.outputDevice, s.p.outputPoint) {
			s.p.outputDevice, s.p.outputPoint = "", ""
		}
		if s.p.outputDevice != "" {
			k := outputKey{s.p.outputDevice, s.p.outputPoint}
			if e.outputs[k] == nil {
				e.outputs[k] = &output{}
			}
		}
		return s
	}
	d := &device{id: dc.ID, kind: dc.Kind, location: dc.Location, zone: dc.Zone, online: true,
		offline: mk(TypeDeviceOffline), probing: mk(TypeAccessProbing), sharing: mk(TypeAccessSharing)}
	d.onlineP = resolve(cfg, dc, TypeDeviceOnline)
	d.denials = newRing(d.probing.p.count)
	switch dc.Kind {
	case configs.KindDoor:
		d.door = newDoorDet(mk)
	case configs.KindElevator:
		d.elev = newElevDet(mk)
	case configs.KindGate:
		d.gate = newGateDet(mk)
	default:
		return nil, fmt.Errorf("%w: device %q: unknown kind %q (want door, elevator or gate)", ErrConfig, dc.ID, dc.Kind)
	}
	return d, nil
}

// enqueue adds an event for the next flush. Called with e.mu held.
func (e *Engine) enqueue(ev events.Event) {
	e.queue = append(e.queue, ev)
	e.dirty = true
}

// noteSave logs a failed save, without flooding the log while the disk
// stays full, and says when saving works again.
func (e *Engine) noteSave(err error) {
	now := time.Now()
	switch {
	case err != nil:
		e.saveFails++
		if e.saveFails == 1 || now.Sub(e.saveLogged) >= saveLogEvery {
			e.log.Error("saving alarm state failed; will retry", "err", err, "failures", e.saveFails)
			e.saveLogged = now
		}
	case e.saveFails > 0:
		e.log.Info("saving alarm state works again", "failures", e.saveFails)
		e.saveFails = 0
	}
}

// unlockAndFlush releases e.mu; if events or state changes are pending, it
// saves the state and then hands the events to emit, outside the lock. One
// goroutine drains at a time, so events leave in the order they were made,
// and an emit that calls back into the engine (Notify) cannot deadlock.
func (e *Engine) unlockAndFlush() {
	if (len(e.queue) == 0 && !e.dirty) || e.draining {
		e.mu.Unlock()
		return
	}
	e.draining = true
	for len(e.queue) > 0 || e.dirty {
		batch := e.queue
		e.queue = e.spare[:0]
		e.spare = nil
		var snap []byte
		var err error
		if e.store != nil {
			snap, err = e.snapshot(batch)
		}
		e.dirty = false
		e.mu.Unlock()
		if err == nil && e.store != nil {
			err = e.store.Save(snap)
		}
		e.noteSave(err)
		for i := range batch {
			e.emit(batch[i])
			batch[i] = events.Event{}
		}
		e.mu.Lock()
		if err != nil {
			e.saveRetry = true
		}
		if len(batch) > 0 {
			e.dirty = true // the saved state still lists them as pending
		}
		e.spare = batch[:0]
	}
	e.draining = false
	e.mu.Unlock()
}
