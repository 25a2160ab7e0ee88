package outbox

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jusha-ean/edge/events"
)

// seqPlaceholder is marshalled in place of the sequence; the committer
// overwrites its 20 digits once the sequence is known, so that the JSON is
// encoded by the appending goroutine, not by the single committer.
const seqPlaceholder = "00000000000000000000"

// FormatSeq formats a sequence as the event's 20-digit decimal string.
func FormatSeq(seq uint64) string {
	var b [20]byte
	putSeq(b[:], seq)
	return string(b[:])
}

// ParseSeq parses an event's sequence string.
func ParseSeq(s string) (uint64, error) {
	if len(s) != 20 {
		return 0, fmt.Errorf("sequence %q: want 20 digits", s)
	}
	return strconv.ParseUint(s, 10, 64)
}

func putSeq(dst []byte, seq uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + seq%10)
		seq /= 10
	}
}

type appendReq struct {
	ev       events.Event
	class    int
	category string
	value    []byte // the record as stored; time and sequence filled in at commit
	seqAt    int    // offset of the sequence placeholder's digits in value
	size     int64  // key + value bytes once stored

	seq  uint64
	err  error
	done chan struct{}
}

// newReq fills in the envelope and encodes the event.
func (o *Outbox) newReq(ev events.Event) (*appendReq, error) {
	if ev.Type == "" {
		return nil, fmt.Errorf("%w: empty type", ErrInvalid)
	}
	now := o.opts.Now()
	if ev.Time.IsZero() {
		ev.Time = now
	}
	if ev.ID == "" {
		ev.ID = events.NewID(now)
	}
	ev.Source = o.opts.Source
	ev.SpecVersion = "1.0"
	if ev.DataContentType == "" {
		ev.DataContentType = "application/json"
	}
	cat := events.Category(ev.Type)
	// The stored value is built here, off the committer: the committer
	// only writes the append time and the sequence into it.
	value := make([]byte, 9, 9+len(cat)+512)
	value[8] = byte(len(cat))
	value = append(value, cat...)
	value, at, err := appendEvent(value, &ev)
	if err != nil {
		return nil, fmt.Errorf("outbox: encode %s: %w", ev.Type, err)
	}
	r := &appendReq{
		ev:       ev,
		class:    classOf(ev.Severity),
		category: cat,
		value:    value,
		seqAt:    at,
		size:     int64(8 + len(value)),
		done:     make(chan struct{}),
	}
	if r.size > o.opts.MaxBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, ev.Type, r.size)
	}
	return r, nil
}

// Append stores ev durably and returns it as stored: with its ID (a new
// ULID when empty), Source, SpecVersion and Sequence set. It returns only
// once the record is fsynced. Concurrent appends share one fsync.
//
// It fails with ErrFull when the store is full of records ev may not evict,
// and with ctx's error if ctx ends first; in that case the event may still
// have been stored.
func (o *Outbox) Append(ctx context.Context, ev events.Event) (events.Event, error) {
	r, err := o.newReq(ev)
	if err != nil {
		return ev, err
	}
	if err := o.enqueue(ctx, r); err != nil {
		return ev, err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return ev, fmt.Errorf("outbox: append %s: %w", ev.Type, ctx.Err())
	}
	if r.err != nil {
		return ev, r.err
	}
	out := r.ev
	out.Sequence = FormatSeq(r.seq)
	return out, nil
}

func (o *Outbox) enqueue(ctx context.Context, r *appendReq) error {
	o.closeMu.RLock()
	defer o.closeMu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	select {
	case o.reqs <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("outbox: append %s: %w", r.ev.Type, ctx.Err())
	}
}
