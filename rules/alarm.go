package rules

import (
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/jusha-ean/edge/events"
)

// Sentinel errors.
var (
	// ErrUnknownAlarm is returned by Ack for an id that names no alarm the
	// engine knows (neither an alarm id nor the id of one of its events).
	ErrUnknownAlarm = errors.New("rules: unknown alarm")
	// ErrConfig wraps every problem found in the rules of a config.
	ErrConfig = errors.New("rules: bad config")
)

// Alarm is one alarm's life: raised once, cleared once, acknowledged and
// escalated at most once. It is also the persisted form of the alarm.
type Alarm struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Device   string          `json:"device"`
	Location string          `json:"location,omitempty"`
	Severity events.Severity `json:"severity"`
	Route    events.Route    `json:"route"`
	RaisedAt time.Time       `json:"raised_at"`
	Data     map[string]any  `json:"data,omitempty"`

	Cleared     bool      `json:"cleared,omitempty"`
	ClearedAt   time.Time `json:"cleared_at,omitzero"`
	Acked       bool      `json:"acked,omitempty"`
	AckedBy     string    `json:"acked_by,omitempty"`
	AckedAt     time.Time `json:"acked_at,omitzero"`
	Escalated   bool      `json:"escalated,omitempty"`
	EscalatedAt time.Time `json:"escalated_at,omitzero"`

	// OutputDevice and OutputPoint are the coil driven while the alarm is
	// escalated and not acked; empty when none is configured.
	OutputDevice string `json:"output_device,omitempty"`
	OutputPoint  string `json:"output_point,omitempty"`
	// EventIDs are the outbox ids of the alarm's events, so that an ack may
	// name an event instead of the alarm.
	EventIDs []string `json:"event_ids,omitempty"`
}

// needsAck reports whether the alarm escalates when nobody acknowledges it.
func (a *Alarm) needsAck() bool { return a.Severity.Rank() >= events.High.Rank() }

// done reports whether the engine can forget the alarm.
func (a *Alarm) done() bool { return a.Cleared && (a.Acked || !a.needsAck()) }

// copyAlarm returns a deep enough copy for callers outside the lock.
func copyAlarm(a *Alarm) Alarm {
	c := *a
	c.Data = maps.Clone(a.Data)
	c.EventIDs = append([]string(nil), a.EventIDs...)
	return c
}

// slot is the state of one rule on one device: whether its condition holds,
// since when, and the alarm it has open.
type slot struct {
	typ        string
	p          params
	cond       bool
	condSince  time.Time
	falseSince time.Time
	alarm      *Alarm
}

// action is what a slot's step asks the engine to do.
type action uint8

const (
	none action = iota
	raise
	clear
)

// step feeds the slot the condition at t. The condition must have held for
// after before the alarm is raised; once raised, it must have been false for
// the rule's clear_after before the alarm clears, so a flapping input does
// not produce a stream of alarms.
func (s *slot) step(cond bool, t time.Time, after time.Duration) action {
	if s.p.disabled {
		return none
	}
	if cond {
		s.falseSince = time.Time{}
		if !s.cond {
			s.cond, s.condSince = true, t
		}
		if s.alarm == nil && t.Sub(s.condSince) >= after {
			return raise
		}
		return none
	}
	s.cond = false
	if s.alarm == nil {
		return none
	}
	if s.falseSince.IsZero() {
		s.falseSince = t
	}
	if t.Sub(s.falseSince) >= s.p.clearAfter {
		return clear
	}
	return none
}

// alarmKey is the prefix of an alarm id: "{device}/{type}".
func alarmKey(device, typ string) string { return device + "/" + typ }

// raise opens an alarm on s and queues its raised event. Called with e.mu held.
func (e *Engine) raise(d *device, s *slot, t time.Time, data map[string]any) {
	key := alarmKey(d.id, s.typ)
	if e.counters[key] < e.counterFloor {
		e.counters[key] = e.counterFloor
	}
	e.counters[key]++
	if data == nil {
		data = make(map[string]any, 1)
	}
	data["location"] = d.location
	a := &Alarm{
		ID:           key + "/" + strconv.FormatUint(e.counters[key], 10),
		Type:         s.typ,
		Device:       d.id,
		Location:     d.location,
		Severity:     s.p.severity,
		Route:        s.p.route,
		RaisedAt:     t,
		Data:         data,
		OutputDevice: s.p.outputDevice,
		OutputPoint:  s.p.outputPoint,
	}
	s.alarm = a
	e.alarms[a.ID] = a
	e.log.Info("alarm raised", "alarm", a.ID, "type", a.Type, "severity", a.Severity)
	e.enqueue(e.event(a, a.Type, events.Raised, a.Route, t, maps.Clone(data)))
}

// clearSlot closes s's alarm at t and queues its cleared event with extra
// data. Called with e.mu held.
func (e *Engine) clearSlot(s *slot, t time.Time, typ string, extra map[string]any) {
	a := s.alarm
	s.alarm = nil
	s.falseSince = time.Time{}
	a.Cleared, a.ClearedAt = true, t
	data := map[string]any{"location": a.Location, "duration_s": t.Sub(a.RaisedAt).Seconds()}
	maps.Copy(data, extra)
	e.log.Info("alarm cleared", "alarm", a.ID, "type", a.Type)
	e.enqueue(e.event(a, typ, events.Cleared, a.Route, t, data))
	if a.done() {
		e.forget(a)
	}
}

// event builds one event of alarm a.
func (e *Engine) event(a *Alarm, typ string, ph events.Phase, r events.Route, t time.Time, data map[string]any) events.Event {
	sev := a.Severity
	if typ == TypeDeviceOnline {
		sev, r = events.Info, events.RouteRecord
		if d := e.devices[a.Device]; d != nil {
			sev, r = d.onlineP.severity, d.onlineP.route
		}
	}
	ev := events.New(typ, a.Device, t, sev, r)
	ev.AlarmID, ev.Phase, ev.Data = a.ID, ph, data
	return ev
}

// forget drops a finished alarm, remembering its id so that a repeated ack
// (MQTT delivers at least once) is still answered well.
func (e *Engine) forget(a *Alarm) {
	delete(e.alarms, a.ID)
	e.remember(a.ID)
	for _, id := range a.EventIDs {
		delete(e.byEvent, id)
		e.remember(id)
	}
}

// remember keeps id among the last ids of forgotten alarms and their events.
func (e *Engine) remember(id string) {
	e.recent[e.recentNext%len(e.recent)] = id
	e.recentNext++
}

// wasRecent reports whether id names an alarm forgotten lately.
func (e *Engine) wasRecent(id string) bool {
	for _, r := range e.recent {
		if r != "" && r == id {
			return true
		}
	}
	return false
}
