package rules

import (
	"testing"

	"github.com/jusha-ean/edge/configs"
)

// car is an elevator reading at floor 3 unless extra sets "floor".
func car(s float64, moving, doorOpen, inZone bool, extra ...any) step {
	kv := []any{"floor", 3, "moving", moving, "door_open", doorOpen, "in_door_zone", inZone, "fault_code", 0}
	return R(s, append(kv, extra...)...)
}

// cycle opens the car door at s and closes it 2s later.
func cycle(s float64, extra ...any) []step {
	return []step{car(s, false, true, true, extra...), car(s+2, false, false, true, extra...)}
}

func cycles(starts ...float64) []step {
	var out []step
	for _, s := range starts {
		out = append(out, cycle(s)...)
	}
	return out
}

func TestElevatorRules(t *testing.T) {
	lifts := []configs.Device{dev("e1", "elevator", "a1")}
	const (
		moving  = true
		stopped = false
		doorOp  = true
		doorCl  = false
		inZone  = true
		outZone = false
	)
	cases := []scenario{
		{name: "trapped: stopped outside the zone, occupied, 45s",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, outZone, "occupied", true),
				T(45.9), T(46), T(60), car(70, moving, doorCl, outZone), T(71.9), T(72)},
			want: []string{"46.0 elevator.trapped raised", "72.0 elevator.trapped cleared"}},
		{name: "trapped: alarm button pressed outside the zone",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, outZone),
				car(10, stopped, doorCl, outZone, "alarm_button", true), car(10.5, stopped, doorCl, outZone),
				T(40.4), T(40.5), T(46)},
			want: []string{"10.0 elevator.alarm_button raised", "40.5 elevator.alarm_button cleared",
				"46.0 elevator.trapped raised"}},
		{name: "stopped outside the zone with no passenger signal, 45s",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, outZone), T(45.9), T(46)},
			want:  []string{"46.0 elevator.stopped_outside_zone raised"}},
		{name: "stopped outside the zone 44s then moves: near miss",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, outZone), T(44.9),
				car(45, moving, doorCl, outZone), T(100)}},
		{name: "trapped at a floor: occupied, door closed, 60s",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, inZone, "occupied", true),
				T(60.9), T(61)},
			want: []string{"61.0 elevator.trapped raised"}},
		{name: "occupied at a floor 59s then the door opens: near miss",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, inZone, "occupied", true),
				T(59.9), car(60, stopped, doorOp, inZone, "occupied", true), T(200)}},
		{name: "empty car parked at a floor: nothing",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, inZone), T(600)}},
		{name: "inspection suppresses every elevator rule",
			steps: []step{car(0, moving, doorCl, outZone, "inspection", true),
				car(1, stopped, doorCl, outZone, "occupied", true, "inspection", true, "fault_code", 9),
				car(2, moving, doorOp, outZone, "inspection", true, "alarm_button", true), T(300)}},
		{name: "door open while moving, debounced 1s",
			steps: []step{car(0, moving, doorOp, outZone), car(0.8, moving, doorCl, outZone),
				car(2, moving, doorOp, outZone), T(2.9), T(3), car(4, stopped, doorOp, inZone), T(6)},
			want: []string{"3.0 elevator.door_open_moving raised", "6.0 elevator.door_open_moving cleared"}},
		{name: "fault code",
			steps: []step{car(0, stopped, doorCl, inZone), car(1, stopped, doorCl, inZone, "fault_code", 17),
				car(5, stopped, doorCl, inZone), T(6.9), T(7)},
			want: []string{"1.0 elevator.fault raised", "7.0 elevator.fault cleared"}},
		{name: "door cycling: 5 openings at one floor within 60s",
			steps: append(append([]step{car(0, stopped, doorCl, inZone)}, cycles(1, 11, 21, 31, 41)...),
				T(61), T(61.1)),
			want: []string{"41.0 elevator.door_cycling raised", "61.1 elevator.door_cycling cleared"}},
		{name: "door cycling: 4 openings is a near miss",
			steps: append([]step{car(0, stopped, doorCl, inZone)}, cycles(1, 11, 21, 31)...)},
		{name: "door cycling: 5 openings over more than 60s is a near miss",
			steps: append([]step{car(0, stopped, doorCl, inZone)}, cycles(1, 16, 31, 46, 61.1)...)},
		{name: "door cycling: a trip in between resets the count",
			steps: append(append(append([]step{car(0, stopped, doorCl, inZone)}, cycles(1, 11, 21)...),
				car(25, moving, doorCl, outZone), car(28, stopped, doorCl, inZone)), cycles(31, 41)...)},
		{name: "offline elevator holds: no trapped while unseen",
			steps: []step{car(0, moving, doorCl, outZone), car(1, stopped, doorCl, outZone, "occupied", true),
				Off(10), T(100)},
			want: []string{"10.0 device.offline raised"}},
	}
	runScenarios(t, lifts, cases)
}

func TestElevatorFaultCarriesCode(t *testing.T) {
	cfg := config(dev("e1", "elevator", ""))
	e, rec := newEngine(t, cfg, Options{})
	play(e, cfg, []step{car(0, false, false, true), car(1, false, false, true, "fault_code", 17, "floor", 7)})
	evs := rec.all()
	if len(evs) != 1 {
		t.Fatalf("events = %v, want one", rec.lines())
	}
	ev := evs[0]
	if ev.Data["fault_code"] != 17.0 || ev.Data["floor"] != 7.0 || ev.Data["location"] != "loc e1" {
		t.Errorf("data = %v", ev.Data)
	}
	if ev.AlarmID != "e1/elevator.fault/1" || ev.Severity != "medium" || ev.Route != "community" || ev.Subject != "e1" {
		t.Errorf("event = %+v", ev)
	}
}
