package telemetry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Run closes a window at every multiple of the interval and writes the
// buffered points until ctx ends. Then it closes the last, partial window
// and flushes what it can within a short deadline; points still buffered
// after it count as dropped. It returns nil; a nil Writer waits for ctx.
func (w *Writer) Run(ctx context.Context) error {
	if w == nil {
		<-ctx.Done()
		return nil
	}
	defer w.store.close()
	sendCtx, stopSender := context.WithCancel(ctx)
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		w.sendLoop(sendCtx)
	}()

	next := nextBoundary(time.Now(), w.interval)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			deadline := time.Now().Add(w.shutdownTimeout)
			stopSender()
			<-senderDone // it finishes a write in flight, by deadline at most
			// The last window must not share a timestamp with the one
			// before: the store would overwrite that window's counts.
			last := time.Now()
			if floor := w.lastStamp.Add(time.Millisecond); last.Before(floor) {
				last = floor
			}
			w.collect(last)
			w.drain(ctx, deadline)
			return nil
		case now := <-timer.C:
			if now.Sub(next) > w.interval {
				// The clock jumped or the machine slept: stamp this window
				// with now rather than a boundary long past.
				next = now
			}
			w.collect(next)
			w.wake()
			next = nextBoundary(now, w.interval)
			timer.Reset(time.Until(next))
		}
	}
}

// nextBoundary is the first multiple of interval after now, so that every
// gateway stamps its windows on the same grid.
func nextBoundary(now time.Time, interval time.Duration) time.Time {
	return now.Truncate(interval).Add(interval)
}

func (w *Writer) wake() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// sendLoop writes full batches as soon as they are buffered and whatever is
// buffered every flush interval, until ctx ends. A write in flight when ctx
// ends is let finish, for shutdownTimeout at most: the store may have stored
// the batch already, and cutting the request off would make the shutdown
// drain send it again, counting those points twice in a store that keeps
// duplicates (VictoriaMetrics without deduplication does).
func (w *Writer) sendLoop(ctx context.Context) {
	write, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(w.shutdownTimeout, cancel) })()
	tick := time.NewTicker(w.flushInterval)
	defer tick.Stop()
	var batch []string
	for {
		all := false
		select {
		case <-ctx.Done():
			return
		case <-w.notify:
		case <-tick.C:
			all = true
		}
		for ctx.Err() == nil {
			n := w.buf.len()
			if n == 0 || (!all && n < w.batchSize) {
				break
			}
			var ok bool
			if batch, ok = w.send(ctx, write, batch); !ok {
				return
			}
		}
	}
}

// drain writes what is buffered at shutdown, until deadline.
func (w *Writer) drain(parent context.Context, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(parent), deadline)
	defer cancel()
	var batch []string
	for w.buf.len() > 0 {
		var ok bool
		if batch, ok = w.send(ctx, ctx, batch); !ok {
			break
		}
	}
	if n := w.buf.abandon(); n > 0 {
		w.log.Warn("telemetry points dropped at shutdown: store not reachable in time",
			"points", n, "deadline", w.shutdownTimeout)
	}
}

// send writes one batch of the oldest buffered points, retrying with
// backoff while the store is unreachable or answers 5xx or 429. Requests
// run under write, waits end with ctx. It returns false if either ended
// first, with the batch left in the buffer.
func (w *Writer) send(ctx, write context.Context, batch []string) ([]string, bool) {
	for attempt := 0; ; attempt++ {
		batch = w.buf.take(batch[:0], w.batchSize)
		if len(batch) == 0 {
			w.buf.settle(delivered)
			return batch, true
		}
		err := w.store.write(write, batch)
		clear(batch) // let the strings go once the ring releases them
		if err == nil {
			w.buf.settle(delivered)
			if attempt > 0 {
				w.log.Info("telemetry store reachable again", "failed_attempts", attempt)
			}
			return batch, true
		}
		if ctx.Err() != nil || write.Err() != nil {
			w.buf.settle(failed)
			return batch, false
		}
		w.recordError(err)
		var he *influxhttp.Error
		status := 0
		if errors.As(err, &he) {
			status = he.StatusCode
		}
		if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
			w.buf.settle(refused)
			msg := err.Error()
			if he != nil && he.Message != "" {
				msg = he.Message
			}
			w.log.Error("telemetry batch refused by the store, not retried",
				"status", status, "message", msg, "points", len(batch))
			return batch, true
		}
		w.buf.settle(failed)
		wait := w.backoff(attempt, he)
		if attempt == 0 {
			w.log.Warn("telemetry write failed, retrying with backoff",
				"err", err, "status", status, "buffered", w.buf.len(), "retry_in", wait)
		} else {
			w.log.Debug("telemetry write failed again", "err", err, "attempt", attempt+1, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return batch, false
		case <-t.C:
		}
	}
}

// backoff is the wait before retry attempt+1: exponential from retryMin,
// capped at retryMax, with jitter so gateways do not retry in step. A
// Retry-After from the server is honoured up to retryMax.
func (w *Writer) backoff(attempt int, he *influxhttp.Error) time.Duration {
	d := w.retryMax
	if attempt < 30 {
		d = min(w.retryMin<<attempt, w.retryMax)
	}
	d = d/2 + rand.N(d/2+1)
	if he != nil && he.RetryAfter > 0 {
		d = min(max(d, time.Duration(he.RetryAfter)*time.Second), w.retryMax)
	}
	return d
}

func (w *Writer) recordError(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	w.writeErrors++
	w.lastErr = err.Error()
	w.lastErrAt = time.Now()
}
