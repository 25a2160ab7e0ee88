package uplink

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// PublishState sends payload retained on P/state/{device} when it differs
// from the last one sent, at most once per StateInterval per device; a
// newer payload replaces one still waiting. It never blocks.
func (u *Uplink) PublishState(device string, payload []byte) {
	if u.states.put(device, payload) {
		select {
		case u.stateWak <- struct{}{}:
		default:
		}
	}
}

// runStates publishes due states while connected.
func (u *Uplink) runStates(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := time.Time{}
		if c := u.current(); c != nil {
			var due []stateMsg
			due, next = u.states.due(time.Now())
			for _, m := range due {
				// Not waiting for the PUBACK: retained state is the latest
				// picture, and a lost one is replaced by the next change.
				c.Publish(u.prefix+"/state/"+m.device, 1, true, m.payload)
				u.st.statesPublished.Add(1)
			}
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-u.stateWak:
		case <-u.connUp:
		case <-timer.C:
		}
	}
}

type stateMsg struct {
	device  string
	payload []byte
}

// coalescer holds, per device, the last state sent and the one waiting.
type coalescer struct {
	every time.Duration

	mu        sync.Mutex
	devs      map[string]*devState
	coalesced uint64
}

type devState struct {
	sent    []byte
	sentAt  time.Time
	pending []byte // nil when nothing waits
}

func newCoalescer(every time.Duration) *coalescer {
	return &coalescer{every: every, devs: map[string]*devState{}}
}

// put records a new state; it reports whether something now waits.
func (c *coalescer) put(device string, payload []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.devs[device]
	if d == nil {
		d = &devState{}
		c.devs[device] = d
	}
	if d.pending == nil && d.sent != nil && bytes.Equal(d.sent, payload) {
		return false // no change
	}
	if d.pending != nil {
		c.coalesced++
	}
	d.pending = append([]byte{}, payload...)
	return true
}

// due takes the states that may be sent at now, and returns when the next
// waiting one may be (zero if none waits).
func (c *coalescer) due(now time.Time) ([]stateMsg, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []stateMsg
	var next time.Time
	for dev, d := range c.devs {
		if d.pending == nil {
			continue
		}
		at := d.sentAt.Add(c.every)
		if d.sentAt.IsZero() || !now.Before(at) {
			if !bytes.Equal(d.pending, d.sent) {
				out = append(out, stateMsg{device: dev, payload: d.pending})
				d.sent, d.sentAt = d.pending, now
			}
			d.pending = nil
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return out, next
}

func (c *coalescer) coalescedCount() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.coalesced
}
