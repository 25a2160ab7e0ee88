package sim

import (
	"testing"
	"time"
)

// arm returns "open", "closed" or "travelling" from the limit switches.
func (c *clock) arm() string {
	c.t.Helper()
	open, closed := c.bool("arm_open"), c.bool("arm_closed")
	switch {
	case open && closed:
		c.t.Fatal("both limit switches set")
	case open:
		return "open"
	case closed:
		return "closed"
	}
	return "travelling"
}

func TestGateOpenPassClose(t *testing.T) {
	s, c := newSim(t, KindGate)
	if c.arm() != "closed" {
		t.Fatal("arm does not start down")
	}
	must(t, s.VehicleArrives())
	writeCoil(t, s, "open", true)
	c.advance(time.Second)
	if c.arm() != "travelling" || c.num("motor_current") == 0 {
		t.Fatalf("arm %s, motor %v A: want travelling with current", c.arm(), c.num("motor_current"))
	}
	if !c.bool("open") {
		t.Fatal("controller reset the open coil before the arm was up")
	}
	c.advance(gateTravel)
	if c.arm() != "open" || c.num("motor_current") != 0 || c.bool("open") {
		t.Fatalf("arm %s, motor %v A, open coil %v: want up, still, coil reset", c.arm(), c.num("motor_current"), c.bool("open"))
	}
	c.advance(time.Minute)
	if c.arm() != "open" {
		t.Fatal("arm came down on a vehicle")
	}
	must(t, s.VehicleLeaves())
	if c.num("vehicle_count") != 1 || c.bool("loop_occupied") {
		t.Fatal("vehicle leaving not counted or loop still occupied")
	}
	c.advance(gateClearDelay + gateTravel/2)
	if c.arm() != "travelling" {
		t.Fatalf("arm %s, want coming down", c.arm())
	}
	c.advance(gateTravel)
	if c.arm() != "closed" {
		t.Fatalf("arm %s after the vehicle left, want closed", c.arm())
	}
}

func TestGateAutoCloseWithoutVehicle(t *testing.T) {
	s, c := newSim(t, KindGate)
	writeCoil(t, s, "open", true)
	c.advance(gateTravel + time.Second)
	if c.arm() != "open" {
		t.Fatal("arm did not rise")
	}
	c.advance(gateAutoClose + gateTravel)
	if c.arm() != "closed" {
		t.Fatalf("arm %s, want down after the auto-close time", c.arm())
	}
}

func TestGateReversesOnVehicle(t *testing.T) {
	s, c := newSim(t, KindGate)
	writeCoil(t, s, "open", true)
	c.advance(gateTravel + time.Second)
	writeCoil(t, s, "close", true)
	c.advance(gateTravel / 2)
	if c.arm() != "travelling" {
		t.Fatal("close coil did not lower the arm")
	}
	must(t, s.VehicleArrives())
	c.advance(gateTravel)
	if c.arm() != "open" {
		t.Fatalf("arm %s with a vehicle under it, want back up", c.arm())
	}
}

func TestGateTailgating(t *testing.T) {
	s, c := newSim(t, KindGate)
	writeCoil(t, s, "open", true)
	c.advance(gateTravel + time.Second)
	for range 2 {
		must(t, s.VehicleArrives())
		c.advance(time.Second)
		must(t, s.VehicleLeaves())
		c.advance(gateClearDelay / 2)
	}
	if c.num("vehicle_count") != 2 {
		t.Fatalf("vehicle_count = %v, want 2", c.num("vehicle_count"))
	}
	c.advance(gateClearDelay + gateTravel)
	if c.arm() != "closed" {
		t.Fatalf("arm %s, want closed", c.arm())
	}
}

func TestGateFaults(t *testing.T) {
	tests := []struct {
		name string
		act  func(t *testing.T, s *Sim, c *clock)
		want string
	}{
		{"stuck open", func(t *testing.T, s *Sim, c *clock) {
			must(t, s.StickOpen())
			must(t, s.VehicleArrives())
			must(t, s.VehicleLeaves())
			c.advance(10 * time.Minute)
		}, "open"},
		{"unstuck", func(t *testing.T, s *Sim, c *clock) {
			must(t, s.StickOpen())
			c.advance(time.Minute)
			must(t, s.Unstick())
			c.advance(gateClearDelay + gateTravel + time.Second)
		}, "closed"},
		{"forced open", func(t *testing.T, s *Sim, c *clock) {
			must(t, s.ForceOpen())
			c.advance(gateTravel + time.Second)
		}, "open"},
		{"fault code holds the arm", func(t *testing.T, s *Sim, c *clock) {
			must(t, s.SetFault(12))
			writeCoil(t, s, "open", true)
			c.advance(time.Minute)
		}, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSim(t, KindGate)
			tt.act(t, s, c)
			if got := c.arm(); got != tt.want {
				t.Fatalf("arm %s, want %s", got, tt.want)
			}
		})
	}
}

func TestGateForcedOpenWritesNoCoil(t *testing.T) {
	s, c := newSim(t, KindGate)
	must(t, s.ForceOpen())
	c.advance(time.Second)
	if c.bool("open") {
		t.Fatal("forced arm set the open coil")
	}
	if c.num("fault_code") != 0 {
		t.Fatal("forced arm set a fault")
	}
}
