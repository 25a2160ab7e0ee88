package access

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jusha-ean/edge/events"
)

// Result describes an applied whitelist update.
type Result struct {
	Version  uint64
	Kind     string
	KeyID    string
	Entries  int // entries in the whitelist after the update
	Upserted int
	Removed  int
}

// ApplySigned verifies and applies a signed whitelist update. The update is
// written in one bbolt transaction, so a crash or power loss leaves the
// previous version whole, and the in-memory index changes only after the
// commit. A refused update returns a *Rejection (errors.As) and changes
// nothing; other errors are storage failures.
func (s *Store) ApplySigned(ctx context.Context, envelope []byte) (Result, error) {
	res, err := s.applySigned(ctx, envelope)
	if err != nil {
		s.rejected.Add(1)
		s.log.Warn("whitelist update refused", "err", err, "bytes", len(envelope))
	} else {
		s.applied.Add(1)
	}
	return res, err
}

// Updates returns how many updates were applied and refused since Open.
func (s *Store) Updates() (applied, refused uint64) { return s.applied.Load(), s.rejected.Load() }

func (s *Store) applySigned(ctx context.Context, envelope []byte) (Result, error) {
	payload, keyID, rej := verifyEnvelope(s.signers, envelope)
	if rej != nil {
		return Result{}, rej
	}
	doc, err := decodeDocument(payload)
	if err != nil {
		return Result{}, reject(RejectMalformed, "decode document: %v", err)
	}
	if err := doc.validate(); err != nil {
		// The version, read before the document failed its checks, tells
		// the platform which update was refused.
		r := reject(RejectMalformed, "%v", err)
		r.Version = doc.Version
		return Result{}, r
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("whitelist: %w", err)
	}
	if s.readOnly {
		return Result{}, errors.New("whitelist: opened read-only")
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	cur := s.Version()
	if doc.Site != s.site {
		return Result{}, &Rejection{Reason: RejectWrongSite, Version: doc.Version,
			Detail: fmt.Sprintf("document for site %q, this is %q", doc.Site, s.site)}
	}
	if doc.Version <= cur {
		return Result{}, &Rejection{Reason: RejectStale, Version: doc.Version,
			Detail: fmt.Sprintf("version %d is not newer than the applied %d", doc.Version, cur)}
	}
	if doc.Kind == KindDelta && doc.BaseVersion != cur {
		return Result{}, &Rejection{Reason: RejectBaseMismatch, Version: doc.Version,
			Detail: fmt.Sprintf("delta on version %d, the applied one is %d", doc.BaseVersion, cur)}
	}
	var res Result
	if doc.Kind == KindSnapshot {
		res, err = s.applySnapshot(doc)
	} else {
		res, err = s.applyDelta(doc)
	}
	if err != nil {
		var r *Rejection
		if errors.As(err, &r) {
			r.Version = doc.Version
		}
		return Result{}, err
	}
	res.KeyID = keyID
	s.log.Info("whitelist applied", "version", res.Version, "kind", res.Kind, "entries", res.Entries,
		"upserted", res.Upserted, "removed", res.Removed, "key_id", keyID)
	return res, nil
}

// putMeta records the applied version in the same transaction as its entries.
func (s *Store) putMeta(tx *bolt.Tx, doc *Document, count int) error {
	meta := tx.Bucket(bucketMeta)
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], doc.Version)
	issued, _ := doc.IssuedAt.MarshalText()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(count))
	for _, kv := range [][2][]byte{
		{keyVersion, v[:]}, {keySite, []byte(doc.Site)}, {keyIssuedAt, issued},
		{keyCount, n[:]}, {keyKeyCheck, s.keyCheck[:]},
	} {
		if err := meta.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// putEntries writes the document's entries in id order (sequential puts
// fill bbolt pages best) and the meta data, in the caller's transaction.
func (s *Store) putEntries(tx *bolt.Tx, b *bolt.Bucket, doc *Document, count int) error {
	// One arena for all values: bbolt keeps them until the commit.
	arena := make([]byte, 0, 256*len(doc.Upsert))
	for _, e := range sortedEntries(doc.Upsert) {
		start := len(arena)
		arena = encodeEntry(arena, e)
		if err := b.Put([]byte(e.ID), arena[start:len(arena):len(arena)]); err != nil {
			return err
		}
	}
	return s.putMeta(tx, doc, count)
}

func (s *Store) applySnapshot(doc *Document) (Result, error) {
	idx := newIndex(len(doc.Upsert))
	in := newInterner()
	var hashes [][32]byte
	for i := range doc.Upsert {
		var c *entry
		c, hashes = in.compile(&doc.Upsert[i], hashes[:0])
		for _, h := range hashes {
			idx.byHash[h] = c
		}
	}
	idx.count = len(doc.Upsert)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketEntries); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
		b, err := tx.CreateBucket(bucketEntries)
		if err != nil {
			return err
		}
		b.FillPercent = 1.0 // keys go in sorted: pack the pages
		return s.putEntries(tx, b, doc, idx.count)
	})
	if err != nil {
		return Result{}, fmt.Errorf("whitelist: apply snapshot %d: %w", doc.Version, err)
	}
	s.mu.Lock()
	s.idx, s.version, s.issuedAt = idx, doc.Version, doc.IssuedAt
	s.mu.Unlock()
	return Result{Version: doc.Version, Kind: doc.Kind, Entries: idx.count, Upserted: len(doc.Upsert)}, nil
}

