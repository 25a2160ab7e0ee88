package rules

import (
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// Event types the engine raises. Each is also a key of the `rules:` config.
const (
	TypeDoorForcedOpen      = "door.forced_open"
	TypeDoorHeldOpen        = "door.held_open"
	TypeDoorTamper          = "door.tamper"
	TypeDoorSOS             = "door.sos"
	TypeElevatorTrapped     = "elevator.trapped"
	TypeElevatorDoorMoving  = "elevator.door_open_moving"
	TypeElevatorOutsideZone = "elevator.stopped_outside_zone"
	TypeElevatorFault       = "elevator.fault"
	TypeElevatorAlarmButton = "elevator.alarm_button"
	TypeElevatorDoorCycling = "elevator.door_cycling"
	TypeGateStuckOpen       = "gate.stuck_open"
	TypeGateForcedOpen      = "gate.forced_open"
	TypeGateTailgating      = "gate.tailgating"
	TypeGateFault           = "gate.fault"
	TypeAccessProbing       = "access.probing"
	TypeAccessSharing       = "access.sharing"
	TypeDeviceOffline       = "device.offline"
	TypeDeviceOnline        = "device.online"
	TypeAlarmEscalated      = "alarm.escalated"
)

// Event types the engine reads from the access decisions.
const (
	typeAccessGranted = "access.granted"
	typeAccessDenied  = "access.denied"
)

const (
	// defaultContactClearAfter is the hold-down of contacts and fault codes.
	defaultContactClearAfter = 2 * time.Second
	// defaultButtonClearAfter is the hold-down of call buttons, so that a
	// panicked series of presses is one alarm.
	defaultButtonClearAfter = 30 * time.Second
	// maxCount bounds a rule's count, which sizes a per-device ring.
	maxCount = 10000
)

// params is one rule's effective settings for one device.
type params struct {
	disabled     bool
	after        time.Duration
	afterAtFloor time.Duration
	window       time.Duration
	clearAfter   time.Duration
	count        int
	severity     events.Severity
	route        events.Route
	outputDevice string
	outputPoint  string
}

// defaultParams returns the built-in defaults of one rule type, and false for
// a type that is not a rule. The doc comment of the package lists them.
func defaultParams(typ string) (params, bool) {
	c := defaultContactClearAfter
	switch typ {
	case TypeDoorForcedOpen:
		return params{window: 10 * time.Second, clearAfter: c, severity: events.High, route: events.RoutePolice}, true
	case TypeDoorHeldOpen:
		return params{after: 30 * time.Second, clearAfter: c, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeDoorTamper:
		return params{clearAfter: c, severity: events.High, route: events.RouteStreet}, true
	case TypeDoorSOS:
		return params{clearAfter: defaultButtonClearAfter, severity: events.Critical, route: events.RoutePolice}, true
	case TypeElevatorTrapped:
		return params{after: 45 * time.Second, afterAtFloor: 60 * time.Second, clearAfter: c, severity: events.Critical, route: events.RoutePolice}, true
	case TypeElevatorDoorMoving:
		return params{after: time.Second, clearAfter: c, severity: events.Critical, route: events.RouteStreet}, true
	case TypeElevatorOutsideZone:
		return params{after: 45 * time.Second, clearAfter: c, severity: events.High, route: events.RouteStreet}, true
	case TypeElevatorFault:
		return params{clearAfter: c, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeElevatorAlarmButton:
		return params{clearAfter: defaultButtonClearAfter, severity: events.High, route: events.RouteStreet}, true
	case TypeElevatorDoorCycling:
		return params{count: 5, window: 60 * time.Second, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeGateStuckOpen:
		return params{after: 60 * time.Second, clearAfter: c, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeGateForcedOpen:
		return params{window: 30 * time.Second, clearAfter: c, severity: events.High, route: events.RouteStreet}, true
	case TypeGateTailgating:
		return params{clearAfter: c, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeGateFault:
		return params{clearAfter: c, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeAccessProbing:
		return params{count: 5, window: 60 * time.Second, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeAccessSharing:
		return params{window: 30 * time.Second, severity: events.Medium, route: events.RouteCommunity}, true
	case TypeDeviceOffline:
		return params{severity: events.Medium, route: events.RouteCommunity}, true
	case TypeDeviceOnline:
		return params{severity: events.Info, route: events.RouteRecord}, true
	case TypeAlarmEscalated:
		return params{}, true
	}
	return params{}, false
}

// ruleTypes lists every key the `rules:` config accepts.
func ruleTypes() []string {
	return []string{
		TypeDoorForcedOpen, TypeDoorHeldOpen, TypeDoorTamper, TypeDoorSOS,
		TypeElevatorTrapped, TypeElevatorDoorMoving, TypeElevatorOutsideZone, TypeElevatorFault,
		TypeElevatorAlarmButton, TypeElevatorDoorCycling,
		TypeGateStuckOpen, TypeGateForcedOpen, TypeGateTailgating, TypeGateFault,
		TypeAccessProbing, TypeAccessSharing, TypeDeviceOffline, TypeDeviceOnline, TypeAlarmEscalated,
	}
}

// merge overlays the non-zero fields of rc onto p.
func (p *params) merge(rc configs.RuleConfig) {
	if rc.Disabled {
		p.disabled = true
	}
	if rc.After > 0 {
		p.after = rc.After.D()
	}
	if rc.AfterAtFloor > 0 {
		p.afterAtFloor = rc.AfterAtFloor.D()
	}
	if rc.Window > 0 {
		p.window = rc.Window.D()
	}
	if rc.ClearAfter > 0 {
		p.clearAfter = rc.ClearAfter.D()
	}
	if rc.Count > 0 {
		p.count = min(rc.Count, maxCount)
	}
	if rc.Severity != "" {
		p.severity = events.Severity(rc.Severity)
	}
	if rc.Route != "" {
		p.route = events.Route(rc.Route)
	}
	if rc.OutputDevice != "" {
		p.outputDevice = rc.OutputDevice
	}
	if rc.OutputPoint != "" {
		p.outputPoint = rc.OutputPoint
	}
}

// resolve returns the effective params of typ for dev: the device's rules
// over the top-level rules over the defaults. The escalation output falls
// back to the one set on alarm.escalated.
func resolve(cfg *configs.Config, dev *configs.Device, typ string) params {
	p, _ := defaultParams(typ)
	p.merge(cfg.Rules[typ])
	p.merge(dev.Rules[typ])
	if p.outputDevice == "" {
		var esc params
		esc.merge(cfg.Rules[TypeAlarmEscalated])
		esc.merge(dev.Rules[TypeAlarmEscalated])
		p.outputDevice, p.outputPoint = esc.outputDevice, esc.outputPoint
	}
	return p
}
