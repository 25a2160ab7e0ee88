package rules

import (
	"time"

	"github.com/jusha-ean/edge/drivers"
)

// elevDet watches one elevator controller. Every elevator rule is off while
// the inspection switch is on (a technician is working on the car).
type elevDet struct {
	trapped, openMoving, outside, fault, alarmBtn, cycling slot

	seen        bool
	floor       float64
	moving      bool
	doorOpen    bool
	inZone      bool
	alarm       bool
	inspection  bool
	occupied    bool
	faultCode   float64
	prevDoor    bool
	stopped     bool // stopped with the door closed
	stopStart   time.Time
	outsideFrom time.Time // stopped outside the door zone since
	passenger   bool      // alarm pressed during this stop
	cycles      ring
	cycleFloor  float64
}

func newElevDet(mk func(string) slot) *elevDet {
	x := &elevDet{
		trapped: mk(TypeElevatorTrapped), openMoving: mk(TypeElevatorDoorMoving),
		outside: mk(TypeElevatorOutsideZone), fault: mk(TypeElevatorFault),
		alarmBtn: mk(TypeElevatorAlarmButton), cycling: mk(TypeElevatorDoorCycling),
	}
	x.cycles = newRing(x.cycling.p.count)
	return x
}

func (x *elevDet) observe(r *drivers.Reading, t time.Time) {
	x.floor = num(r, "floor")
	x.moving, _ = point(r, "moving")
	x.doorOpen, _ = point(r, "door_open")
	x.inZone, _ = point(r, "in_door_zone")
	x.alarm, _ = point(r, "alarm_button")
	x.inspection, _ = point(r, "inspection")
	x.occupied, _ = point(r, "occupied")
	x.faultCode = num(r, "fault_code")

	stopped := !x.moving && !x.doorOpen && !x.inspection
	switch {
	case !stopped:
		x.stopped, x.passenger, x.outsideFrom = false, false, time.Time{}
	case !x.stopped:
		x.stopped, x.stopStart, x.passenger = true, t, false
		x.outsideFrom = time.Time{}
	}
	if x.stopped && !x.inZone && x.outsideFrom.IsZero() {
		x.outsideFrom = t
	}
	if x.inZone {
		x.outsideFrom = time.Time{}
	}
	if x.stopped && x.alarm {
		x.passenger = true
	}

	// Door cycling: door openings at one floor with no trip in between.
	if x.moving || x.inspection || x.floor != x.cycleFloor {
		x.cycles.reset()
		x.cycleFloor = x.floor
	}
	if x.seen && x.doorOpen && !x.prevDoor && !x.moving {
		x.cycles.push(t)
	}
	x.prevDoor = x.doorOpen
	x.seen = true
}

func (x *elevDet) eval(e *Engine, d *device, t time.Time) {
	on := !x.inspection
	passenger := x.passenger || x.occupied || x.alarm
	outside := on && x.stopped && !x.inZone && !x.outsideFrom.IsZero()
	outsideFor := t.Sub(x.outsideFrom)
	atFloor := on && x.stopped && x.inZone
	stoppedFor := t.Sub(x.stopStart)

	trapped := passenger && ((outside && outsideFor >= x.trapped.p.after) ||
		(atFloor && stoppedFor >= x.trapped.p.afterAtFloor))
	if a := x.trapped.step(trapped, t, 0); a != none {
		e.apply(d, &x.trapped, a, t, func() map[string]any {
			return map[string]any{"floor": x.floor, "in_door_zone": x.inZone,
				"stopped_for_s": seconds(stoppedFor), "alarm_button": x.passenger || x.alarm, "occupied": x.occupied}
		})
	}
	stuck := outside && !passenger && outsideFor >= x.outside.p.after
	if a := x.outside.step(stuck, t, 0); a != none {
		e.apply(d, &x.outside, a, t, func() map[string]any {
			return map[string]any{"floor": x.floor, "stopped_for_s": seconds(outsideFor)}
		})
	}
	if a := x.openMoving.step(on && x.doorOpen && x.moving, t, x.openMoving.p.after); a != none {
		e.apply(d, &x.openMoving, a, t, func() map[string]any {
			return map[string]any{"floor": x.floor}
		})
	}
	if a := x.fault.step(on && x.faultCode != 0, t, x.fault.p.after); a != none {
		e.apply(d, &x.fault, a, t, func() map[string]any {
			return map[string]any{"fault_code": x.faultCode, "floor": x.floor}
		})
	}
	if a := x.alarmBtn.step(on && x.alarm, t, x.alarmBtn.p.after); a != none {
		e.apply(d, &x.alarmBtn, a, t, func() map[string]any {
			return map[string]any{"floor": x.floor}
		})
	}
	cycling := on && x.cycles.full(t, x.cycling.p.window)
	if a := x.cycling.step(cycling, t, x.cycling.p.after); a != none {
		e.apply(d, &x.cycling, a, t, func() map[string]any {
			return map[string]any{"floor": x.floor, "cycles": x.cycling.p.count, "window_s": seconds(x.cycling.p.window)}
		})
	}
}

// slot returns the elevator rule of type typ, or nil.
func (x *elevDet) slot(typ string) *slot {
	switch typ {
	case TypeElevatorTrapped:
		return &x.trapped
	case TypeElevatorDoorMoving:
		return &x.openMoving
	case TypeElevatorOutsideZone:
		return &x.outside
	case TypeElevatorFault:
		return &x.fault
	case TypeElevatorAlarmButton:
		return &x.alarmBtn
	case TypeElevatorDoorCycling:
		return &x.cycling
	}
	return nil
}

// restored rebuilds the stop behind a restored trapped or stopped alarm.
func (x *elevDet) restored(a *Alarm) {
	switch a.Type {
	case TypeElevatorTrapped, TypeElevatorOutsideZone:
		from := a.RaisedAt.Add(-max(x.trapped.p.after, x.trapped.p.afterAtFloor, x.outside.p.after))
		x.stopped, x.stopStart, x.outsideFrom = true, from, from
		x.passenger = a.Type == TypeElevatorTrapped
		if in, ok := a.Data["in_door_zone"].(bool); ok && in {
			x.inZone, x.outsideFrom = true, time.Time{}
		}
		x.seen = true
	}
}
