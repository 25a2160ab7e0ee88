package access

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bbolt layout: meta holds the applied version and its facts, entries maps
// entry id to its binary form (codec.go; credentials only as hashes), creds
// maps each credential hash to the id of the entry holding it, usage holds
// today's counters, opens the remote-open ids already seen with their expiry.
var (
	bucketMeta    = []byte("meta")
	bucketEntries = []byte("entries")
	bucketCreds   = []byte("creds")
	bucketUsage   = []byte("usage")
	bucketOpens   = []byte("opens")

	keyVersion  = []byte("version")
	keySite     = []byte("site")
	keyIssuedAt = []byte("issued_at")
	keyCount    = []byte("entries")
	keyKeyCheck = []byte("key_check")
)

// initialMmapSize is 256 MiB on 64-bit systems, 32 MiB where address space
// is scarce (GOARM=7).
const initialMmapSize = 32<<20 + (strconv.IntSize/64)*(224<<20)

// Options configure a [Store].
type Options struct {
	// Site is this gateway's site; updates for another site are rejected.
	Site string
	// Key is the 32-byte site key for credential hashes.
	Key []byte
	// Signers are the Ed25519 keys allowed to sign updates, by key id.
	Signers map[string]ed25519.PublicKey
	// Location is the site's time zone for schedules and daily limits;
	// nil means time.Local.
	Location *time.Location
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// ReadOnly opens the file shared, for offline tools; updates fail.
	ReadOnly bool
}

// Store is the whitelist: a bbolt file, and the compact in-memory index
// (index.go) that decisions read once [Store.Run] has built it. Opening it
// reads only the meta data, so the gateway polls at once; until the index
// is ready (and in a store nobody runs, as the offline tools open it)
// decisions read the file in place, in a short read transaction each. All
// methods are safe for concurrent use.
type Store struct {
	db       *bolt.DB
	path     string
	site     string
	hasher   *Hasher
	signers  map[string]ed25519.PublicKey
	loc      *time.Location
	log      *slog.Logger
	readOnly bool
	keyCheck [32]byte // identifies the site key without revealing it

	applyMu sync.Mutex // serialises updates and usage flushes

	mu       sync.RWMutex // guards count, version, issuedAt
	count    int
	version  uint64
	issuedAt time.Time

	// legacy maps credential hashes to entry ids for a file without the
	// creds bucket opened read-only (a writable open adds the bucket).
	legacy map[[32]byte]string

	usage     usage
	schedules schedules // compiled schedules for decisions on the file

	// idx is the index decisions read; nil until Run has built it, or
	// after an update it could not take (decisions then read the file).
	// It changes only under applyMu.
	idx atomic.Pointer[index]
	// indexing is set once Run builds the index: from then on updates
	// keep it current, and a snapshot builds one of its own.
	indexing atomic.Bool
	mergeC   chan struct{} // asks Run to merge a large overlay

	applied, rejected atomic.Uint64
	// touched says whether a read may have mapped file pages in since
	// the last trim; touchedC wakes Run when it becomes true.
	touched   atomic.Bool
	touchedC  chan struct{}
	trimError atomic.Bool // a trim failed: logged once, not retried
}

// Open opens (or creates) the whitelist file at path. It reads the meta data
// and today's usage counters, not the entries.
func Open(path string, opts Options) (*Store, error) {
	if len(opts.Key) != SiteKeySize {
		return nil, fmt.Errorf("whitelist: site key must be %d bytes, got %d", SiteKeySize, len(opts.Key))
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: 2 * time.Second, ReadOnly: opts.ReadOnly,
		// Growing the map remaps and re-reads every open node; starting
		// large keeps that out of a delta's commit. Virtual size only.
		InitialMmapSize: initialMmapSize,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("whitelist %s: locked by another process (is the gateway running?): %w", path, err)
		}
		return nil, fmt.Errorf("whitelist %s: %w", path, err)
	}
	s := &Store{
		db: db, path: path, site: opts.Site, hasher: NewHasher(opts.Key),
		signers: opts.Signers, loc: loc, log: log, readOnly: opts.ReadOnly,
		touchedC: make(chan struct{}, 1), mergeC: make(chan struct{}, 1),
	}
	s.keyCheck = HashCredential(opts.Key, "key-check", "jusha-edge")
	if err := s.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s.markTouched()
	return s, nil
}

