package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// Actuator writes device points; *drivers.Manager satisfies it.
type Actuator interface {
	Write(ctx context.Context, device, point string, v drivers.Value) error
	WriteBools(ctx context.Context, device, point string, bits []bool) error
}

// Points the controller reads and writes (CONTRACT section 3).
const (
	PointCredentialSeq = "credential_seq"
	PointCredential    = "credential"
	PointUnlock        = "unlock"
	PointFloorEnable   = "floor_enable"
	PointOpen          = "open"
)

// ControllerOptions configure a [Controller].
type ControllerOptions struct {
	// UnlockTime is how long a grant holds a door unlocked, a gate's open
	// output on, or a lift's floors enabled. Zero means
	// configs.DefaultUnlockTime.
	UnlockTime time.Duration
	// Emit receives every access.granted / access.denied event. Required.
	Emit func(events.Event)
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// Now is the clock for API and remote decisions; nil means time.Now.
	Now func() time.Time
	// QueueSize bounds the pending actuations per device; 0 means 64.
	QueueSize int
}

// Controller turns credential reads into decisions, actuations and events.
// Observe runs in the poll loop and never waits for a device: actuation and
// emission happen in one worker per device, started by Run.
type Controller struct {
	store   *Store
	act     Actuator
	emit    func(events.Event)
	log     *slog.Logger
	now     func() time.Time
	unlock  time.Duration
	devices map[string]*devState
	stats   controllerStats
}

// devState is one device's baseline and actuation queue.
type devState struct {
	dev      Device
	location string
	jobs     chan job

	mu      sync.Mutex // guards the baseline: Observe may run on several goroutines
	seq     float64
	haveSeq bool
	// gaps counts the polls that found credential_seq skipped reads; the
	// first and every 100th are logged. missed counts the reads skipped.
	gaps, missed atomic.Uint64
}

// job is one grant to actuate and/or one event to emit after it.
type job struct {
	grant  bool
	floors []int
	event  *events.Event
}

// NewController returns a controller for the configured devices.
func NewController(store *Store, devices []configs.Device, act Actuator, opts ControllerOptions) (*Controller, error) {
	if store == nil || act == nil || opts.Emit == nil {
		return nil, errors.New("access controller: store, actuator and emit are required")
	}
	c := &Controller{
		store: store, act: act, emit: opts.Emit, log: opts.Logger, now: opts.Now,
		unlock: opts.UnlockTime, devices: make(map[string]*devState, len(devices)),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.unlock <= 0 {
		c.unlock = configs.DefaultUnlockTime
	}
	q := opts.QueueSize
	if q <= 0 {
		q = 64
	}
	for _, d := range devices {
		switch d.Kind {
		case configs.KindDoor, configs.KindElevator, configs.KindGate:
		default:
			return nil, fmt.Errorf("access controller: device %q: unknown kind %q", d.ID, d.Kind)
		}
		if d.CredentialType != "" && !validType(d.CredentialType) {
			return nil, fmt.Errorf("access controller: device %q: unknown credential_type %q", d.ID, d.CredentialType)
		}
		if _, dup := c.devices[d.ID]; dup {
			return nil, fmt.Errorf("access controller: duplicate device %q", d.ID)
		}
		c.devices[d.ID] = &devState{dev: DeviceFrom(d), location: d.Location, jobs: make(chan job, q)}
	}
	return c, nil
}

// Observe takes every reading of every device, in order per device. When a
// device's credential_seq changes it decides at once and queues the
// actuation; the first good reading after start or after an outage only sets
// the baseline, so a stale read is not replayed.
func (c *Controller) Observe(r drivers.Reading) {
	ds := c.devices[r.Device]
	if ds == nil {
		return
	}
	ds.mu.Lock()
	if !r.Online {
		ds.haveSeq = false // the next good reading is a new baseline
		ds.mu.Unlock()
		return
	}
	if r.Quality != drivers.Good {
		ds.mu.Unlock() // a failed poll repeats old values: nothing new
		return
	}
	seqV, ok := r.Get(PointCredentialSeq)
	if !ok {
		ds.mu.Unlock()
		return
	}
	changed := ds.haveSeq && seqV.Num != ds.seq
	missed := 0
	if changed {
		missed = missedReads(ds.seq, seqV.Num)
	}
	ds.seq, ds.haveSeq = seqV.Num, true
	ds.mu.Unlock()
	if !changed {
		return
	}
	if missed > 0 {
		// Those riders saw nothing happen and present again; the
		// installer needs to know the poll is too slow for this reader.
		total := c.stats.missedReads.Add(uint64(missed))
		ds.missed.Add(uint64(missed))
		if n := ds.gaps.Add(1); n == 1 || n%100 == 0 {
			c.log.Warn("reader read credentials the gateway never saw: credential_seq advanced by more than one between two polls; poll this device faster",
				"device", ds.dev.ID, "missed", missed, "missed_total", total, "times", n)
		}
	}
	typ := ds.dev.CredentialType
	credV, ok := r.Get(PointCredential)
	if !ok || typ == "" {
		c.log.Warn("credential_seq changed but the device has no credential point or credential_type",
			"device", ds.dev.ID)
		return
	}
	d := c.store.Decide(ds.dev, typ, credV.Text(), r.Time)
	c.count(d)
	ev := decisionEvent(ds, d, typ, "reader", r.Time)
	c.enqueue(ds, job{grant: d.Granted, floors: d.Floors, event: &ev})
}

// enqueue hands a job to the device's worker without waiting. If the queue
// is full (the device hangs on writes) the event is emitted at once, marked
// not actuated, so that no decision is lost.
func (c *Controller) enqueue(ds *devState, j job) {
	select {
	case ds.jobs <- j:
	default:
		c.stats.queueFull.Add(1)
		c.log.Error("actuation queue full: decision not actuated", "device", ds.dev.ID)
		if j.event != nil {
			j.event.Data["actuated"] = false
			j.event.Data["actuation_error"] = "queue full"
			c.emit(*j.event)
		}
	}
}

// Run drives one actuation worker per device until ctx ends, then locks
// whatever it had unlocked.
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, ds := range c.devices {
		wg.Go(func() { c.work(ctx, ds) })
	}
	wg.Wait()
	return nil
}

