package rules

import (
	"context"
	"maps"
	"time"

	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// Output writes are bounded and retried at this pace while they fail.
const (
	outputTimeout = 5 * time.Second
	outputRetry   = 5 * time.Second
)

// outputKey names an escalation output coil.
type outputKey struct{ device, point string }

// output is the wanted and the last written state of one coil.
type output struct {
	want, have bool
	failing    bool
	nextTry    time.Time
}

// outputJob is one write Run performs outside the lock.
type outputJob struct {
	key outputKey
	on  bool
}

// Run ticks the engine with the real clock (Options.Now) until ctx ends,
// and drives the escalation outputs. It first hands over any events saved
// as pending before a restart. It returns nil when ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	tk := time.NewTicker(e.tickEvery)
	defer tk.Stop()
	e.mu.Lock()
	e.updateOutputs()
	e.dirty = true
	e.unlockAndFlush()
	var jobs []outputJob
	for {
		e.Tick(e.now())
		jobs = e.actuate(ctx, jobs[:0])
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.dirty = true
			e.unlockAndFlush()
			return nil
		case <-tk.C:
		case <-e.wake:
		}
	}
}

// escalate publishes alarm.escalated for every high or critical alarm that
// nobody acknowledged within the ack timeout. Called with e.mu held.
func (e *Engine) escalate(now time.Time) {
	if e.escalation.disabled {
		return
	}
	changed := false
	for _, a := range e.alarms {
		if a.Acked || a.Escalated || !a.needsAck() || now.Sub(a.RaisedAt) < e.ackTimeout {
			continue
		}
		a.Escalated, a.EscalatedAt = true, now
		data := maps.Clone(a.Data)
		if data == nil {
			data = map[string]any{}
		}
		data["location"] = a.Location
		data["alarm_type"] = a.Type
		data["raised_at"] = a.RaisedAt.UTC().Format(events.TimeFormat)
		data["ack_timeout_s"] = seconds(e.ackTimeout)
		if a.Cleared {
			data["cleared_at"] = a.ClearedAt.UTC().Format(events.TimeFormat)
		}
		e.log.Warn("alarm not acknowledged in time; escalated", "alarm", a.ID, "route", a.Route.Up())
		e.enqueue(e.event(a, TypeAlarmEscalated, events.Escalated, a.Route.Up(), now, data))
		changed = true
	}
	if changed {
		e.updateOutputs()
	}
}

// updateOutputs sets which coils should be on: those of escalated alarms
// not yet acknowledged. Called with e.mu held.
func (e *Engine) updateOutputs() {
	if len(e.outputs) == 0 {
		return
	}
	for _, o := range e.outputs {
		o.want = false
	}
	for _, a := range e.alarms {
		if a.Escalated && !a.Acked && a.OutputDevice != "" {
			if o := e.outputs[outputKey{a.OutputDevice, a.OutputPoint}]; o != nil {
				o.want = true
			}
		}
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// actuate writes every output whose wanted state differs from the written
// one, retrying failed writes every outputRetry.
func (e *Engine) actuate(ctx context.Context, jobs []outputJob) []outputJob {
	if e.out == nil {
		return jobs
	}
	now := e.now()
	e.mu.Lock()
	for k, o := range e.outputs {
		if o.want != o.have && !now.Before(o.nextTry) {
			jobs = append(jobs, outputJob{k, o.want})
		}
	}
	e.mu.Unlock()
	for _, j := range jobs {
		wctx, cancel := context.WithTimeout(ctx, outputTimeout)
		err := e.out.Write(wctx, j.key.device, j.key.point, drivers.BoolValue(j.on))
		cancel()
		e.mu.Lock()
		o := e.outputs[j.key]
		switch {
		case err == nil:
			o.have, o.failing, o.nextTry = j.on, false, time.Time{}
			e.log.Info("escalation output written", "device", j.key.device, "point", j.key.point, "on", j.on)
		default:
			o.nextTry = now.Add(outputRetry)
			if !o.failing {
				e.log.Warn("escalation output write failed; retrying", "device", j.key.device,
					"point", j.key.point, "on", j.on, "err", err)
			}
			o.failing = true
		}
		e.mu.Unlock()
	}
	return jobs
}
