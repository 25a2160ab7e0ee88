package sim

import (
	"errors"
	"fmt"
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

// liftDo runs f on the elevator model with the lock held.
func (s *Sim) liftDo(name string, f func(e *elevator) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.model.(*elevator)
	if !ok {
		return fmt.Errorf("sim: %s on a %s: %w", name, s.kind, ErrWrongKind)
	}
	if err := f(e); err != nil {
		return fmt.Errorf("sim: %s: %w", name, err)
	}
	e.sync()
	return nil
}

func (e *elevator) index(floor int) (int, error) {
	i := floor - e.lowest
	if i < 0 || i >= e.n {
		return 0, fmt.Errorf("floor %d outside %d-%d", floor, e.lowest, e.lowest+e.n-1)
	}
	return i, nil
}

// SetFloors sets the lift's lowest floor number (the floor of the first
// floor_enable coil, the device's lowest_floor) and how many floors it
// serves (at most the floor_enable count). The car goes to the lowest.
func (s *Sim) SetFloors(lowest, count int) error {
	return s.liftDo("set floors", func(e *elevator) error {
		if limit := s.points["floor_enable"].Elements(); count < 1 || count > limit {
			return fmt.Errorf("want 1-%d floors, got %d", limit, count)
		}
		e.setFloors(lowest, count)
		e.pos, e.dir = 0, 0
		return nil
	})
}

// Call registers a landing call: the car comes to the floor and opens.
func (s *Sim) Call(floor int) error {
	return s.liftDo("call", func(e *elevator) error {
		i, err := e.index(floor)
		if err != nil {
			return err
		}
		if k, level := e.at(); level && k == i && e.dir == 0 && e.door != doorClosed {
			e.openDoor()
			return nil
		}
		e.calls[i] = true
		return nil
	})
}

// PressFloor is a rider pressing a floor button in the car: it registers a
// call only if that floor's floor_enable coil is on.
func (s *Sim) PressFloor(floor int) error {
	return s.liftDo("press floor", func(e *elevator) error {
		i, err := e.index(floor)
		if err != nil {
			return err
		}
		if !e.s.img.getBool(e.s.points["floor_enable"], i) {
			return fmt.Errorf("floor %d: %w", floor, ErrFloorNotEnabled)
		}
		e.s.setBool("occupied", true)
		e.calls[i] = true
		return nil
	})
}

// Trap stops the car between floors with its door shut and a passenger
// inside, until Release.
func (s *Sim) Trap() error {
	return s.liftDo("trap", func(e *elevator) error {
		if _, level := e.at(); level {
			half := 0.5
			if e.dir < 0 || e.dir == 0 && e.pos >= float64(e.n-1) {
				half = -0.5
			}
			e.pos = min(max(e.pos+half, 0), float64(e.n-1))
		}
		e.trapped, e.dir = true, 0
		e.door, e.doorLeft = doorClosed, 0
		e.s.setBool("occupied", true)
		return nil
	})
}

// Release frees a trapped car: it levels to the nearest floor and opens its
// door, and the passenger gets out.
func (s *Sim) Release() error {
	return s.liftDo("release", func(e *elevator) error {
		if !e.trapped {
			return nil
		}
		e.trapped, e.evacuate = false, true
		// Level to the nearest landing first, whatever calls are pending.
		k := math.Round(e.pos)
		e.calls[int(k)] = true
		e.lastDir = 1
		if k < e.pos {
			e.lastDir = -1
		}
		return nil
	})
}

// PressAlarm presses the car's alarm button for a few seconds.
func (s *Sim) PressAlarm() error {
	return s.liftDo("press alarm", func(e *elevator) error {
		e.alarmLeft = liftPressTime
		return nil
	})
}

// Inspection switches inspection mode: the car stops answering calls.
func (s *Sim) Inspection(on bool) error {
	return s.liftDo("inspection", func(e *elevator) error {
		e.inspection = on
		return nil
	})
}

// FloorWrites returns every client write to the floor_enable coils so far,
// each with the floors enabled after it.
func (s *Sim) FloorWrites() []FloorWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.model.(*elevator)
	if !ok {
		return nil
	}
	out := slices.Clone(e.writes)
	for i := range out {
		out[i].Floors = slices.Clone(out[i].Floors)
	}
	return out
}

// EnabledFloors returns the floors whose floor_enable coil is on now.
func (s *Sim) EnabledFloors() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.model.(*elevator); ok {
		return e.enabled()
	}
	return nil
}

// DoorCycling makes someone keep the car door cycling (holding the door,
// blocking its sensor): at a stop it reopens each time it has shut, and the
// car stays, until DoorCycling(false).
func (s *Sim) DoorCycling(on bool) error {
	return s.liftDo("door cycling", func(e *elevator) error {
		e.cycling = on
		if on && e.door == doorClosed && e.dir == 0 {
			if _, level := e.at(); level {
				e.openDoor()
			}
		}
		return nil
	})
}

// DoorContactFault makes the car door contact read open whatever the door
// does (a failed door lock circuit), so door_open shows while the car
// moves, until DoorContactFault(false).
func (s *Sim) DoorContactFault(on bool) error {
	return s.liftDo("door contact fault", func(e *elevator) error {
		e.contactFault = on
		return nil
	})
}
