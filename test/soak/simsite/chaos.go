package simsite

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// ChaosOptions choose what the chaos driver does.
type ChaosOptions struct {
	// Every is the pause between two actions on the site.
	Every time.Duration
	// Faults enables Modbus faults (no answer, garbage, slow, exceptions,
	// dropped and wrong frames, frozen values, disconnects).
	Faults bool
	// Timeout is the devices' request timeout: slow faults answer just
	// under and just over it.
	Timeout time.Duration
	// Riders is how many whitelisted riders hold RiderCard(0..Riders-1);
	// they may use every device (Snapshot with scope 0).
	Riders int
	// Seed makes a run repeatable.
	Seed uint64
	// Ack, when set, is called (from the driver's goroutine) for alarm ids
	// queued with QueueAck.
	Ack func(alarmID string) error
}

// Chaos drives a site with random faults, physical events and rider
// presentations; each device has at most one condition at a time, undone
// after a random hold.
type Chaos struct {
	site *Site
	o    ChaosOptions
	rnd  *rand.Rand
	acks chan string

	mu      sync.Mutex
	counts  map[string]int
	errs    []string
	pending map[*Device]pendingUndo
}

type pendingUndo struct {
	at   time.Time
	name string
	undo func() error
}

// NewChaos returns a driver for site.
func NewChaos(site *Site, o ChaosOptions) *Chaos {
	if o.Every <= 0 {
		o.Every = 50 * time.Millisecond
	}
	return &Chaos{site: site, o: o, rnd: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		acks: make(chan string, 4096), counts: map[string]int{}, pending: map[*Device]pendingUndo{}}
}

// QueueAck asks the driver to acknowledge an alarm; it never blocks (a full
// queue drops the request: that alarm is then escalated instead).
func (c *Chaos) QueueAck(alarmID string) {
	select {
	case c.acks <- alarmID:
	default:
	}
}

// Run acts until ctx ends, then undoes every open condition and fault.
func (c *Chaos) Run(ctx context.Context) {
	tick := time.NewTicker(c.o.Every)
	defer tick.Stop()
	defer c.restoreAll()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-c.acks:
			if c.o.Ack != nil {
				c.note("ack", c.o.Ack(id))
			}
		case now := <-tick.C:
			c.heal(now)
			c.act(now)
		}
	}
}

// Counts returns how many of each action were taken.
func (c *Chaos) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Summary formats Counts sorted by name.
func (c *Chaos) Summary() string {
	counts := c.Counts()
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, counts[k])
	}
	return strings.Join(parts, " ")
}

// Errors returns the errors the simulators returned to the driver.
func (c *Chaos) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}

func (c *Chaos) note(name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[name]++
	if err != nil && len(c.errs) < 50 {
		c.errs = append(c.errs, name+": "+err.Error())
	}
}

func (c *Chaos) heal(now time.Time) {
	for d, p := range c.pending {
		if now.After(p.at) {
			delete(c.pending, d)
			c.note("undo_"+p.name, p.undo())
		}
	}
}

func (c *Chaos) restoreAll() {
	for d, p := range c.pending {
		delete(c.pending, d)
		c.note("undo_"+p.name, p.undo())
	}
}

// hold records how to undo a condition on d after a random 1-5 s.
func (c *Chaos) hold(now time.Time, d *Device, name string, undo func() error) {
	c.pending[d] = pendingUndo{at: now.Add(time.Second + time.Duration(c.rnd.Int64N(int64(4*time.Second)))), name: name, undo: undo}
}

func (c *Chaos) act(now time.Time) {
	d := c.site.Devices[c.rnd.IntN(len(c.site.Devices))]
	if _, busy := c.pending[d]; busy {
		return
	}
	roll := c.rnd.IntN(100)
	switch {
	case c.o.Faults && roll < 25:
		f := c.fault()
		c.note("fault_"+f.Kind.String(), d.Sim.Fault(f))
		c.hold(now, d, "fault", func() error { return d.Sim.Fault(sim.FaultMode{}) })
	case roll < 60 && c.o.Riders > 0:
		c.note("present_known", d.Sim.Present(RiderCard(c.rnd.IntN(c.o.Riders))))
	case roll < 70:
		c.note("present_unknown", d.Sim.Present(fmt.Sprint(4_000_000_000+c.rnd.IntN(1_000_000))))
	default:
		c.physical(now, d)
	}
}

func (c *Chaos) fault() sim.FaultMode {
	to := c.o.Timeout
	if to <= 0 {
		to = 300 * time.Millisecond
	}
	modes := []sim.FaultMode{
		{Kind: sim.FaultNoAnswer},
		{Kind: sim.FaultGarbage},
		{Kind: sim.FaultSlow, Delay: to * 7 / 10},
		{Kind: sim.FaultSlow, Delay: to + to/3},
		{Kind: sim.FaultException, Exception: sim.ExDeviceFailure},
		{Kind: sim.FaultException, Exception: sim.ExIllegalDataAddress},
		{Kind: sim.FaultException, Exception: sim.ExDeviceBusy},
		{Kind: sim.FaultDrop},
		{Kind: sim.FaultWrongUnit},
		{Kind: sim.FaultWrongTransaction},
		{Kind: sim.FaultStuck},
		{Kind: sim.FaultDisconnect},
	}
	return modes[c.rnd.IntN(len(modes))]
}

// physical plays one physical event of the device's kind, undone later
// where it leaves a condition.
func (c *Chaos) physical(now time.Time, d *Device) {
	s := d.Sim
	switch d.Kind {
	case configs.KindDoor:
		switch c.rnd.IntN(4) {
		case 0, 1:
			c.note("door_force", s.Force())
			c.hold(now, d, "door_force", s.CloseDoor)
		case 2:
			c.note("door_tamper", s.Tamper())
			c.hold(now, d, "door_tamper", s.ClearTamper)
		default:
			c.note("door_exit", s.ExitRequest())
		}
	case configs.KindElevator:
		switch c.rnd.IntN(3) {
		case 0:
			c.note("lift_trap", s.Trap())
			c.hold(now, d, "lift_trap", s.Release)
		case 1:
			c.note("lift_alarm", s.PressAlarm())
		default:
			c.note("lift_call", s.Call(1+c.rnd.IntN(Floors)))
		}
	case configs.KindGate:
		switch c.rnd.IntN(3) {
		case 0:
			c.note("gate_force", s.ForceOpen())
			c.hold(now, d, "gate_force", func() error {
				if err := s.VehicleArrives(); err != nil {
					return err
				}
				return s.VehicleLeaves()
			})
		case 1:
			c.note("gate_stuck", s.StickOpen())
			c.hold(now, d, "gate_stuck", s.Unstick)
		default:
			c.note("gate_vehicle", s.VehicleArrives())
			c.hold(now, d, "gate_vehicle", s.VehicleLeaves)
		}
	}
}
