// Package outbox is the gateway's durable, bounded, prioritised event store.
//
// Every event the gateway raises is appended here before it counts as raised:
// Append returns only once the record is on disk (fsynced). The uplink reads
// records oldest first with Next and deletes each one with Ack only after the
// broker's PUBACK, so delivery is at least once and in stored order.
//
// Each record gets a sequence number, rising by one per event and persisted in
// the same transaction as the record, so it never repeats or goes back across
// restarts. Concurrent appends share one transaction and one fsync (group
// commit): a single committer goroutine takes every append that is waiting
// and commits them together.
//
// The store is bounded by MaxBytes (the bytes of its records). When an append
// would exceed it, older records of the same or a lower class are evicted:
// info first, then low, then medium. High and critical records are never
// evicted; an event is refused with ErrFull only when no record it may evict
// is left. At 80% the outbox appends a gateway.outbox_pressure event (phase
// raised) through itself, and below 60% the cleared one.
package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors returned by the outbox.
var (
	// ErrClosed is returned by calls on a closed outbox.
	ErrClosed = errors.New("outbox: closed")
	// ErrFull is returned when an event cannot be stored: the store is
	// full of records of a higher or equal class that may not be evicted.
	ErrFull = errors.New("outbox: full")
	// ErrTooLarge is returned for an event bigger than the whole store.
	ErrTooLarge = errors.New("outbox: event larger than max bytes")
	// ErrInvalid is returned for an event without a type.
	ErrInvalid = errors.New("outbox: invalid event")
)

// DefaultMaxBytes bounds the store when Options.MaxBytes is zero.
const DefaultMaxBytes = 256 << 20

// DefaultMaxBatch bounds how many appends share one transaction.
const DefaultMaxBatch = 8192

// Pressure thresholds, as fractions of MaxBytes.
const (
	PressureRaise = 0.80
	PressureClear = 0.60
)

// Options configure an outbox. Source is required.
type Options struct {
	// MaxBytes bounds the bytes of the stored records (keys and values; the
	// bbolt file itself is somewhat larger). Zero means DefaultMaxBytes.
	MaxBytes int64
	// Source is the CloudEvents source set on every event:
	// "/jusha/{site}/{gateway}".
	Source string
	// Log receives warnings (refused events, pressure). Nil discards.
	Log *slog.Logger
	// MaxBatch bounds the appends committed in one transaction.
	MaxBatch int
	// OnPressure, if set, is called when pressure is raised (true) or
	// cleared (false). It runs on the committer goroutine: it must not block
	// and must not call Append (which would wait for that goroutine).
	OnPressure func(raised bool)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Outbox is an open event store. Its methods are safe for concurrent use.
type Outbox struct {
	db     *bolt.DB
	opts   Options
	log    *slog.Logger
	reqs   chan *appendReq
	wake   chan struct{} // acks are pending
	notify chan struct{} // records were committed
	stop   chan struct{}
	done   chan struct{}

	closeMu sync.RWMutex // held for reading while sending on reqs
	closed  bool
	once    sync.Once

	mu        sync.Mutex // guards the fields below
	st        state
	acks      []uint64
	acking    map[uint64]struct{} // acked, not yet committed: hidden from Next
	maxHanded uint64              // highest sequence Next has returned

	evictions atomic.Uint64
	refused   atomic.Uint64
	retries   atomic.Uint64
	appended  atomic.Uint64
	acked     atomic.Uint64
	commits   atomic.Uint64
	corrupt   atomic.Uint64
}

// Open opens (or creates) the store at path and starts its committer.
func Open(path string, opts Options) (*Outbox, error) {
	if opts.Source == "" {
		return nil, fmt.Errorf("outbox %s: %w: empty source", path, ErrInvalid)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second, // another process holds the file lock
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Growing the map waits for every reader: map the whole bound
		// (with room for bbolt's overhead) at once, within reason.
		InitialMmapSize: initialMmap(opts.MaxBytes),
	})
	if err != nil {
		return nil, fmt.Errorf("outbox %s: open: %w", path, err)
	}
	o := &Outbox{
		db:     db,
		opts:   opts,
		log:    log.With("component", "outbox"),
		reqs:   make(chan *appendReq, opts.MaxBatch),
		wake:   make(chan struct{}, 1),
		notify: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		acking: make(map[uint64]struct{}),
	}
	if err := o.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	go o.committer()
	return o, nil
}

// initialMmap is the address space mapped at open: twice the bound, at most
// 1 GiB, or 256 MiB on 32-bit systems, where address space is scarce.
func initialMmap(maxBytes int64) int {
	limit := int64(1 << 30)
	if strconv.IntSize == 32 {
		limit = 256 << 20
	}
	return int(min(2*maxBytes, limit))
}

// Close commits what is pending (appends and acks), stops the committer and
// closes the file. Appends after Close fail with ErrClosed.
func (o *Outbox) Close() error {
	var err error
	o.once.Do(func() {
		o.closeMu.Lock()
		o.closed = true
		o.closeMu.Unlock()
		close(o.stop)
		<-o.done
		err = o.db.Close()
	})
	return err
}

// Notify returns a channel that receives a value after records are
// committed. It has room for one value, for one reader (the uplink).
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// Stats are the outbox's gauges and counters.
type Stats struct {
	Depth     int           // records stored
	Bytes     int64         // bytes of the stored records
	MaxBytes  int64         // the bound
	OldestAge time.Duration // age of the oldest stored record; 0 if empty
	LastSeq   uint64        // the last sequence assigned
	Pressure  bool          // gateway.outbox_pressure is raised
	Appended  uint64        // events appended since Open
	Acked     uint64        // records deleted after delivery since Open
	Evictions uint64        // records evicted to make room since Open
	Refused   uint64        // events refused with ErrFull since Open
	Retries   uint64        // records handed out again by Next (redeliveries)
	Commits   uint64        // transactions committed (fsyncs) since Open
	Corrupt   uint64        // unreadable records dropped since Open
}

// Stats returns the current figures.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	st := o.st
	o.mu.Unlock()
	s := Stats{
		Depth:     st.depth(),
		Bytes:     st.total(),
		MaxBytes:  o.opts.MaxBytes,
		LastSeq:   st.seq,
		Pressure:  st.pressureID != "",
		Appended:  o.appended.Load(),
		Acked:     o.acked.Load(),
		Evictions: o.evictions.Load(),
		Refused:   o.refused.Load(),
		Retries:   o.retries.Load(),
		Commits:   o.commits.Load(),
		Corrupt:   o.corrupt.Load(),
	}
	if oldest, ok := o.oldest(); ok {
		s.OldestAge = max(o.opts.Now().Sub(oldest), 0)
	}
	return s
}
