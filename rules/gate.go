package rules

import (
	"time"

	"github.com/jusha-ean/edge/drivers"
)

// gateDet watches one barrier gate: arm_open (fully up), arm_closed (fully
// down), loop_occupied (the vehicle loop under the arm), fault_code and the
// optional vehicle_count.
type gateDet struct {
	stuck, forced, tailgate, fault slot

	seen      bool
	armOpen   bool
	armClosed bool
	loop      bool
	faultCode float64
	hasCount  bool
	count     float64

	ep            episode // the arm away from the closed position
	pendingGrants int     // grants since the arm last closed
	grants        int     // grants covering this episode
	vehicles      int     // vehicles seen on the loop in this episode
	countStart    float64
}

func newGateDet(mk func(string) slot) *gateDet {
	return &gateDet{stuck: mk(TypeGateStuckOpen), forced: mk(TypeGateForcedOpen),
		tailgate: mk(TypeGateTailgating), fault: mk(TypeGateFault)}
}

// debounce is how long the arm must stay down to end an opening: the
// clear_after of gate.forced_open.
func (x *gateDet) debounce() time.Duration { return x.forced.p.clearAfter }

// granted counts a grant or an open command at t.
func (x *gateDet) granted() {
	if x.ep.active {
		x.grants++
		return
	}
	x.pendingGrants++
}

func (x *gateDet) observe(d *device, r *drivers.Reading, t time.Time) {
	x.armOpen, _ = point(r, "arm_open")
	x.armClosed, _ = point(r, "arm_closed")
	loop, _ := point(r, "loop_occupied")
	x.faultCode = num(r, "fault_code")
	var cv drivers.Value
	cv, x.hasCount = r.Values["vehicle_count"]
	x.count = cv.Num

	if x.ep.update(!x.armClosed, t, x.debounce()) {
		// An arm already up when first seen cannot be judged: authorized.
		x.ep.authorized = !x.seen || d.grantInForce(t)
		x.grants = 0
		if x.ep.authorized {
			x.grants = max(x.pendingGrants, 1)
		}
		x.pendingGrants = 0
		x.vehicles = 0
		if loop {
			x.vehicles = 1
		}
		x.countStart = x.count
	} else if x.ep.active && loop && !x.loop {
		x.vehicles++
	}
	if x.ep.active && x.hasCount && int(x.count-x.countStart) > x.vehicles {
		x.vehicles = int(x.count - x.countStart)
	}
	if !x.ep.active && !d.grantInForce(t) {
		x.pendingGrants = 0
	}
	x.loop = loop
	x.seen = true
}

func (x *gateDet) eval(e *Engine, d *device, t time.Time) {
	x.ep.update(!x.armClosed, t, x.debounce())
	if a := x.stuck.step(x.armOpen && !x.loop, t, x.stuck.p.after); a != none {
		e.apply(d, &x.stuck, a, t, func() map[string]any {
			return map[string]any{"open_for_s": seconds(t.Sub(x.stuck.condSince))}
		})
	}
	forced := x.ep.active && !x.ep.authorized && !x.armClosed
	if a := x.forced.step(forced, t, x.forced.p.after); a != none {
		e.apply(d, &x.forced, a, t, nil)
	}
	tail := x.ep.active && x.ep.authorized && !x.armClosed && x.vehicles > x.grants
	if a := x.tailgate.step(tail, t, x.tailgate.p.after); a != none {
		e.apply(d, &x.tailgate, a, t, func() map[string]any {
			return map[string]any{"vehicles": x.vehicles, "grants": x.grants}
		})
	}
	if a := x.fault.step(x.faultCode != 0, t, x.fault.p.after); a != none {
		e.apply(d, &x.fault, a, t, func() map[string]any {
			return map[string]any{"fault_code": x.faultCode}
		})
	}
}

// slot returns the gate rule of type typ, or nil.
func (x *gateDet) slot(typ string) *slot {
	switch typ {
	case TypeGateStuckOpen:
		return &x.stuck
	case TypeGateForcedOpen:
		return &x.forced
	case TypeGateTailgating:
		return &x.tailgate
	case TypeGateFault:
		return &x.fault
	}
	return nil
}

// restored rebuilds the opening behind a restored forced or tailgating alarm.
func (x *gateDet) restored(a *Alarm) {
	switch a.Type {
	case TypeGateForcedOpen:
		x.ep = episode{active: true, start: a.RaisedAt}
		x.seen = true
	case TypeGateTailgating:
		x.ep = episode{active: true, authorized: true, start: a.RaisedAt}
		x.grants, x.vehicles, x.seen = 1, 2, true
	}
}