func (s *Store) applyDelta(doc *Document) (Result, error) {
	in := newInterner()
	type compiled struct {
		e      *entry
		hashes [][32]byte
	}
	add := make([]compiled, len(doc.Upsert))
	// touched holds every id the delta replaces (true) or removes (false).
	touched := make(map[string]bool, len(doc.Upsert)+len(doc.Remove))
	for i := range doc.Upsert {
		c, hashes := in.compile(&doc.Upsert[i], nil)
		add[i] = compiled{c, hashes}
		touched[c.id] = true
	}
	for _, id := range doc.Remove {
		touched[id] = false
	}
	var drop [][32]byte
	count := s.Len()
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		// The hashes of replaced and removed entries leave the index.
		for id, upsert := range touched {
			old := b.Get([]byte(id))
			if old == nil {
				continue
			}
			e, err := decodeEntry(old)
			if err != nil {
				return fmt.Errorf("stored entry %q: %w", id, err)
			}
			for _, c := range e.Credentials {
				if h, err := parseHash(c.Hash); err == nil {
					drop = append(drop, h)
				}
			}
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
			count--
			if !upsert {
				removed++
			}
		}
		// A credential held by an entry this delta leaves alone stays its.
		s.mu.RLock()
		for _, c := range add {
			for _, h := range c.hashes {
				if other := s.idx.byHash[h]; other != nil {
					if _, ok := touched[other.id]; !ok {
						s.mu.RUnlock()
						return reject(RejectMalformed, "entry %q: a credential is already held by %q", c.e.id, other.id)
					}
				}
			}
		}
		s.mu.RUnlock()
		count += len(doc.Upsert)
		return s.putEntries(tx, b, doc, count)
	})
	if err != nil {
		var r *Rejection
		if errors.As(err, &r) {
			return Result{}, r
		}
		return Result{}, fmt.Errorf("whitelist: apply delta %d: %w", doc.Version, err)
	}
	s.mu.Lock()
	for _, h := range drop {
		delete(s.idx.byHash, h)
	}
	for _, c := range add {
		for _, h := range c.hashes {
			s.idx.byHash[h] = c.e
		}
	}
	s.idx.count = count
	s.version, s.issuedAt = doc.Version, doc.IssuedAt
	s.mu.Unlock()
	return Result{Version: doc.Version, Kind: doc.Kind, Entries: count, Upserted: len(doc.Upsert), Removed: removed}, nil
}

// UpdateEvent turns the outcome of ApplySigned into a whitelist.applied or
// whitelist.rejected event for the platform.
func UpdateEvent(res Result, err error, at time.Time) events.Event {
	if err == nil {
		ev := events.New("whitelist.applied", "whitelist", at, events.Info, events.RouteRecord)
		ev.Data = map[string]any{"version": res.Version, "entries": res.Entries, "kind": res.Kind,
			"upserted": res.Upserted, "removed": res.Removed, "key_id": res.KeyID}
		return ev
	}
	ev := events.New("whitelist.rejected", "whitelist", at, events.Medium, events.RouteRecord)
	var r *Rejection
	if errors.As(err, &r) {
		ev.Data = map[string]any{"reason": r.Reason, "detail": r.Detail}
		if r.Version != 0 {
			ev.Data["version"] = r.Version
		}
	} else {
		ev.Data = map[string]any{"reason": "internal", "detail": err.Error()}
	}
	return ev
}
