package access

import (
	"time"

	"github.com/jusha-ean/edge/events"
)

// Event types of decisions.
const (
	EventGranted = "access.granted"
	EventDenied  = "access.denied"
)

// decisionEvent is the access.granted / access.denied event of a decision.
// It names the entry and a short prefix of the keyed hash, never the value.
func decisionEvent(ds *devState, d Decision, typ, via string, at time.Time) events.Event {
	typName := EventDenied
	if d.Granted {
		typName = EventGranted
	}
	ev := events.New(typName, ds.dev.ID, at, events.Info, events.RouteRecord)
	ev.Data = map[string]any{
		"reason":          d.Reason,
		"credential_type": typ,
		"credential_hash": hashPrefix(d.Hash),
		"via":             via,
	}
	if d.EntryID != "" {
		ev.Data["entry"] = d.EntryID
	}
	if ds.location != "" {
		ev.Data["location"] = ds.location
	}
	if d.Granted && ds.dev.Kind == "elevator" {
		ev.Data["floors"] = append([]int(nil), d.Floors...)
	}
	return ev
}
