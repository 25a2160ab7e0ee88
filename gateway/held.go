package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jusha-ean/edge/events"
)

// maxHeld bounds the events held in memory while the outbox refuses them.
const maxHeld = 10000

// heldRetry is how often held events are offered to the outbox again.
const heldRetry = time.Second

// errHolding answers a caller that needs durability while events are held.
var errHolding = errors.New("the outbox refuses events (disk full?): events are held in memory")

// heldEvents are events the outbox refused, kept in order in memory until
// it takes them again, so that a full disk loses nothing it need not. When
// even memory's bound is reached, the oldest info event goes first, then
// the oldest low one, and so on: alarms are the last to go.
type heldEvents struct {
	mu      sync.Mutex
	q       []heldEvent
	next    uint64 // numbers the held events, to find one again
	dropped uint64
}

type heldEvent struct {
	n  uint64
	ev events.Event
}

func (h *heldEvents) holding() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.q) > 0
}

func (h *heldEvents) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.q)
}

// hold keeps ev, telling the rules of it at once (a grant must still cover
// the opening it causes), and logs the first refusal of a run.
func (g *Gateway) hold(ev events.Event, err error) {
	g.pipe.Load().rules.Notify(ev)
	h := &g.held
	h.mu.Lock()
	first := len(h.q) == 0
	if len(h.q) >= maxHeld {
		h.q = dropLeastUrgent(h.q)
		h.dropped++
		if h.dropped == 1 || h.dropped%1000 == 0 {
			g.log.Error("events lost: the outbox refuses them and the memory bound is reached", "lost", h.dropped, "held", len(h.q))
		}
	}
	h.next++
	h.q = append(h.q, heldEvent{n: h.next, ev: ev})
	n := len(h.q)
	h.mu.Unlock()
	if first {
		g.log.Error("event not stored: the outbox refuses it (is state_dir full?); holding events in memory and retrying",
			"type", ev.Type, "subject", ev.Subject, "state_dir", g.cfg.StateDir, "err", err)
	} else if n%1000 == 0 {
		g.log.Warn("events held in memory", "held", n)
	}
}

// dropLeastUrgent removes the oldest event of the lowest severity.
func dropLeastUrgent(q []heldEvent) []heldEvent {
	victim := 0
	for i, e := range q {
		if e.ev.Severity.Rank() < q[victim].ev.Severity.Rank() {
			victim = i
		}
	}
	return append(q[:victim], q[victim+1:]...)
}

// runHeld offers held events to the outbox, oldest first, until ctx ends.
func (g *Gateway) runHeld(ctx context.Context) error {
	tick := time.NewTicker(heldRetry)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if n := g.held.len(); n > 0 {
				g.log.Error("stopping with events the outbox refused", "held", n)
			}
			return nil
		case <-tick.C:
			g.flushHeld(ctx)
		}
	}
}

// flushHeld stores held events until the outbox refuses one again.
func (g *Gateway) flushHeld(ctx context.Context) {
	stored := 0
	for {
		g.held.mu.Lock()
		if len(g.held.q) == 0 {
			g.held.mu.Unlock()
			break
		}
		h := g.held.q[0]
		g.held.mu.Unlock()
		if _, err := g.store(ctx, h.ev); err != nil {
			return
		}
		g.held.mu.Lock()
		// Memory's bound may have dropped events meanwhile: take out
		// exactly the one stored.
		for i := range g.held.q {
			if g.held.q[i].n == h.n {
				g.held.q = append(g.held.q[:i], g.held.q[i+1:]...)
				break
			}
		}
		if len(g.held.q) == 0 {
			g.held.q = nil
		}
		g.held.mu.Unlock()
		stored++
	}
	if stored > 0 {
		g.log.Info("the outbox takes events again; held events stored", "stored", stored)
	}
}
