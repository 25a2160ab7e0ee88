// Package rules recognises anomalies in device readings and access decisions
// and runs each alarm's life: raised once, cleared once after a hold-down,
// acknowledged by the platform, or escalated when nobody signs for it in
// time (the "1310" target: the command centre signs within one minute).
//
// # Inputs and outputs
//
// The engine is fed every drivers.Reading (Observe, in order per device),
// the access decisions and its own events coming back from the outbox
// (Notify), openings the gateway itself commanded (CommandIssued), acks
// from the platform (Ack) and the passing of time (Tick, or Run with the
// real clock). Every event it makes goes to the emit func given to
// NewEngine, in order, outside the engine's lock.
//
// Alarm ids are "{device}/{type}/{n}", n rising per device and type and
// never reused, also across restarts: the alarm state (tracked alarms, acks,
// escalations, the counters, events not yet emitted) is saved through a
// StateStore before the events leave.
//
// # Catalog and defaults
//
// Every threshold can be set in the config's top-level `rules:` (per event
// type) and per device (`devices[].rules`), merged field-wise: device over
// top-level over these defaults.
//
//	type                          severity  route      defaults
//	door.forced_open              high      police     window 10s (how long a grant, exit request or remote open covers an opening), after 0 (immediate)
//	door.held_open                medium    community  after 30s from the opening; clear_after 2s also ends an opening
//	door.tamper                   high      street     tamper point on
//	door.sos                      critical  police     sos_button pressed; clear_after 30s
//	elevator.trapped              critical  police     stopped, door closed, passenger signal, and outside the door zone for after 45s or at a floor for after_at_floor 60s
//	elevator.door_open_moving     critical  street     door open while moving for after 1s
//	elevator.stopped_outside_zone high      street     stopped outside the door zone for after 45s, no passenger signal
//	elevator.fault                medium    community  fault_code != 0 (data: fault_code)
//	elevator.alarm_button         high      street     alarm_button pressed; clear_after 30s
//	elevator.door_cycling         medium    community  count 5 door openings at one floor within window 60s, no trip
//	gate.stuck_open               medium    community  arm up with the loop clear for after 60s
//	gate.forced_open              high      street     arm leaves closed with no grant or open command within window 30s
//	gate.tailgating               medium    community  more vehicles on the loop than grants before the arm is down
//	gate.fault                    medium    community  fault_code != 0
//	access.probing                medium    community  count 5 denials at one device within window 60s
//	access.sharing                medium    community  one entry granted in two zones within window 30s
//	device.offline                medium    community  Reading.Online turns false
//	device.online                 info      record     Reading.Online turns true again: clears device.offline (same alarmid)
//
// clear_after defaults to 2s for contacts and fault codes, and 0 for the
// windowed rules (probing, sharing, door cycling), which end when their
// window empties. Every elevator rule is off while `inspection` is on.
// While a device is offline its point-driven rules hold their state:
// nothing is raised or cleared until it answers again (access.probing and
// access.sharing follow the access decisions and run on). A door or arm found open when first
// seen (at start, or back from offline) is taken as authorized.
//
// # Escalation
//
// A high or critical alarm not acknowledged within upstream.ack_timeout
// (default 60s), even if already cleared, is published once more as
// alarm.escalated, phase escalated, same alarmid, route one level up, data
// "alarm_type" naming the original type. If the rule (or alarm.escalated)
// sets output_device and output_point, that coil is switched on through the
// Actuator until the alarm is acknowledged. `alarm.escalated: {disabled:
// true}` turns escalation off. A cleared, escalated alarm that nobody
// acknowledges is forgotten 24 hours after it cleared.
package rules
