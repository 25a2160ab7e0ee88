package rules_test

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/rules"
)

// A door opens while its lock is engaged and nobody was granted: one
// door.forced_open is raised, and cleared once the door has stayed shut.
func ExampleEngine() {
	cfg := &configs.Config{Devices: []configs.Device{
		{ID: "door-a1-lobby", Kind: configs.KindDoor, Location: "Block A1 lobby"},
	}}
	emit := func(ev events.Event) {
		fmt.Println(ev.Time.Format("15:04:05"), ev.Type, ev.Phase, ev.AlarmID, ev.Severity, ev.Route)
	}
	e, err := rules.NewEngine(cfg, rules.Options{}, emit, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	door := func(sec int, open bool) drivers.Reading {
		return drivers.Reading{Device: "door-a1-lobby", Time: start.Add(time.Duration(sec) * time.Second),
			Quality: drivers.Good, Online: true, Values: map[string]drivers.Value{
				"door_open": drivers.BoolValue(open), "lock_released": drivers.BoolValue(false)}}
	}
	e.Observe(door(0, false))
	e.Observe(door(1, true))
	e.Observe(door(4, false))
	e.Tick(start.Add(6 * time.Second))
	// Output:
	// 10:00:01 door.forced_open raised door-a1-lobby/door.forced_open/1 high police
	// 10:00:06 door.forced_open cleared door-a1-lobby/door.forced_open/1 high police
}
