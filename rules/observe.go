package rules

import (
	"time"

	"github.com/jusha-ean/edge/drivers"
)

// Observe evaluates one reading. Readings of one device must come in order.
func (e *Engine) Observe(r drivers.Reading) {
	t := r.Time
	if t.IsZero() {
		t = e.now()
	}
	e.mu.Lock()
	d := e.devices[r.Device]
	if d == nil {
		if !e.unknown[r.Device] {
			e.unknown[r.Device] = true
			e.log.Warn("reading from a device not in the config; ignored", "device", r.Device)
		}
		e.mu.Unlock()
		return
	}
	e.observeOnline(d, r, t)
	if d.online && r.Quality == drivers.Good {
		switch {
		case d.door != nil:
			d.door.observe(d, &r, t)
		case d.elev != nil:
			d.elev.observe(&r, t)
		case d.gate != nil:
			d.gate.observe(d, &r, t)
		}
		e.evalDevice(d, t)
	}
	e.unlockAndFlush()
}

// observeOnline turns changes of r.Online into device.offline and
// device.online. The first reading only sets the state, unless it
// contradicts a restored one. Called with e.mu held.
func (e *Engine) observeOnline(d *device, r drivers.Reading, t time.Time) {
	if d.known && r.Online == d.online {
		return
	}
	d.known = true
	if r.Online == d.online {
		return
	}
	d.online = r.Online
	if !r.Online {
		d.resetVisibility()
		if d.offline.alarm == nil && !d.offline.p.disabled {
			data := map[string]any{}
			if r.Err != nil {
				data["error"] = r.Err.Error()
			}
			e.raise(d, &d.offline, t, data)
		}
		return
	}
	if d.offline.alarm != nil {
		e.clearSlot(&d.offline, t, TypeDeviceOnline, nil)
	}
}

// resetVisibility forgets the last seen inputs of d: what happened while it
// was offline is unknown, so the first reading back only sets the state.
func (d *device) resetVisibility() {
	switch {
	case d.door != nil:
		d.door.seen = false
	case d.elev != nil:
		d.elev.seen = false
	case d.gate != nil:
		d.gate.seen = false
	}
}

// evalDevice steps every rule of d at t. Called with e.mu held.
func (e *Engine) evalDevice(d *device, t time.Time) {
	switch {
	case d.door != nil:
		d.door.eval(e, d, t)
	case d.elev != nil:
		d.elev.eval(e, d, t)
	case d.gate != nil:
		d.gate.eval(e, d, t)
	}
	e.evalAccess(d, t)
}

// apply carries out a slot's action with data built only when raising.
func (e *Engine) apply(d *device, s *slot, act action, t time.Time, data func() map[string]any) {
	switch act {
	case raise:
		var m map[string]any
		if data != nil {
			m = data()
		}
		e.raise(d, s, t, m)
	case clear:
		e.clearSlot(s, t, s.typ, nil)
	}
}

// Tick evaluates the time-based conditions at now (held open, trapped,
// hold-downs, ack timeouts) without a new reading.
func (e *Engine) Tick(now time.Time) {
	e.mu.Lock()
	for _, d := range e.order {
		if d.online && d.known {
			e.evalDevice(d, now)
		} else {
			// Access rules follow the decisions, not the device's points,
			// so they run on while its controller is unseen.
			e.evalAccess(d, now)
		}
	}
	e.escalate(now)
	if now.Sub(e.lastPrune) >= time.Second {
		e.pruneEntries(now)
		e.pruneAlarms(now)
		e.lastPrune = now
	}
	if e.saveRetry {
		e.saveRetry, e.dirty = false, true
	}
	e.unlockAndFlush()
}
