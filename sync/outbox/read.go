package outbox

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Next returns up to max stored records with a sequence above after, oldest
// first. Records acknowledged but not yet committed are skipped. It does not
// block: when it returns nothing, wait on Notify.
func (o *Outbox) Next(after uint64, max int) ([]Record, error) {
	if max <= 0 {
		return nil, nil
	}
	o.mu.Lock()
	skip := len(o.acking) > 0
	o.mu.Unlock()
	acked := func(seq uint64) bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		_, ok := o.acking[seq]
		return ok
	}
	var out []Record
	var corrupt []uint64
	err := o.db.View(func(tx *bolt.Tx) error {
		var curs [numClasses]*bolt.Cursor
		var keys, vals [numClasses][]byte
		start := seqKey(after + 1)
		for c, name := range classBucket {
			b := tx.Bucket(name)
			if b == nil {
				return fmt.Errorf("bucket %s missing", name)
			}
			curs[c] = b.Cursor()
			keys[c], vals[c] = curs[c].Seek(start)
		}
		for len(out) < max {
			best := -1
			for c := range curs {
				if keys[c] != nil && (best < 0 || bytes.Compare(keys[c], keys[best]) < 0) {
					best = c
				}
			}
			if best < 0 {
				return nil
			}
			rec, err := decodeRecord(keys[best], vals[best])
			if err != nil {
				// Never let one bad record stop delivery for good.
				if len(keys[best]) == 8 {
					corrupt = append(corrupt, binary.BigEndian.Uint64(keys[best]))
				}
				o.log.Error("corrupt record dropped", "err", err)
				keys[best], vals[best] = curs[best].Next()
				continue
			}
			keys[best], vals[best] = curs[best].Next()
			if skip && acked(rec.Seq) {
				continue // delivered; its deletion is not committed yet
			}
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: next after %d: %w", after, err)
	}
	if len(corrupt) > 0 {
		o.corrupt.Add(uint64(len(corrupt)))
		_ = o.Ack(corrupt...) // deleted with the next commit
	}
	if len(out) > 0 {
		o.mu.Lock()
		var again uint64
		for _, r := range out {
			if r.Seq <= o.maxHanded {
				again++
			}
		}
		if len(out) > 0 && out[len(out)-1].Seq > o.maxHanded {
			o.maxHanded = out[len(out)-1].Seq
		}
		o.mu.Unlock()
		o.retries.Add(again)
	}
	return out, nil
}

// Ack deletes delivered records. It returns at once: the deletion is
// committed with the next transaction (a lost ack only means a duplicate
// delivery). Unknown or already deleted sequences are ignored.
func (o *Outbox) Ack(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	o.closeMu.RLock()
	defer o.closeMu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	o.mu.Lock()
	o.acks = append(o.acks, seqs...)
	for _, s := range seqs {
		o.acking[s] = struct{}{}
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}
