package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jusha-ean/edge/events"
	bolt "go.etcd.io/bbolt"
)

// committer is the only writer. It takes every append waiting (up to
// MaxBatch) and every pending ack, commits them in one transaction, then
// answers the appends. While it waits for the disk, new appends queue up and
// form the next batch: that is the group commit.
func (o *Outbox) committer() {
	defer close(o.done)
	batch := make([]*appendReq, 0, o.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-o.reqs:
			batch = append(batch, r)
		case <-o.wake:
		case <-o.stop:
			// Close holds no appenders any more: drain what is queued.
			for {
				batch = batch[:0]
				batch = o.drain(batch)
				o.mu.Lock()
				noAcks := len(o.acks) == 0
				o.mu.Unlock()
				if len(batch) == 0 && noAcks {
					return
				}
				o.commit(batch)
			}
		}
		batch = o.drain(batch)
		o.commit(batch)
	}
}

func (o *Outbox) drain(batch []*appendReq) []*appendReq {
	for len(batch) < o.opts.MaxBatch {
		select {
		case r := <-o.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit writes one batch of appends and the pending acks in a transaction.
func (o *Outbox) commit(batch []*appendReq) {
	o.mu.Lock()
	acks := o.acks
	o.acks = nil
	st := o.st
	o.mu.Unlock()

	var pressureEvent *appendReq
	var evicted, refused uint64
	var acked uint64
	err := o.db.Update(func(tx *bolt.Tx) error {
		evicted, refused, acked = 0, 0, 0
		st2 := st
		t := txn{o: o, tx: tx, st: &st2}
		for _, name := range classBucket {
			// Keys only ever grow: fill pages instead of splitting them
			// in half (bbolt's advice for append-only buckets).
			tx.Bucket(name).FillPercent = 0.9
		}
		for _, s := range acks {
			ok, err := t.remove(s)
			if err != nil {
				return err
			}
			if ok {
				acked++
			}
		}
		for _, r := range batch {
			r.err = nil
			n, err := t.put(r)
			evicted += n
			if errors.Is(err, ErrFull) {
				r.err = err
				refused++
				continue
			}
			if err != nil {
				return err
			}
		}
		pe, err := t.pressure()
		if err != nil {
			return err
		}
		pressureEvent = pe
		if err := tx.Bucket(bucketMeta).Put(keySeq, binary.BigEndian.AppendUint64(nil, st2.seq)); err != nil {
			return err
		}
		st = st2
		evicted += t.evicted
		return nil
	})

	o.mu.Lock()
	if err == nil {
		o.st = st
	}
	for _, s := range acks {
		delete(o.acking, s)
	}
	o.mu.Unlock()

	if err != nil {
		err = fmt.Errorf("outbox: commit: %w", err)
		o.log.Error("commit failed", "events", len(batch), "acks", len(acks), "err", err)
		for _, r := range batch {
			r.err = err
			close(r.done)
		}
		return
	}
	o.commits.Add(1)
	o.evictions.Add(evicted)
	o.refused.Add(refused)
	o.acked.Add(acked)
	o.appended.Add(uint64(len(batch)) - refused)
	if evicted > 0 {
		o.log.Debug("evicted records to make room", "count", evicted)
	}
	if pressureEvent != nil {
		raised := pressureEvent.ev.Phase == events.Raised
		o.log.Warn("outbox pressure", "phase", pressureEvent.ev.Phase, "bytes", st.total(),
			"max_bytes", o.opts.MaxBytes, "depth", st.depth())
		if o.opts.OnPressure != nil {
			o.opts.OnPressure(raised)
		}
	}
	for _, r := range batch {
		if r.err != nil {
			o.log.Warn("event refused: outbox full of events it may not evict", "type", r.ev.Type, "id", r.ev.ID,
				"severity", r.ev.Severity, "bytes", st.total(), "max_bytes", o.opts.MaxBytes)
		}
		close(r.done)
	}
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// txn applies changes to the store and to a copy of its state.
type txn struct {
	o       *Outbox
	tx      *bolt.Tx
	st      *state
	evicted uint64 // by internal events
}

// remove deletes the record seq, wherever it is.
func (t *txn) remove(seq uint64) (bool, error) {
	k := seqKey(seq)
	for c, name := range classBucket {
		b := t.tx.Bucket(name)
		v := b.Get(k)
		if v == nil {
			continue
		}
		size := int64(len(k) + len(v))
		if err := b.Delete(k); err != nil {
			return false, err
		}
		t.st.bytes[c] -= size
		t.st.count[c]--
		return true, nil
	}
	return false, nil
}

// put stores r, evicting older records of its class or lower (never
// alarms) when the store would exceed its bound. It returns the number
// evicted, and ErrFull (storing nothing) when no room can be made.
func (t *txn) put(r *appendReq) (uint64, error) {
	maxBytes := t.o.opts.MaxBytes
	if t.st.total()+r.size > maxBytes {
		top := min(r.class, classMedium)
		var evictable int64
		for c := 0; c <= top; c++ {
			evictable += t.st.bytes[c]
		}
		if t.st.total()-evictable+r.size > maxBytes {
			return 0, ErrFull
		}
	}
	var n uint64
	for c := 0; t.st.total()+r.size > maxBytes; {
		if c > min(r.class, classMedium) {
			return n, fmt.Errorf("accounting error: no record left to evict (%d bytes stored)", t.st.total())
		}
		if t.st.count[c] == 0 {
			c++
			continue
		}
		b := t.tx.Bucket(classBucket[c])
		k, _ := b.Cursor().First()
		if k == nil {
			return n, fmt.Errorf("class %d counted %d records, found none", c, t.st.count[c])
		}
		if _, err := t.remove(binary.BigEndian.Uint64(k)); err != nil {
			return n, err
		}
		n++
	}
	seq := t.st.seq + 1
	putSeq(r.value[r.seqAt:r.seqAt+20], seq)
	binary.BigEndian.PutUint64(r.value, uint64(t.o.opts.Now().UnixNano()))
	k := seqKey(seq)
	v := r.value
	if err := t.tx.Bucket(classBucket[r.class]).Put(k, v); err != nil {
		return n, err
	}
	t.st.seq = seq
	t.st.bytes[r.class] += int64(len(k) + len(v))
	t.st.count[r.class]++
	r.seq = seq
	return n, nil
}
