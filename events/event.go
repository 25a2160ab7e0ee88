// Package events defines the event every part of the gateway raises and the
// central platform receives: a CloudEvents 1.0 envelope in structured JSON
// (CONTRACT section 5). It is a leaf package: drivers, rules and access
// create events, sync stores and delivers them.
package events

import (
	"encoding/json"
	"strings"
	"time"
)

// Severity grades an event for the platform.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Rank orders severities: critical 4 ... info 0; unknown -1.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	case Info:
		return 0
	}
	return -1
}

// Route is the level the seed platform dispatches an event to.
type Route string

// Routes, from the most local up.
const (
	RouteRecord    Route = "record"
	RouteCommunity Route = "community"
	RouteStreet    Route = "street"
	RoutePolice    Route = "police"
)

// Up returns the route one level higher: community -> street -> police.
func (r Route) Up() Route {
	switch r {
	case RouteRecord, RouteCommunity:
		return RouteStreet
	default:
		return RoutePolice
	}
}

// Phase is the step of an alarm's life an event reports.
type Phase string

// Alarm phases.
const (
	Raised    Phase = "raised"
	Cleared   Phase = "cleared"
	Escalated Phase = "escalated"
)

// Event is one CloudEvents 1.0 event. ID, Source, SpecVersion and Sequence
// are set by the outbox when the event is made durable; producers set the rest.
type Event struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Subject         string         `json:"subject,omitempty"`
	Type            string         `json:"type"`
	Time            time.Time      `json:"-"`
	DataContentType string         `json:"datacontenttype"`
	Sequence        string         `json:"sequence"`
	Severity        Severity       `json:"severity"`
	Route           Route          `json:"route"`
	AlarmID         string         `json:"alarmid,omitempty"`
	Phase           Phase          `json:"phase,omitempty"`
	Data            map[string]any `json:"data,omitempty"`
}

// TimeFormat is the event time format: UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// New returns an event of type typ about subject at t, with the defaults of
// the envelope filled in.
func New(typ, subject string, t time.Time, sev Severity, route Route) Event {
	return Event{
		SpecVersion:     "1.0",
		Type:            typ,
		Subject:         subject,
		Time:            t,
		DataContentType: "application/json",
		Severity:        sev,
		Route:           route,
	}
}

type wire Event

type wireJSON struct {
	*wire
	Time string `json:"time"`
}

// MarshalJSON writes the structured CloudEvents form, time in UTC with ms.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wire(e)
	return json.Marshal(wireJSON{wire: &w, Time: e.Time.UTC().Format(TimeFormat)})
}

// UnmarshalJSON reads the structured CloudEvents form.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireJSON
	w.wire = (*wire)(e)
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Time)
		if err != nil {
			return err
		}
		e.Time = t
	}
	return nil
}

// Categories of the topic P/events/{category}.
const (
	CategoryAlarm   = "alarm"
	CategoryAccess  = "access"
	CategoryDevice  = "device"
	CategoryGateway = "gateway"
)

// Category returns the topic category of an event type.
func Category(typ string) string {
	switch {
	case typ == "access.granted" || typ == "access.denied":
		return CategoryAccess
	case strings.HasPrefix(typ, "device."):
		return CategoryDevice
	case strings.HasPrefix(typ, "gateway.") || strings.HasPrefix(typ, "whitelist."):
		return CategoryGateway
	default:
		return CategoryAlarm
	}
}

// Category returns the topic category of the event.
func (e Event) Category() string { return Category(e.Type) }