// work actuates one device's grants in order and restores the locked state
// unlock time after the last grant, with a timer, never a sleep.
func (c *Controller) work(ctx context.Context, ds *devState) {
	relock := time.NewTimer(time.Hour)
	relock.Stop()
	defer relock.Stop()
	var enabled []bool // floors enabled now (elevators)
	unlocked := false
	lock := func(ctx context.Context) {
		if err := c.release(ctx, ds, len(enabled)); err != nil {
			c.stats.actuateFailed.Add(1)
			c.log.Error("relock failed", "device", ds.dev.ID, "err", err)
		}
		unlocked, enabled = false, nil
	}
	for {
		select {
		case <-ctx.Done():
			c.drain(ds)
			if unlocked {
				// Leave nothing unlocked on shutdown, under a short deadline.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				lock(rctx)
				cancel()
			}
			return
		case j := <-ds.jobs:
			var err error
			if j.grant {
				enabled, err = c.actuate(ctx, ds, j.floors, enabled)
				if err != nil {
					c.stats.actuateFailed.Add(1)
					c.log.Error("actuation failed", "device", ds.dev.ID, "err", err)
				}
				unlocked = true
				relock.Reset(c.unlock)
			}
			if j.event != nil {
				if j.grant {
					j.event.Data["actuated"] = err == nil
					if err != nil {
						j.event.Data["actuation_error"] = err.Error()
					}
				}
				c.emit(*j.event)
			}
		case <-relock.C:
			lock(ctx)
		}
	}
}

// drain emits the decisions still queued at shutdown, not actuated, so that
// none is lost.
func (c *Controller) drain(ds *devState) {
	for {
		select {
		case j := <-ds.jobs:
			if j.event != nil {
				if j.grant {
					j.event.Data["actuated"] = false
					j.event.Data["actuation_error"] = "shutting down"
				}
				c.emit(*j.event)
			}
		default:
			return
		}
	}
}

// actuate opens the device for a grant. For an elevator it enables the
// granted floors on top of those still enabled by an earlier grant.
func (c *Controller) actuate(ctx context.Context, ds *devState, floors []int, enabled []bool) ([]bool, error) {
	switch ds.dev.Kind {
	case configs.KindDoor:
		return nil, c.write(ctx, ds, PointUnlock, true)
	case configs.KindGate:
		return nil, c.write(ctx, ds, PointOpen, true)
	}
	bits := c.floorBits(ds, floors, enabled)
	if err := c.act.WriteBools(ctx, ds.dev.ID, PointFloorEnable, bits); err != nil {
		return bits, fmt.Errorf("device %q: write %s: %w", ds.dev.ID, PointFloorEnable, err)
	}
	return bits, nil
}

// floorBits maps floors to floor_enable coils: index = floor - lowest_floor.
func (c *Controller) floorBits(ds *devState, floors []int, enabled []bool) []bool {
	n := ds.dev.FloorCount
	if n == 0 {
		for _, f := range floors {
			n = max(n, f-ds.dev.LowestFloor+1)
		}
		n = max(n, len(enabled))
	}
	bits := make([]bool, n)
	copy(bits, enabled)
	for _, f := range floors {
		i := f - ds.dev.LowestFloor
		if i < 0 || i >= n {
			c.log.Warn("granted floor has no floor_enable coil", "device", ds.dev.ID, "floor", f)
			continue
		}
		bits[i] = true
	}
	return bits
}

// release locks the device again; n is the number of floor coils written.
func (c *Controller) release(ctx context.Context, ds *devState, n int) error {
	switch ds.dev.Kind {
	case configs.KindDoor:
		return c.write(ctx, ds, PointUnlock, false)
	case configs.KindGate:
		return c.write(ctx, ds, PointOpen, false)
	}
	if n == 0 {
		return nil
	}
	if err := c.act.WriteBools(ctx, ds.dev.ID, PointFloorEnable, make([]bool, n)); err != nil {
		return fmt.Errorf("device %q: write %s: %w", ds.dev.ID, PointFloorEnable, err)
	}
	return nil
}

func (c *Controller) write(ctx context.Context, ds *devState, point string, on bool) error {
	if err := c.act.Write(ctx, ds.dev.ID, point, drivers.BoolValue(on)); err != nil {
		return fmt.Errorf("device %q: write %s: %w", ds.dev.ID, point, err)
	}
	return nil
}

// maxSeqGap is the largest advance of credential_seq taken for reads in a
// row; a larger one is a reset or a replaced controller, not reads.
const maxSeqGap = 256

// missedReads is how many reads credential_seq skipped from prev to next
// (+1 per read, wrapping at 16 bits, as the built-in profiles define it).
func missedReads(prev, next float64) int {
	if prev < 0 || next < 0 || prev > math.MaxUint16 || next > math.MaxUint16 || prev != math.Trunc(prev) || next != math.Trunc(next) {
		return 0 // not the 16-bit counter of the built-in profiles
	}
	gap := (int(next) - int(prev) + 1<<16) % (1 << 16)
	if gap <= 1 || gap > maxSeqGap {
		return 0
	}
	return gap - 1
}
