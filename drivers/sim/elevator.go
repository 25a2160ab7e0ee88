package sim

import (
	"errors"
	"math"
	"slices"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// Lift timings: a floor's travel, the door's opening or closing, and how long
// it stays open at a stop.
const (
	liftFloorTime = 3 * time.Second
	liftDoorMove  = 1500 * time.Millisecond
	liftDwell     = 4 * time.Second
	liftPressTime = 3 * time.Second
	liftReopenGap = 500 * time.Millisecond
	// liftZone is how far from a landing (in floors) the car still counts
	// as level with it.
	liftZone = 0.05
)

// ErrFloorNotEnabled is returned by PressFloor for a floor whose
// floor_enable coil is off: the button does nothing.
var ErrFloorNotEnabled = errors.New("floor button not enabled")

type doorPhase uint8

const (
	doorClosed doorPhase = iota
	doorOpening
	doorOpenDwell
	doorClosing
	// doorShutBriefly is a door that has just closed and is about to reopen
	// (DoorCycling): closed, but the car may not leave.
	doorShutBriefly
)

// FloorWrite is one client write that touched the floor_enable coils, with
// the floors enabled after it (floor numbers, from the lowest floor up).
type FloorWrite struct {
	At     time.Time
	Floors []int
}

// elevator models a lift car answering calls with a simple collective
// control: it keeps its direction while calls lie ahead, stops at each
// called floor, and cycles its door there.
type elevator struct {
	s *Sim

	lowest, n int
	pos       float64 // floor index; fractional between floors
	dir       int     // +1 up, -1 down, 0 stopped
	lastDir   int
	calls     []bool

	door     doorPhase
	doorLeft time.Duration

	cycling      bool // the door reopens each time it closes
	contactFault bool // the door contact reads open whatever the door does

	trapped    bool
	evacuate   bool // occupied clears when the door next opens
	inspection bool
	alarmLeft  time.Duration

	writes []FloorWrite
}

func newElevator(s *Sim) *elevator { return &elevator{s: s, lastDir: 1} }

func (e *elevator) setFloors(lowest, n int) {
	e.lowest, e.n = lowest, max(n, 1)
	e.calls = make([]bool, e.n)
	e.pos = min(e.pos, float64(e.n-1))
}

func (e *elevator) written(t configs.Table, addr, qty uint16) {
	p := e.s.points["floor_enable"]
	end := uint32(p.Address) + uint32(p.Elements())
	if t != p.Table || uint32(addr) >= end || uint32(addr)+uint32(qty) <= uint32(p.Address) {
		return
	}
	e.writes = append(e.writes, FloorWrite{At: e.s.now, Floors: e.enabled()})
}

// enabled lists the floors whose floor_enable coil is on.
func (e *elevator) enabled() []int {
	p := e.s.points["floor_enable"]
	var floors []int
	for i := range p.Elements() {
		if e.s.img.getBool(p, i) {
			floors = append(floors, e.lowest+i)
		}
	}
	return floors
}

func (e *elevator) at() (int, bool) {
	k := math.Round(e.pos)
	return int(k), math.Abs(e.pos-k) <= liftZone
}

func (e *elevator) step(d time.Duration) {
	if e.alarmLeft > 0 {
		e.alarmLeft = max(e.alarmLeft-d, 0)
	}
	e.stepDoor(d)
	blocked := e.trapped || e.inspection || e.s.intOf("fault_code") != 0
	switch {
	case blocked:
		e.dir = 0
	case e.door != doorClosed:
	case e.dir == 0:
		e.choose()
	default:
		e.move(d)
	}
	e.sync()
}

func (e *elevator) stepDoor(d time.Duration) {
	if e.door == doorClosed {
		return
	}
	if e.doorLeft -= d; e.doorLeft > 0 {
		return
	}
	switch e.door {
	case doorOpening:
		e.door, e.doorLeft = doorOpenDwell, liftDwell
		if e.evacuate {
			e.evacuate = false
			e.s.setBool("occupied", false)
		}
	case doorOpenDwell:
		e.door, e.doorLeft = doorClosing, liftDoorMove
	case doorClosing:
		e.door, e.doorLeft = doorClosed, 0
		if e.cycling {
			// Shut for a moment, long enough for a poller to see, then
			// reopening: the car cannot leave.
			e.door, e.doorLeft = doorShutBriefly, liftReopenGap
		}
	case doorShutBriefly:
		e.door, e.doorLeft = doorOpening, liftDoorMove
	}
}

// choose starts the car toward the next call, or opens the door for a call
// at the floor it stands at. A car stopped between floors levels to the
// nearest one.
func (e *elevator) choose() {
	k, level := e.at()
	if !level && !slices.Contains(e.calls, true) {
		e.calls[k] = true
	}
	if level && e.calls[k] {
		e.calls[k] = false
		e.pos = float64(k)
		e.openDoor()
		return
	}
	up, down := e.callsBeyond(e.pos, 1), e.callsBeyond(e.pos, -1)
	switch {
	case up && (e.lastDir > 0 || !down):
		e.dir = 1
	case down:
		e.dir = -1
	default:
		return
	}
	e.lastDir = e.dir
	e.s.bump("trip_count")
}

// callsBeyond reports whether a call lies strictly beyond pos in direction dir.
func (e *elevator) callsBeyond(pos float64, dir int) bool {
	for i, c := range e.calls {
		if c && (dir > 0 && float64(i) > pos+liftZone || dir < 0 && float64(i) < pos-liftZone) {
			return true
		}
	}
	return false
}

func (e *elevator) move(d time.Duration) {
	next := e.pos + float64(e.dir)*float64(d)/float64(liftFloorTime)
	var k float64
	if e.dir > 0 {
		k = math.Floor(next)
	} else {
		k = math.Ceil(next)
	}
	crossed := (e.dir > 0 && k > e.pos || e.dir < 0 && k < e.pos) && k >= 0 && int(k) < e.n
	e.pos = min(max(next, 0), float64(e.n-1))
	if crossed && (e.calls[int(k)] || !e.callsBeyond(k, e.dir)) {
		e.pos, e.dir = k, 0
		e.calls[int(k)] = false
		e.openDoor()
	}
}

func (e *elevator) openDoor() {
	if e.door == doorClosed || e.door == doorClosing || e.door == doorShutBriefly {
		e.door, e.doorLeft = doorOpening, liftDoorMove
	} else if e.door == doorOpenDwell {
		e.doorLeft = liftDwell
	}
}

func (e *elevator) sync() {
	k, level := e.at()
	e.s.setInt("floor", int64(e.lowest+k))
	e.s.setBool("moving", e.dir != 0)
	dir := 0
	switch e.dir {
	case 1:
		dir = 1
	case -1:
		dir = 2
	}
	e.s.setInt("direction", int64(dir))
	e.s.setBool("in_door_zone", level)
	e.s.setBool("door_open", e.contactFault || e.door != doorClosed && e.door != doorShutBriefly)
	e.s.setBool("alarm_button", e.alarmLeft > 0)
	e.s.setBool("inspection", e.inspection)
}
