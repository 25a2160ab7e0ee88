package rules

import (
	"fmt"
	"sort"
	"time"
)

// Ack records that the platform signed for an alarm. id is an alarm id or
// the id of one of the alarm's events. Acking twice is not an error.
func (e *Engine) Ack(id, by string, at time.Time) error {
	e.mu.Lock()
	if aid, ok := e.byEvent[id]; ok {
		id = aid
	}
	a := e.alarms[id]
	if a == nil {
		recent := e.wasRecent(id)
		e.mu.Unlock()
		if recent {
			return nil
		}
		return fmt.Errorf("%w: %q", ErrUnknownAlarm, id)
	}
	if !a.Acked {
		a.Acked, a.AckedBy, a.AckedAt = true, by, at
		e.log.Info("alarm acknowledged", "alarm", a.ID, "by", by)
		if a.Escalated {
			e.updateOutputs()
		}
		if a.done() {
			e.forget(a)
		}
		e.dirty = true
	}
	e.unlockAndFlush()
	return nil
}

// OpenAlarms returns the alarms the engine tracks: raised and not cleared,
// or cleared but still waiting for an ack. Oldest first.
func (e *Engine) OpenAlarms() []Alarm {
	e.mu.Lock()
	out := make([]Alarm, 0, len(e.alarms))
	for _, a := range e.alarms {
		out = append(out, copyAlarm(a))
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RaisedAt.Equal(out[j].RaisedAt) {
			return out[i].RaisedAt.Before(out[j].RaisedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// keepUnacked is how long a cleared, escalated alarm waits for its ack
// before the engine forgets it, so that a platform that never signs cannot
// grow the state without bound. A late ack of it is an unknown alarm unless
// it is still among the recently forgotten ids.
const keepUnacked = 24 * time.Hour

// pruneAlarms forgets cleared, escalated alarms nobody acked for keepUnacked.
// Called with e.mu held.
func (e *Engine) pruneAlarms(now time.Time) {
	for _, a := range e.alarms {
		if a.Cleared && a.Escalated && !a.Acked && now.Sub(a.ClearedAt) > keepUnacked {
			e.log.Warn("forgetting an alarm never acknowledged", "alarm", a.ID, "cleared_at", a.ClearedAt)
			e.forget(a)
			e.dirty = true
		}
	}
}
