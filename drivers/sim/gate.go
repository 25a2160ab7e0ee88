package sim

import (
	"fmt"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// Gate timings: the arm's travel between its limit switches, the pause
// between the loop clearing and the arm coming down, and how long a raised
// arm waits for a vehicle that never comes.
const (
	gateTravel     = 3 * time.Second
	gateClearDelay = time.Second
	gateAutoClose  = 30 * time.Second
	// gateMotorAmps is the arm motor's current while it travels.
	gateMotorAmps = 2.4
)

// gate models a boom arm over an induction loop. The arm rises when the open
// coil is written 1 (the controller resets the coil once the arm is up) and
// comes down once a vehicle has left the loop; it never comes down on a
// vehicle.
type gate struct {
	s *Sim

	pos       float64 // 0 down, 1 up
	target    float64
	lowerLeft time.Duration // > 0: lower after this (a vehicle passed)
	autoLeft  time.Duration // > 0: up and no vehicle came: lower after this
	closeReq  bool
	stuck     bool
	loop      bool
}

func newGate(s *Sim) *gate { return &gate{s: s} }

func covers(p *configs.Point, t configs.Table, addr, qty uint16) bool {
	return p != nil && t == p.Table && addr <= p.Address && uint32(addr)+uint32(qty) > uint32(p.Address)
}

func (g *gate) written(t configs.Table, addr, qty uint16) {
	if covers(g.s.points["open"], t, addr, qty) && g.s.boolOf("open") {
		g.raise()
	}
	if covers(g.s.points["close"], t, addr, qty) && g.s.boolOf("close") {
		g.closeReq = true
	}
}

func (g *gate) raise() {
	g.target, g.lowerLeft, g.autoLeft = 1, 0, gateAutoClose
}

func (g *gate) step(d time.Duration) {
	if g.closeReq && !g.loop {
		g.closeReq, g.target, g.lowerLeft, g.autoLeft = false, 0, 0, 0
	}
	if g.lowerLeft > 0 {
		if g.lowerLeft -= d; g.lowerLeft <= 0 {
			g.lowerLeft, g.target = 0, 0
		}
	}
	if g.target == 1 && g.pos >= 1 && !g.loop && g.lowerLeft == 0 && g.autoLeft > 0 {
		if g.autoLeft -= d; g.autoLeft <= 0 {
			g.autoLeft, g.target = 0, 0
		}
	}
	if g.stuck {
		g.target = 1
	}
	if g.loop && g.target == 0 && g.pos > 0 {
		g.target = 1 // safety: an arm coming down on a vehicle goes back up
	}
	moving := false
	if g.s.intOf("fault_code") == 0 && g.pos != g.target {
		moving = true
		delta := float64(d) / float64(gateTravel)
		if g.target > g.pos {
			g.pos = min(g.pos+delta, g.target)
		} else {
			g.pos = max(g.pos-delta, g.target)
		}
		switch g.pos {
		case 1:
			g.s.setBool("open", false)
		case 0:
			g.s.setBool("close", false)
		}
	}
	g.sync(moving)
}

func (g *gate) sync(moving bool) {
	g.s.setBool("arm_open", g.pos >= 1)
	g.s.setBool("arm_closed", g.pos <= 0)
	g.s.setBool("loop_occupied", g.loop)
	amps := 0.0
	if moving {
		amps = gateMotorAmps
	}
	g.s.setFloat("motor_current", amps)
}

// gateDo runs f on the gate model with the lock held.
func (s *Sim) gateDo(name string, f func(g *gate)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.model.(*gate)
	if !ok {
		return fmt.Errorf("sim: %s on a %s: %w", name, s.kind, ErrWrongKind)
	}
	f(g)
	g.sync(false)
	return nil
}

// VehicleArrives puts a vehicle on the loop under the arm.
func (s *Sim) VehicleArrives() error {
	return s.gateDo("vehicle arrives", func(g *gate) {
		g.loop, g.lowerLeft = true, 0
	})
}

// VehicleLeaves takes the vehicle off the loop: vehicle_count goes up by one
// and a raised arm comes down shortly after.
func (s *Sim) VehicleLeaves() error {
	return s.gateDo("vehicle leaves", func(g *gate) {
		if !g.loop {
			return
		}
		g.loop = false
		s.bump("vehicle_count")
		if g.pos > 0 || g.target == 1 {
			g.lowerLeft = gateClearDelay
		}
	})
}

// StickOpen jams the arm up: it rises if it was down and does not come down
// until Unstick.
func (s *Sim) StickOpen() error {
	return s.gateDo("stick open", func(g *gate) { g.stuck = true })
}

// Unstick frees a jammed arm; it comes down shortly if the loop is clear.
func (s *Sim) Unstick() error {
	return s.gateDo("unstick", func(g *gate) {
		g.stuck = false
		if !g.loop {
			g.lowerLeft = gateClearDelay
		}
	})
}

// ForceOpen raises the arm without an open command (lifted by hand or by a
// manual key), after which it behaves as if opened.
func (s *Sim) ForceOpen() error {
	return s.gateDo("force open", func(g *gate) { g.raise() })
}
