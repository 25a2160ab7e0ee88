package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ackBatch bounds how many PUBACKed records are deleted in one outbox call.
const ackBatch = 512

type flight struct {
	seq uint64
	tok mqtt.Token
}

var errStopped = errors.New("stopped")

// serve drains the outbox over one connection until it is lost or ctx
// ends. The pump publishes records oldest first; the acker waits for their
// PUBACKs in the same order and deletes them from the outbox. The in-flight
// channel's capacity is the window.
func (u *Uplink) serve(ctx context.Context, cn *conn) error {
	inflight := make(chan flight, u.window)
	quit := make(chan struct{})
	ackerStopped := make(chan struct{})
	var ackErr error
	go func() {
		defer close(ackerStopped)
		ackErr = u.acker(inflight, cn, quit)
	}()
	err := u.pump(ctx, cn, inflight, ackerStopped)
	close(inflight)
	// On a clean stop, let the PUBACKs of what is in flight arrive, so
	// that those records are not sent again after the restart.
	grace := time.NewTimer(shutdownGrace)
	defer grace.Stop()
	select {
	case <-ackerStopped:
	case <-grace.C:
		close(quit)
		<-ackerStopped
	}
	if err == nil && ackErr != nil && !errors.Is(ackErr, errStopped) {
		err = ackErr
	}
	return err
}

func (u *Uplink) pump(ctx context.Context, cn *conn, inflight chan<- flight, ackerStopped <-chan struct{}) error {
	var after uint64 // each connection starts at the oldest record kept
	batch := max(u.window/2, 1)
	topics := map[string]string{}
	topic := func(category string) string {
		t, ok := topics[category]
		if !ok {
			t = u.prefix + "/events/" + category
			topics[category] = t
		}
		return t
	}
	for {
		recs, err := u.ob.Next(after, batch)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			select {
			case <-u.ob.Notify():
				continue
			case <-ctx.Done():
				return nil
			case <-cn.down:
				return cn.err
			case <-ackerStopped:
				return errors.New("acknowledgements stopped")
			}
		}
		for _, r := range recs {
			tok := cn.c.Publish(topic(r.Category), 1, false, r.Payload)
			f := flight{seq: r.Seq, tok: tok}
			select {
			case inflight <- f: // the window has room: the usual case
				after = r.Seq
				u.st.published.Add(1)
				continue
			default:
			}
			select {
			case inflight <- f:
			case <-ctx.Done():
				return nil
			case <-cn.down:
				return cn.err
			case <-ackerStopped:
				return errors.New("acknowledgements stopped")
			}
			after = r.Seq
			u.st.published.Add(1)
		}
	}
}

// acker deletes records after their PUBACK, in publish order. It returns
// when the in-flight channel is closed and drained, when the connection
// is lost, when a publish fails, or when quit is closed.
func (u *Uplink) acker(inflight <-chan flight, cn *conn, quit <-chan struct{}) error {
	batch := make([]uint64, 0, ackBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := u.ob.Ack(batch...); err != nil {
			u.log.Warn("ack not stored: records will be sent again", "count", len(batch), "err", err)
		} else {
			u.st.acked.Add(uint64(len(batch)))
		}
		batch = batch[:0]
	}
	defer flush()
	for {
		var f flight
		var ok bool
		select {
		case f, ok = <-inflight:
		default:
			flush() // nothing else ready: do not sit on acks
			select {
			case f, ok = <-inflight:
			case <-cn.down:
				return cn.err
			case <-quit:
				return errStopped
			}
		}
		if !ok {
			return nil
		}
		select {
		case <-f.tok.Done(): // already acknowledged: the usual case under load
		default:
			flush() // about to wait: do not sit on acks
			select {
			case <-f.tok.Done():
			case <-cn.down:
				return cn.err
			case <-quit:
				return errStopped
			}
		}
		if err := f.tok.Error(); err != nil {
			return fmt.Errorf("publish of record %d: %w", f.seq, err)
		}
		batch = append(batch, f.seq)
		if len(batch) >= ackBatch {
			flush()
		}
	}
}
