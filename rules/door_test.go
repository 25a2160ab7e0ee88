package rules

import (
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
)

const (
	open = "door_open"
	lock = "lock_released"
	exit = "exit_request"
)

func TestDoorRules(t *testing.T) {
	doors := []configs.Device{dev("d1", "door", "a1")}
	held60 := dev("d1", "door", "a1")
	held60.Rules = map[string]configs.RuleConfig{"door.held_open": {After: configs.Duration(60 * time.Second)}}
	cases := []scenario{
		{name: "forced open raises at once and clears 2s after closing",
			steps: []step{R(0, open, false), R(1, open, true), R(3, open, false), T(4.9), T(5)},
			want:  []string{"1.0 door.forced_open raised", "5.0 door.forced_open cleared"}},
		{name: "a long forced opening is one alarm",
			steps: []step{R(0, open, false), R(1, open, true), T(10), R(20, open, true), T(100), T(200)},
			want:  []string{"1.0 door.forced_open raised", "100.0 alarm.escalated escalated"}},
		{name: "lock released: not forced",
			steps: []step{R(0, open, false), R(1, open, true, lock, true), R(3, open, false), T(10)}},
		{name: "exit request: not forced",
			steps: []step{R(0, open, false), R(1, exit, true), R(1.4, open, true), R(5, open, false), T(10)}},
		{name: "exit request in the same poll: not forced",
			steps: []step{R(0, open, false), R(1, open, true, exit, true), R(5, open, false), T(10)}},
		{name: "grant in force: not forced",
			steps: []step{R(0, open, false), G("d1", 0.5, "rider-1"), R(1, open, true), R(5, open, false), T(10)}},
		{name: "a grant whose unlock write failed does not cover the opening",
			steps: []step{R(0, open, false), {at: 0.5, dev: "d1", kind: 'g', entry: "rider-1", failed: true}, R(1, open, true)},
			want:  []string{"1.0 door.forced_open raised"}},
		{name: "remote open command: not forced",
			steps: []step{R(0, open, false), Cmd("d1", 0.5, "unlock"), R(1, open, true), R(5, open, false), T(10)}},
		{name: "grant expired after its 10s window: forced",
			steps: []step{R(0, open, false), G("d1", 0.5, "rider-1"), R(11, open, true)},
			want:  []string{"11.0 door.forced_open raised"}},
		{name: "a flap of 200ms does not clear and raise again",
			steps: []step{R(0, open, false), R(1, open, true), R(2, open, false), R(2.2, open, true), T(3),
				R(4, open, false), T(5.9), T(6)},
			want: []string{"1.0 door.forced_open raised", "6.0 door.forced_open cleared"}},
		{name: "door already open when first seen is not forced",
			steps: []step{R(0, open, true), R(3, open, false), T(10)}},
		{name: "forced_open disabled",
			rules: map[string]configs.RuleConfig{"door.forced_open": {Disabled: true}},
			steps: []step{R(0, open, false), R(1, open, true), T(50)}},
		{name: "forced_open with a configured debounce ignores a 200ms blip",
			rules: map[string]configs.RuleConfig{"door.forced_open": {After: configs.Duration(500 * time.Millisecond)}},
			steps: []step{R(0, open, false), R(1, open, true), R(1.2, open, false), T(2), R(10, open, true), T(10.5)},
			want:  []string{"10.5 door.forced_open raised"}},
		{name: "held open after 30s from a grant, cleared on close",
			steps: []step{R(0, open, false), R(1, open, true, lock, true), R(1.2, open, true), T(30.9), T(31),
				T(35), R(40, open, false), T(41.9), T(42)},
			want: []string{"31.0 door.held_open raised", "42.0 door.held_open cleared"}},
		{name: "held open 29s: near miss",
			steps: []step{R(0, open, false), R(1, open, true, lock, true), T(29.9), R(30, open, false), T(60)}},
		{name: "held open after an exit request",
			steps: []step{R(0, open, false), R(1, open, true, exit, true), T(31)},
			want:  []string{"31.0 door.held_open raised"}},
		{name: "a 200ms flap does not restart the held-open timer or look forced",
			steps: []step{R(0, open, false), R(1, open, true, lock, true), R(20, open, false), R(20.2, open, true), T(31)},
			want:  []string{"31.0 door.held_open raised"}},
		{name: "a new opening after the door stayed closed restarts the timer",
			steps: []step{R(0, open, false), R(1, open, true, lock, true), R(20, open, false), T(23),
				R(25, open, true, lock, true), T(31), T(55)},
			want: []string{"55.0 door.held_open raised"}},
		{name: "per-device held_open after 60s",
			devs:  []configs.Device{held60},
			steps: []step{R(0, open, false), R(1, open, true, lock, true), T(31), T(60.9), T(61)},
			want:  []string{"61.0 door.held_open raised"}},
		{name: "tamper",
			steps: []step{R(0, open, false), R(1, "tamper", true), R(2, "tamper", false), T(3.9), T(4)},
			want:  []string{"1.0 door.tamper raised", "4.0 door.tamper cleared"}},
		{name: "sos is held 30s after release so repeated presses are one alarm",
			steps: []step{R(0), R(1, "sos_button", true), R(1.2), R(5, "sos_button", true), R(5.2), T(35.1), T(35.2)},
			want:  []string{"1.0 door.sos raised", "35.2 door.sos cleared"}},
		{name: "stale readings are not evaluated",
			steps: []step{R(0, open, false), Stale(1, open, true), T(40)}},
		{name: "offline device holds its state",
			steps: []step{R(0, open, false), R(1, open, true, lock, true), Off(10), T(40), T(80),
				R(90, open, false), T(100)},
			want: []string{"10.0 device.offline raised", "90.0 device.online cleared"}},
		{name: "offline device does not clear a forced alarm until it answers",
			steps: []step{R(0, open, false), R(1, open, true), Off(2), T(30), R(40, open, false), T(41.9), T(42)},
			want: []string{"1.0 door.forced_open raised", "2.0 device.offline raised",
				"40.0 device.online cleared", "42.0 door.forced_open cleared"}},
		{name: "offline on the first reading",
			steps: []step{Off(0), T(5), R(6, open, false)},
			want:  []string{"0.0 device.offline raised", "6.0 device.online cleared"}},
	}
	runScenarios(t, doors, cases)
}
