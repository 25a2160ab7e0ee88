package rules

import (
	"testing"

	"github.com/jusha-ean/edge/configs"
)

// arm is a gate reading: down, moving (neither end) or up, and the loop.
func arm(s float64, pos string, loop bool, extra ...any) step {
	kv := []any{"arm_closed", pos == "down", "arm_open", pos == "up", "loop_occupied", loop, "fault_code", 0}
	return R(s, append(kv, extra...)...)
}

func TestGateRules(t *testing.T) {
	gates := []configs.Device{dev("g1", "gate", "north")}
	cases := []scenario{
		{name: "forced: the arm leaves closed with no grant",
			steps: []step{arm(0, "down", false), arm(1, "mid", false), arm(2, "up", false),
				arm(5, "down", false), T(6.9), T(7)},
			want: []string{"1.0 gate.forced_open raised", "7.0 gate.forced_open cleared"}},
		{name: "a grant opens the gate: not forced",
			steps: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "mid", true), arm(2, "up", true),
				arm(4, "up", false), arm(6, "down", false), T(20)}},
		{name: "an open command opens the gate: not forced",
			steps: []step{arm(0, "down", true), Cmd("g1", 0.5, "open"), arm(1, "up", true), arm(4, "down", false), T(20)}},
		{name: "a grant 31s before the arm moves does not cover it",
			steps: []step{arm(0, "down", false), G("g1", 0.5, "car-1"), arm(31.6, "mid", false)},
			want:  []string{"31.6 gate.forced_open raised"}},
		{name: "stuck open: arm up 60s with the loop clear",
			steps: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "up", true), arm(3, "up", false),
				T(62.9), T(63), arm(70, "down", false), T(71.9), T(72)},
			want: []string{"63.0 gate.stuck_open raised", "72.0 gate.stuck_open cleared"}},
		{name: "stuck open: a vehicle on the loop restarts the count",
			steps: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "up", true), arm(3, "up", false),
				G("g1", 39.5, "car-2"), arm(40, "up", true), arm(41, "up", false), T(63), T(100.9), T(101)},
			want: []string{"101.0 gate.stuck_open raised"}},
		{name: "tailgating: a second vehicle on the loop before the arm is down",
			steps: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "up", true), arm(3, "up", false),
				arm(4, "up", true), arm(6, "up", false), arm(8, "down", false), T(9.9), T(10)},
			want: []string{"4.0 gate.tailgating raised", "10.0 gate.tailgating cleared"}},
		{name: "two grants for two vehicles: not tailgating",
			steps: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "up", true), arm(3, "up", false),
				G("g1", 3.5, "car-2"), arm(4, "up", true), arm(6, "up", false), arm(8, "down", false), T(20)}},
		{name: "tailgating counted by vehicle_count",
			steps: []step{arm(0, "down", true, "vehicle_count", 10), G("g1", 0.5, "car-1"),
				arm(1, "up", true, "vehicle_count", 10), arm(2, "up", true, "vehicle_count", 12)},
			want: []string{"2.0 gate.tailgating raised"}},
		{name: "tailgating disabled",
			rules: map[string]configs.RuleConfig{"gate.tailgating": {Disabled: true}},
			steps: []step{arm(0, "down", true), G("g1", 0.5, "car-1"), arm(1, "up", true), arm(3, "up", false),
				arm(4, "up", true), arm(8, "down", false), T(20)}},
		{name: "fault code",
			steps: []step{arm(0, "down", false), arm(1, "down", false, "fault_code", 3), arm(2, "down", false), T(4)},
			want:  []string{"1.0 gate.fault raised", "4.0 gate.fault cleared"}},
		{name: "offline gate holds its state",
			steps: []step{arm(0, "down", false), Off(1), T(100), arm(101, "up", false), T(200)},
			want:  []string{"1.0 device.offline raised", "101.0 device.online cleared", "200.0 gate.stuck_open raised"}},
	}
	runScenarios(t, gates, cases)
}
