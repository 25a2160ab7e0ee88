package simsite

import (
	"strconv"
	"sync"

	"github.com/jusha-ean/edge/events"
)

// Ledger records every event a gateway made durable (its OnEvent), by
// sequence, to compare with what the platform received.
type Ledger struct {
	mu   sync.Mutex
	seqs map[uint64]string // sequence -> event id
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{seqs: map[uint64]string{}} }

// Add records ev; use it as gateway.Options.OnEvent.
func (l *Ledger) Add(ev events.Event) {
	seq, _ := strconv.ParseUint(ev.Sequence, 10, 64)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seqs[seq] = ev.ID
}

// Len is how many events were recorded.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seqs)
}

// Seqs returns a copy of what was recorded: sequence -> event id.
func (l *Ledger) Seqs() map[uint64]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[uint64]string, len(l.seqs))
	for k, v := range l.seqs {
		out[k] = v
	}
	return out
}
