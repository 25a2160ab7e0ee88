package sim

import (
	"fmt"
	"math"
	"slices"
)

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
