package access

import "sync/atomic"

// Stats counts what a controller did since it started, for /metrics.
type Stats struct {
	Granted       uint64 // decisions granted (reader, API, remote open)
	Denied        uint64 // decisions denied
	APIRejected   uint64 // local API requests refused (auth, malformed, unknown device)
	EmitFailed    uint64 // API decisions refused because their event was not stored
	QueueFull     uint64 // grants not actuated because the device's queue was full
	OpenRejected  uint64 // remote opens refused
	ActuateFailed uint64 // device writes that failed
	// MissedReads counts credentials a reader read but the gateway never
	// saw: credential_seq advanced by more than one between two polls, so
	// a later read overwrote them before a poll (see Observe).
	MissedReads uint64
}

type controllerStats struct {
	granted, denied, apiRejected, emitFailed, queueFull, openRejected, actuateFailed, missedReads atomic.Uint64
}

// Stats returns the controller's counters.
func (c *Controller) Stats() Stats {
	s := &c.stats
	return Stats{
		Granted: s.granted.Load(), Denied: s.denied.Load(), APIRejected: s.apiRejected.Load(),
		EmitFailed: s.emitFailed.Load(), QueueFull: s.queueFull.Load(), OpenRejected: s.openRejected.Load(),
		ActuateFailed: s.actuateFailed.Load(), MissedReads: s.missedReads.Load(),
	}
}

func (c *Controller) count(d Decision) {
	if d.Granted {
		c.stats.granted.Add(1)
	} else {
		c.stats.denied.Add(1)
	}
}

// Plus returns the sum of s and o, field by field.
func (s Stats) Plus(o Stats) Stats {
	return Stats{
		Granted: s.Granted + o.Granted, Denied: s.Denied + o.Denied, APIRejected: s.APIRejected + o.APIRejected,
		EmitFailed: s.EmitFailed + o.EmitFailed, QueueFull: s.QueueFull + o.QueueFull, OpenRejected: s.OpenRejected + o.OpenRejected,
		ActuateFailed: s.ActuateFailed + o.ActuateFailed, MissedReads: s.MissedReads + o.MissedReads,
	}
}

// MissedReadsByDevice returns, for each device whose reader read
// credentials no poll saw, how many (see Stats.MissedReads).
func (c *Controller) MissedReadsByDevice() map[string]uint64 {
	out := map[string]uint64{}
	for id, ds := range c.devices {
		if n := ds.missed.Load(); n > 0 {
			out[id] = n
		}
	}
	return out
}
