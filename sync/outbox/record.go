package outbox

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jusha-ean/edge/events"
	bolt "go.etcd.io/bbolt"
)

// Records live in one bucket per class, keyed by their big-endian sequence;
// delivery merges the buckets by sequence. A value is
// [8 bytes append time, unix ns][1 byte n][n bytes category][event JSON].
const (
	classInfo   = 0 // info, unknown severity: evicted first
	classLow    = 1
	classMedium = 2
	classAlarm  = 3 // high and critical: never evicted
	numClasses  = 4
)

var (
	bucketMeta  = []byte("meta")
	keySeq      = []byte("seq")
	keyPressure = []byte("pressure") // the alarm id of a raised pressure event
	classBucket = [numClasses][]byte{[]byte("q0"), []byte("q1"), []byte("q2"), []byte("q3")}
)

// classOf maps a severity to its eviction class.
func classOf(s events.Severity) int {
	switch s {
	case events.Critical, events.High:
		return classAlarm
	case events.Medium:
		return classMedium
	case events.Low:
		return classLow
	default:
		return classInfo
	}
}

// Record is one stored event, as handed to the uplink.
type Record struct {
	Seq      uint64    // the event's sequence
	Category string    // topic category: alarm, access, device, gateway
	Appended time.Time // when it was made durable
	Payload  []byte    // the CloudEvents JSON, ready to publish
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// decodeRecord copies a stored record out of the (mmapped) value.
func decodeRecord(k, v []byte) (Record, error) {
	if len(k) != 8 || len(v) < 9 || len(v) < 9+int(v[8]) {
		return Record{}, fmt.Errorf("corrupt record (key %x, %d bytes)", k, len(v))
	}
	n := int(v[8])
	return Record{
		Seq:      binary.BigEndian.Uint64(k),
		Appended: time.Unix(0, int64(binary.BigEndian.Uint64(v))),
		Category: category(v[9 : 9+n]),
		Payload:  append([]byte(nil), v[9+n:]...),
	}, nil
}

// category returns the stored category as a string without allocating for
// the four known ones.
func category(b []byte) string {
	for _, c := range [...]string{events.CategoryAlarm, events.CategoryAccess, events.CategoryDevice, events.CategoryGateway} {
		if string(b) == c {
			return c
		}
	}
	return string(b)
}

// state is the in-memory summary of the store, rebuilt at Open and updated
// on every commit.
type state struct {
	seq        uint64
	bytes      [numClasses]int64
	count      [numClasses]int
	pressureID string
}

func (s state) total() int64 {
	var t int64
	for _, b := range s.bytes {
		t += b
	}
	return t
}

func (s state) depth() int {
	n := 0
	for _, c := range s.count {
		n += c
	}
	return n
}

// load creates the buckets and rebuilds the in-memory state from disk.
func (o *Outbox) load() error {
	return o.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySeq); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("corrupt sequence (%d bytes)", len(v))
			}
			o.st.seq = binary.BigEndian.Uint64(v)
		}
		o.st.pressureID = string(meta.Get(keyPressure))
		for c, name := range classBucket {
			b, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			err = b.ForEach(func(k, v []byte) error {
				o.st.bytes[c] += int64(len(k) + len(v))
				o.st.count[c]++
				if s := binary.BigEndian.Uint64(k); s > o.st.seq {
					// Cannot happen (the sequence is written in the same
					// transaction), but never hand out a used number.
					o.st.seq = s
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// oldest returns the append time of the oldest stored record.
func (o *Outbox) oldest() (time.Time, bool) {
	var best time.Time
	var bestSeq uint64
	found := false
	_ = o.db.View(func(tx *bolt.Tx) error {
		for _, name := range classBucket {
			k, v := tx.Bucket(name).Cursor().First()
			if k == nil || len(v) < 8 {
				continue
			}
			if s := binary.BigEndian.Uint64(k); !found || s < bestSeq {
				bestSeq, found = s, true
				best = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
			}
		}
		return nil
	})
	return best, found
}