// load creates the buckets a file lacks and reads the meta data and
// today's usage counters. The entries are not read: Run indexes them.
func (s *Store) load() error {
	if !s.readOnly {
		if err := s.createBuckets(); err != nil {
			return fmt.Errorf("whitelist %s: %w", s.path, err)
		}
	}
	return s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		if site := meta.Get(keySite); site != nil && s.site != "" && string(site) != s.site {
			return fmt.Errorf("whitelist %s belongs to site %q, not %q", s.path, site, s.site)
		}
		if kc := meta.Get(keyKeyCheck); kc != nil && string(kc) != string(s.keyCheck[:]) {
			s.log.Warn("whitelist was written for another site key: credentials will not match until the next snapshot", "path", s.path)
		}
		if v := meta.Get(keyVersion); len(v) == 8 {
			s.version = binary.BigEndian.Uint64(v)
		}
		if v := meta.Get(keyIssuedAt); v != nil {
			_ = s.issuedAt.UnmarshalText(v) // informational only
		}
		entries := tx.Bucket(bucketEntries)
		if v := meta.Get(keyCount); len(v) == 8 {
			s.count = int(binary.BigEndian.Uint64(v))
		} else if entries != nil {
			s.count = entries.Stats().KeyN
		}
		if tx.Bucket(bucketCreds) == nil && entries != nil {
			legacy, err := credentialIDs(entries)
			if err != nil {
				return fmt.Errorf("whitelist %s: %w", s.path, err)
			}
			s.legacy = legacy
		}
		s.usage.load(tx.Bucket(bucketUsage))
		return nil
	})
}

// createBuckets creates the buckets a file lacks, in one write transaction
// only when one is missing (an fsync saved on every start). A file written
// before the creds bucket existed gets it filled from its entries, once.
func (s *Store) createBuckets() error {
	all := [][]byte{bucketMeta, bucketEntries, bucketCreds, bucketUsage, bucketOpens}
	missing := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		for _, name := range all {
			missing = missing || tx.Bucket(name) == nil
		}
		return nil
	})
	if !missing {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		fill := tx.Bucket(bucketCreds) == nil && tx.Bucket(bucketEntries) != nil
		for _, name := range all {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if !fill {
			return nil
		}
		ids, err := credentialIDs(tx.Bucket(bucketEntries))
		if err != nil {
			return err
		}
		creds := tx.Bucket(bucketCreds)
		for h, id := range ids {
			if err := creds.Put(h[:], []byte(id)); err != nil {
				return err
			}
		}
		s.log.Info("whitelist file upgraded: credential lookup bucket added", "path", s.path, "credentials", len(ids))
		return nil
	})
}

// credentialIDs reads which entry holds each credential hash.
func credentialIDs(b *bolt.Bucket) (map[[32]byte]string, error) {
	ids := make(map[[32]byte]string)
	err := b.ForEach(func(k, v []byte) error {
		id, hashes, err := storedHashes(v)
		if err != nil {
			return fmt.Errorf("entry %q: %w", k, err)
		}
		for _, h := range hashes {
			ids[h] = id
		}
		return nil
	})
	return ids, err
}

// storedHashes decodes a stored entry and returns its id and the hashes
// of its credentials.
func storedHashes(raw []byte) (string, [][32]byte, error) {
	e, err := decodeEntry(raw)
	if err != nil {
		return "", nil, err
	}
	hashes := make([][32]byte, 0, len(e.Credentials))
	for _, c := range e.Credentials {
		h, err := parseHash(c.Hash)
		if err != nil {
			return "", nil, err
		}
		hashes = append(hashes, h)
	}
	return e.ID, hashes, nil
}

// lookup returns the id and stored form of the entry holding credential
// hash h, nil if none does. Both point into tx's map.
func (s *Store) lookup(tx *bolt.Tx, h *[32]byte) (id, rec []byte) {
	if s.legacy != nil {
		if v, ok := s.legacy[*h]; ok {
			id = []byte(v)
		}
	} else if creds := tx.Bucket(bucketCreds); creds != nil {
		id = creds.Get(h[:])
	}
	if id == nil {
		return nil, nil
	}
	if entries := tx.Bucket(bucketEntries); entries != nil {
		rec = entries.Get(id)
	}
	return id, rec
}

// Close flushes the usage counters and closes the file.
func (s *Store) Close() error {
	var err error
	if !s.readOnly {
		err = s.FlushUsage()
	}
	return errors.Join(err, s.db.Close())
}

// Version is the version of the applied whitelist, 0 if none.
func (s *Store) Version() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Len is the number of entries in the applied whitelist.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// Location is the site time zone the store decides in.
func (s *Store) Location() *time.Location { return s.loc }

// Hash returns the keyed hash of a credential, for callers that hash once.
func (s *Store) Hash(typ, value string) [32]byte { return s.hasher.Hash(typ, value) }

// Info describes the applied whitelist.
type Info struct {
	Site     string
	Version  uint64
	IssuedAt time.Time
	Entries  int
}

// Info returns what is loaded.
func (s *Store) Info() Info {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Info{Site: s.site, Version: s.version, IssuedAt: s.issuedAt, Entries: s.count}
}

// Entries calls fn for each stored entry in id order. Entries carry their
// credential hashes; callers that print must leave them out.
func (s *Store) Entries(fn func(Entry) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("entry %q: %w", k, err)
			}
			return fn(e)
		})
	})
}
