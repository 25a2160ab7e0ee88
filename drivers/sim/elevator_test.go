package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

func TestLiftMovesFloorToFloor(t *testing.T) {
	s, c := newSim(t, KindElevator)
	if c.num("floor") != 1 || c.bool("moving") || !c.bool("in_door_zone") {
		t.Fatal("lift does not start level at floor 1")
	}
	must(t, s.Call(5))
	c.advance(time.Second)
	if !c.bool("moving") || c.bool("in_door_zone") || c.num("direction") != 1 {
		t.Fatal("lift is not moving up out of the door zone")
	}
	// Sample every 100 ms: the floor only rises one at a time and the car
	// passes each landing's door zone.
	seen := map[float64]bool{}
	last := c.num("floor")
	for range 130 {
		c.advance(100 * time.Millisecond)
		f := c.num("floor")
		if f != last && f != last+1 {
			t.Fatalf("floor jumped from %v to %v", last, f)
		}
		last = f
		if c.bool("in_door_zone") {
			seen[f] = true
		}
		if c.bool("door_open") && c.bool("moving") {
			t.Fatal("door open while moving")
		}
	}
	if last != 5 || c.bool("moving") || !c.bool("door_open") {
		t.Fatalf("after 13 s: floor %v moving %v door %v; want stopped at 5 with the door open", last, c.bool("moving"), c.bool("door_open"))
	}
	for _, f := range []float64{2, 3, 4, 5} {
		if !seen[f] {
			t.Errorf("never in the door zone of floor %v", f)
		}
	}
	if c.num("trip_count") != 1 {
		t.Errorf("trip_count = %v, want 1", c.num("trip_count"))
	}
	c.advance(liftDoorMove + liftDwell + liftDoorMove)
	if c.bool("door_open") {
		t.Fatal("door did not close after its dwell")
	}
}

func TestLiftServesCallsInDirection(t *testing.T) {
	s, c := newSim(t, KindElevator)
	must(t, s.Call(6))
	c.advance(500 * time.Millisecond)
	must(t, s.Call(3)) // ahead: served on the way
	c.advance(10 * time.Second)
	must(t, s.Call(2)) // behind: served after the up calls
	var stops []float64
	wasOpen := c.bool("door_open")
	for range 600 {
		c.advance(100 * time.Millisecond)
		open := c.bool("door_open")
		if open && !wasOpen {
			stops = append(stops, c.num("floor"))
		}
		wasOpen = open
	}
	if want := []float64{6, 2}; !equal(stops, want) {
		t.Fatalf("stops = %v", stops)
	}
}

func TestLiftTrapAndRelease(t *testing.T) {
	s, c := newSim(t, KindElevator)
	must(t, s.Call(4))
	c.advance(2 * time.Second)
	must(t, s.Trap())
	c.advance(10 * time.Minute)
	if c.bool("moving") || c.bool("in_door_zone") || c.bool("door_open") || !c.bool("occupied") {
		t.Fatalf("trapped car: moving %v zone %v door %v occupied %v", c.bool("moving"), c.bool("in_door_zone"), c.bool("door_open"), c.bool("occupied"))
	}
	must(t, s.Release())
	c.advance(liftFloorTime + liftDoorMove + 200*time.Millisecond)
	if !c.bool("in_door_zone") || !c.bool("door_open") || c.bool("occupied") {
		t.Fatalf("released car: zone %v door %v occupied %v; want level, open, empty", c.bool("in_door_zone"), c.bool("door_open"), c.bool("occupied"))
	}
	// It still answers the call it had.
	c.advance(time.Minute)
	if c.num("floor") != 4 {
		t.Fatalf("floor = %v, want 4", c.num("floor"))
	}
}

func TestLiftTrapAtALanding(t *testing.T) {
	s, c := newSim(t, KindElevator)
	must(t, s.Trap())
	c.advance(time.Second)
	if c.bool("in_door_zone") || c.bool("moving") {
		t.Fatal("a car trapped at rest must sit between floors, stopped")
	}
}

