package rules

import (
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// grantRec is the last grant of one whitelist entry, for access.sharing.
type grantRec struct {
	device string
	zone   string
	at     time.Time
}

// Notify feeds the engine an event produced elsewhere in the gateway:
//   - access.granted (Subject the device, Data "entry" the whitelist entry
//     id) puts a grant in force at the device: a door or gate opening within
//     the rule's window is not forced (unless Data "actuated" is false: the
//     unlock write failed); at a gate it counts one vehicle for tailgating; and two grants of one entry in different zones within the
//     access.sharing window raise access.sharing.
//   - access.denied counts toward access.probing at the device.
//   - the engine's own alarm events, back from the outbox with their ids,
//     so that an ack may name an event id instead of the alarm id.
//
// Other events are ignored.
func (e *Engine) Notify(ev events.Event) {
	t := ev.Time
	if t.IsZero() {
		t = e.now()
	}
	e.mu.Lock()
	switch {
	case ev.AlarmID != "":
		if a := e.alarms[ev.AlarmID]; a != nil && ev.ID != "" {
			if _, seen := e.byEvent[ev.ID]; !seen {
				e.byEvent[ev.ID] = a.ID
				a.EventIDs = append(a.EventIDs, ev.ID)
				e.dirty = true
			}
		}
	case ev.Type == typeAccessGranted:
		if d := e.devices[ev.Subject]; d != nil {
			// A grant whose unlock write failed opened nothing.
			if actuated, ok := ev.Data["actuated"].(bool); !ok || actuated {
				e.grant(d, t)
			}
			if entry, ok := ev.Data["entry"].(string); ok && entry != "" {
				e.checkSharing(d, entry, t)
			}
		}
	case ev.Type == typeAccessDenied:
		if d := e.devices[ev.Subject]; d != nil {
			d.denials.push(t)
			e.evalAccess(d, t)
		}
	}
	e.unlockAndFlush()
}

// CommandIssued tells the engine the gateway itself wrote an opening point
// (a door's unlock, a gate's open) at device, e.g. for a remote open, so
// that the opening that follows is not taken for a forced one.
func (e *Engine) CommandIssued(device, point string, at time.Time) {
	e.mu.Lock()
	if d := e.devices[device]; d != nil {
		switch {
		case d.kind == configs.KindDoor && point == "unlock",
			d.kind == configs.KindGate && point == "open":
			e.grant(d, at)
		}
	}
	e.unlockAndFlush()
}

// grant puts a grant in force at d from t. Called with e.mu held.
func (e *Engine) grant(d *device, t time.Time) {
	var w time.Duration
	switch {
	case d.door != nil:
		w = d.door.forced.p.window
	case d.gate != nil:
		w = d.gate.forced.p.window
		d.gate.granted()
	default:
		return
	}
	if until := t.Add(w); until.After(d.grantUntil) {
		d.grantUntil = until
	}
}

// checkSharing compares a grant of entry at d with the entry's last grant.
// Called with e.mu held.
func (e *Engine) checkSharing(d *device, entry string, t time.Time) {
	prev, ok := e.entries[entry]
	e.entries[entry] = grantRec{device: d.id, zone: d.zone, at: t}
	if !ok || prev.zone == "" || d.zone == "" || prev.zone == d.zone {
		return
	}
	gap := t.Sub(prev.at)
	if gap < 0 || gap > d.sharing.p.window {
		return
	}
	d.lastShare = t
	d.shareData = map[string]any{"entry": entry, "first_device": prev.device, "first_zone": prev.zone,
		"zone": d.zone, "interval_s": seconds(gap)}
	e.evalAccess(d, t)
}

// evalAccess steps d's access rules at t. Called with e.mu held.
func (e *Engine) evalAccess(d *device, t time.Time) {
	probing := d.denials.full(t, d.probing.p.window)
	if a := d.probing.step(probing, t, d.probing.p.after); a != none {
		e.apply(d, &d.probing, a, t, func() map[string]any {
			return map[string]any{"denials": d.probing.p.count, "window_s": seconds(d.probing.p.window)}
		})
	}
	sharing := !d.lastShare.IsZero() && t.Sub(d.lastShare) <= d.sharing.p.window
	if a := d.sharing.step(sharing, t, d.sharing.p.after); a != none {
		e.apply(d, &d.sharing, a, t, func() map[string]any {
			data := d.shareData
			d.shareData = nil
			return data
		})
	}
}

// pruneEntries forgets grants too old to matter for access.sharing.
func (e *Engine) pruneEntries(now time.Time) {
	for k, g := range e.entries {
		if now.Sub(g.at) > e.maxShare {
			delete(e.entries, k)
		}
	}
}
