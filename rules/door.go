package rules

import (
	"time"

	"github.com/jusha-ean/edge/drivers"
)

// doorDet watches one door controller: door_open, lock_released,
// exit_request and the optional tamper and sos_button points.
type doorDet struct {
	forced, held, tamper, sos slot

	seen         bool
	open         bool
	lockReleased bool
	tamperOn     bool
	sosOn        bool
	exitUntil    time.Time
	ep           episode
}

func newDoorDet(mk func(string) slot) *doorDet {
	return &doorDet{
		forced: mk(TypeDoorForcedOpen), held: mk(TypeDoorHeldOpen),
		tamper: mk(TypeDoorTamper), sos: mk(TypeDoorSOS),
	}
}

// debounce is how long the door must stay closed to end an opening: the
// clear_after of door.held_open.
func (x *doorDet) debounce() time.Duration { return x.held.p.clearAfter }

func (x *doorDet) observe(d *device, r *drivers.Reading, t time.Time) {
	x.open, _ = point(r, "door_open")
	x.lockReleased, _ = point(r, "lock_released")
	x.tamperOn, _ = point(r, "tamper")
	x.sosOn, _ = point(r, "sos_button")
	exit, _ := point(r, "exit_request")
	if exit {
		x.exitUntil = t.Add(x.forced.p.window)
	}
	if x.ep.update(x.open, t, x.debounce()) {
		// An opening is authorized by a released lock, a grant or remote
		// open in force, or an exit request. A door already open when the
		// gateway first sees it (start, or back from offline) cannot be
		// judged: it is treated as authorized, so held_open still applies.
		x.ep.authorized = !x.seen || x.lockReleased || exit ||
			!t.After(x.exitUntil) || d.grantInForce(t)
	}
	x.seen = true
}

func (x *doorDet) eval(e *Engine, d *device, t time.Time) {
	x.ep.update(x.open, t, x.debounce())
	forced := x.ep.active && !x.ep.authorized && x.open
	if a := x.forced.step(forced, t, x.forced.p.after); a != none {
		e.apply(d, &x.forced, a, t, func() map[string]any {
			return map[string]any{"lock_released": x.lockReleased}
		})
	}
	held := x.ep.active && x.ep.authorized && x.open && t.Sub(x.ep.start) >= x.held.p.after
	if a := x.held.step(held, t, 0); a != none {
		e.apply(d, &x.held, a, t, func() map[string]any {
			return map[string]any{"open_for_s": seconds(t.Sub(x.ep.start)), "after_s": seconds(x.held.p.after)}
		})
	}
	if a := x.tamper.step(x.tamperOn, t, x.tamper.p.after); a != none {
		e.apply(d, &x.tamper, a, t, nil)
	}
	if a := x.sos.step(x.sosOn, t, x.sos.p.after); a != none {
		e.apply(d, &x.sos, a, t, nil)
	}
}

// slot returns the door rule of type typ, or nil.
func (x *doorDet) slot(typ string) *slot {
	switch typ {
	case TypeDoorForcedOpen:
		return &x.forced
	case TypeDoorHeldOpen:
		return &x.held
	case TypeDoorTamper:
		return &x.tamper
	case TypeDoorSOS:
		return &x.sos
	}
	return nil
}

// restored rebuilds the opening behind a restored alarm, so that it is not
// cleared and raised again just because the gateway restarted.
func (x *doorDet) restored(a *Alarm) {
	switch a.Type {
	case TypeDoorForcedOpen:
		x.ep = episode{active: true, authorized: false, start: a.RaisedAt}
		x.open, x.seen = true, true
	case TypeDoorHeldOpen:
		x.ep = episode{active: true, authorized: true, start: a.RaisedAt.Add(-x.held.p.after)}
		x.open, x.seen = true, true
	}
}
