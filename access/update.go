package access

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
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
// written in one bbolt transaction, entries and credential lookup bucket
// together, so a crash or power loss leaves the previous version whole, and
// decisions (read transactions) see either version whole, never a mix. A refused update returns a *Rejection (errors.As) and changes
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
// fill bbolt pages best) and the meta data, in the caller's transaction,
// and hands each stored form to each (nil: none) for the index.
func (s *Store) putEntries(tx *bolt.Tx, b *bolt.Bucket, doc *Document, count int, each func(rec *record)) error {
	// One arena for all values: bbolt keeps them until the commit.
	arena := make([]byte, 0, 256*len(doc.Upsert))
	for _, e := range sortedEntries(doc.Upsert) {
		start := len(arena)
		arena = encodeEntry(arena, e)
		v := arena[start:len(arena):len(arena)]
		if err := b.Put([]byte(e.ID), v); err != nil {
			return err
		}
		if each != nil {
			rec, err := parseRecord(v)
			if err != nil {
				return fmt.Errorf("entry %q: %w", e.ID, err) // encodeEntry is broken
			}
			each(&rec)
		}
	}
	return s.putMeta(tx, doc, count)
}

// putCreds maps each credential hash of entries to its entry id.
func putCreds(b *bolt.Bucket, entries []Entry) error {
	type cred struct {
		h  [32]byte
		id string
	}
	list := make([]cred, 0, len(entries))
	for i := range entries {
		for _, c := range entries[i].Credentials {
			h, _ := parseHash(c.Hash) // validated before
			list = append(list, cred{h, entries[i].ID})
		}
	}
	// Random hashes put in order fill bbolt pages best.
	slices.SortFunc(list, func(a, b cred) int { return bytes.Compare(a.h[:], b.h[:]) })
	for _, c := range list {
		if err := b.Put(c.h[:], []byte(c.id)); err != nil {
			return err
		}
	}
	return nil
}

// recreate empties a bucket by replacing it; its keys will go in sorted.
func recreate(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return nil, err
	}
	b, err := tx.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	b.FillPercent = 1.0 // keys go in sorted: pack the pages
	return b, nil
}

func (s *Store) applySnapshot(doc *Document) (Result, error) {
	count := len(doc.Upsert)
	// Once Run indexes, a snapshot builds its own index as it writes: the
	// one it replaces, or the build still scanning the file, is of no use.
	var build *builder
	var buildErr error
	each := func(rec *record) {
		if buildErr == nil {
			buildErr = build.addRecord(rec)
		}
	}
	if s.indexing.Load() {
		build = newBuilder(count, nil)
	} else {
		each = nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := recreate(tx, bucketEntries)
		if err != nil {
			return err
		}
		creds, err := recreate(tx, bucketCreds)
		if err != nil {
			return err
		}
		if err := putCreds(creds, doc.Upsert); err != nil {
			return err
		}
		return s.putEntries(tx, b, doc, count, each)
	})
	if err != nil {
		return Result{}, fmt.Errorf("whitelist: apply snapshot %d: %w", doc.Version, err)
	}
	if build != nil {
		var t *table
		if buildErr == nil {
			t, buildErr = build.finish()
		}
		s.swapIndex(func(*index) (*index, error) {
			return &index{base: t, version: doc.Version}, buildErr
		})
	}
	s.installed(doc, count)
	return Result{Version: doc.Version, Kind: doc.Kind, Entries: count, Upserted: len(doc.Upsert)}, nil
}

// installed records the version a commit made current. Decisions read the
// file, so they see the update from the commit on, whole.
func (s *Store) installed(doc *Document, count int) {
	s.markTouched() // the update read old pages
	s.mu.Lock()
	s.count, s.version, s.issuedAt = count, doc.Version, doc.IssuedAt
	s.mu.Unlock()
}

func (s *Store) applyDelta(doc *Document) (Result, error) {
	// touched holds every id the delta replaces (true) or removes (false);
	// keep, the credentials of the upserted entries.
	touched := make(map[string]bool, len(doc.Upsert)+len(doc.Remove))
	keep := make(map[[32]byte]string, len(doc.Upsert))
	for i := range doc.Upsert {
		e := &doc.Upsert[i]
		touched[e.ID] = true
		for _, c := range e.Credentials {
			h, _ := parseHash(c.Hash) // validated before
			keep[h] = e.ID
		}
	}
	for _, id := range doc.Remove {
		touched[id] = false
	}
	count := s.Len()
	removed := 0
	// With an index, ch gathers what the commit changes, for its overlay.
	ix := s.idx.Load()
	var ch *deltaChange
	var each func(rec *record)
	if ix != nil {
		ch = &deltaChange{}
		each = func(rec *record) { ch.upsert = append(ch.upsert, *rec) }
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, creds := tx.Bucket(bucketEntries), tx.Bucket(bucketCreds)
		// Replaced and removed entries leave, and so do the credentials
		// they no longer hold.
		for id, upsert := range touched {
			old := b.Get([]byte(id))
			if old == nil {
				continue
			}
			if err := dropCreds(creds, id, old, keep, ch); err != nil {
				return err
			}
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
			count--
			if !upsert {
				removed++
			}
		}
		// A credential held by another entry now is held by one this
		// delta leaves alone, and stays its. One an entry keeps is not
		// rewritten: most deltas change scopes and validity, not cards.
		for h, id := range keep {
			switch holder := creds.Get(h[:]); {
			case holder == nil:
				if err := creds.Put(h[:], []byte(id)); err != nil {
					return err
				}
				if ch != nil {
					ch.added = append(ch.added, h)
				}
			case string(holder) != id:
				return reject(RejectMalformed, "entry %q: a credential is already held by %q", id, holder)
			}
		}
		count += len(doc.Upsert)
		return s.putEntries(tx, b, doc, count, each)
	})
	if err != nil {
		var r *Rejection
		if errors.As(err, &r) {
			return Result{}, r
		}
		return Result{}, fmt.Errorf("whitelist: apply delta %d: %w", doc.Version, err)
	}
	if ch != nil {
		s.swapIndex(func(cur *index) (*index, error) { return cur.withDelta(doc.Version, ch) })
	}
	s.installed(doc, count)
	return Result{Version: doc.Version, Kind: doc.Kind, Entries: count, Upserted: len(doc.Upsert), Removed: removed}, nil
}

// dropCreds removes from the creds bucket the credentials of entry id,
// stored as old, that keep does not give back to it, noting them in ch
// (nil: not noted).
func dropCreds(creds *bolt.Bucket, id string, old []byte, keep map[[32]byte]string, ch *deltaChange) error {
	_, hashes, err := storedHashes(old)
	if err != nil {
		return fmt.Errorf("stored entry %q: %w", id, err)
	}
	for _, h := range hashes {
		if keep[h] == id || string(creds.Get(h[:])) != id {
			continue
		}
		if err := creds.Delete(h[:]); err != nil {
			return err
		}
		if ch != nil {
			ch.dropped = append(ch.dropped, h)
		}
	}
	return nil
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
