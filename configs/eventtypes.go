package configs

import "strings"

// KnownEventType reports whether t is one of the event types of CONTRACT
// section 5, the names the `rules` keys may use.
func KnownEventType(t string) bool {
	switch t {
	case "door.forced_open", "door.held_open", "door.tamper", "door.sos",
		"elevator.trapped", "elevator.door_open_moving", "elevator.stopped_outside_zone",
		"elevator.fault", "elevator.alarm_button", "elevator.door_cycling",
		"gate.stuck_open", "gate.forced_open", "gate.tailgating", "gate.fault",
		"access.granted", "access.denied", "access.probing", "access.sharing",
		"device.online", "device.offline",
		"alarm.escalated", "gateway.started", "gateway.outbox_pressure",
		"whitelist.applied", "whitelist.rejected":
		return true
	}
	return false
}

// eventKind is the device kind an event type belongs to ("" for events of
// any device or of the gateway).
func eventKind(t string) string {
	prefix, _, _ := strings.Cut(t, ".")
	switch prefix {
	case KindDoor, KindElevator, KindGate:
		return prefix
	}
	return ""
}

// KnownSeverity reports whether s is an event severity of CONTRACT 5.
func KnownSeverity(s string) bool {
	switch s {
	case "critical", "high", "medium", "low", "info":
		return true
	}
	return false
}

// KnownRoute reports whether r is a dispatch route of CONTRACT 5.
func KnownRoute(r string) bool {
	switch r {
	case "police", "street", "community", "record":
		return true
	}
	return false
}

func knownKind(kind string) bool {
	return kind == KindDoor || kind == KindElevator || kind == KindGate
}
