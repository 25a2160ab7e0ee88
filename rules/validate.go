package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// otherEventType reports whether typ is an event type of the contract that
// no rule raises; the config loader accepts it as a rules key, so the
// engine only warns that it has no effect.
func otherEventType(typ string) bool {
	switch typ {
	case typeAccessGranted, typeAccessDenied, "gateway.started", "gateway.outbox_pressure",
		"whitelist.applied", "whitelist.rejected":
		return true
	}
	return false
}

// validOutput reports whether an escalation output names a configured
// device and a point.
func validOutput(cfg *configs.Config, device, point string) bool {
	if device == "" || point == "" {
		return false
	}
	return slices.ContainsFunc(cfg.Devices, func(d configs.Device) bool { return d.ID == device })
}

// validateRules checks every rules block of cfg. What the config loader
// also rejects (an unknown event type, severity or route, a negative count)
// is an error; what the engine can work around is a warning: a key no rule
// reads, a count above the limit (clamped), an escalation output that names
// no configured device (ignored), so that a siren typo does not stop the
// gateway from watching its doors.
func validateRules(cfg *configs.Config) (warnings []string, err error) {
	var probs []string
	check := func(where string, rules map[string]configs.RuleConfig) {
		keys := make([]string, 0, len(rules))
		for k := range rules {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, typ := range keys {
			rc := rules[typ]
			if _, ok := defaultParams(typ); !ok {
				if otherEventType(typ) {
					warnings = append(warnings, fmt.Sprintf("%s.%s: no rule raises this event type; ignored", where, typ))
				} else {
					probs = append(probs, fmt.Sprintf("%s: unknown rule %q (want one of %s)", where, typ, strings.Join(ruleTypes(), ", ")))
				}
				continue
			}
			if rc.Severity != "" && events.Severity(rc.Severity).Rank() < 0 {
				probs = append(probs, fmt.Sprintf("%s.%s: unknown severity %q (want critical, high, medium, low or info)", where, typ, rc.Severity))
			}
			switch events.Route(rc.Route) {
			case "", events.RouteRecord, events.RouteCommunity, events.RouteStreet, events.RoutePolice:
			default:
				probs = append(probs, fmt.Sprintf("%s.%s: unknown route %q (want police, street, community or record)", where, typ, rc.Route))
			}
			switch {
			case rc.Count < 0:
				probs = append(probs, fmt.Sprintf("%s.%s: count %d: want 0 or more", where, typ, rc.Count))
			case rc.Count > maxCount:
				warnings = append(warnings, fmt.Sprintf("%s.%s: count %d above %d; using %d", where, typ, rc.Count, maxCount, maxCount))
			}
			if (rc.OutputDevice != "" || rc.OutputPoint != "") && !validOutput(cfg, rc.OutputDevice, rc.OutputPoint) {
				warnings = append(warnings, fmt.Sprintf("%s.%s: output_device %q / output_point %q: want a configured device and a point; output ignored",
					where, typ, rc.OutputDevice, rc.OutputPoint))
			}
		}
	}
	check("rules", cfg.Rules)
	for _, d := range cfg.Devices {
		check("devices."+d.ID+".rules", d.Rules)
	}
	if len(probs) > 0 {
		return warnings, fmt.Errorf("%w: %s", ErrConfig, strings.Join(probs, "; "))
	}
	return warnings, nil
}