func TestLiftStops(t *testing.T) {
	tests := []struct {
		name  string
		stop  func(s *Sim) error
		start func(s *Sim) error
		point string
	}{
		{"fault", func(s *Sim) error { return s.SetFault(17) }, func(s *Sim) error { return s.SetFault(0) }, "fault_code"},
		{"inspection", func(s *Sim) error { return s.Inspection(true) }, func(s *Sim) error { return s.Inspection(false) }, "inspection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSim(t, KindElevator)
			must(t, s.Call(3))
			c.advance(time.Second)
			must(t, tt.stop(s))
			c.advance(time.Minute)
			if c.bool("moving") || c.num(tt.point) == 0 || c.bool("in_door_zone") {
				t.Fatalf("car not stopped between floors with %s set", tt.point)
			}
			must(t, tt.start(s))
			c.advance(time.Minute)
			if c.num("floor") != 3 || c.num(tt.point) != 0 {
				t.Fatalf("car did not resume to floor 3: at %v", c.num("floor"))
			}
		})
	}
}

func TestLiftAlarmButton(t *testing.T) {
	s, c := newSim(t, KindElevator)
	must(t, s.PressAlarm())
	if !c.bool("alarm_button") {
		t.Fatal("alarm button not pressed")
	}
	c.advance(liftPressTime + time.Second)
	if c.bool("alarm_button") {
		t.Fatal("alarm button stuck")
	}
}

func TestLiftFloorEnable(t *testing.T) {
	s, c := newSim(t, KindElevator)
	s.ManualClock()
	cl, _ := serve(t, s)
	must(t, s.SetFloors(-1, 20)) // coil 0 is floor -1
	if c.num("floor") != -1 {
		t.Fatalf("floor = %v, want -1", c.num("floor"))
	}
	grant := make([]bool, 64)
	grant[0], grant[13] = true, true // floors -1 and 12
	must(t, cl.WriteCoils(0, grant))
	if err := s.PressFloor(3); !errors.Is(err, ErrFloorNotEnabled) {
		t.Fatalf("press a floor not granted: %v", err)
	}
	must(t, s.PressFloor(12))
	if got := s.EnabledFloors(); !equal(got, []int{-1, 12}) {
		t.Fatalf("enabled floors = %v", got)
	}
	must(t, cl.WriteCoils(0, make([]bool, 64)))
	must(t, cl.WriteCoil(7, true)) // floor 6, single coil write
	w := s.FloorWrites()
	if len(w) != 3 || !equal(w[0].Floors, []int{-1, 12}) || len(w[1].Floors) != 0 || !equal(w[2].Floors, []int{6}) {
		t.Fatalf("floor writes = %+v", w)
	}
	if !w[0].At.Equal(c.now) {
		t.Errorf("write time %v, want the simulator's clock %v", w[0].At, c.now)
	}
	// A write elsewhere is not a floor write: the elevator has no other
	// coils, so it is refused.
	if err := cl.WriteCoil(64, true); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Fatalf("write past floor_enable: %v", err)
	}
	if err := s.SetFloors(1, 65); err == nil {
		t.Fatal("65 floors accepted with 64 coils")
	}
	if err := s.Call(99); err == nil {
		t.Fatal("call to a floor the lift does not serve accepted")
	}
}

func TestLiftDoorCycling(t *testing.T) {
	s, c := newSim(t, KindElevator)
	must(t, s.DoorCycling(true))
	must(t, s.Call(3))
	opens, wasOpen := 0, c.bool("door_open")
	for range 600 { // one minute
		c.advance(100 * time.Millisecond)
		if open := c.bool("door_open"); open && !wasOpen {
			opens++
		}
		wasOpen = c.bool("door_open")
		if c.bool("moving") {
			t.Fatal("car left with its door cycling")
		}
	}
	if opens < 5 {
		t.Fatalf("door opened %d times in a minute, want it cycling", opens)
	}
	must(t, s.DoorCycling(false))
	c.advance(time.Minute)
	if c.num("floor") != 3 {
		t.Fatalf("car did not go on to floor 3 once the door was let go: at %v", c.num("floor"))
	}
}

func TestLiftDoorContactFault(t *testing.T) {
	s, c := newSim(t, KindElevator)
	must(t, s.Call(4))
	must(t, s.DoorContactFault(true))
	c.advance(2 * time.Second)
	if !c.bool("moving") || !c.bool("door_open") {
		t.Fatal("want door_open reading true while the car moves")
	}
	must(t, s.DoorContactFault(false))
	c.advance(100 * time.Millisecond)
	if c.bool("door_open") {
		t.Fatal("contact still reads open")
	}
}
