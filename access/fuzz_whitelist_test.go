package access_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jusha-ean/edge/access"
)

// whitelistSeeds are documents around the base state (snapshot version 5
// holding r1, r2, r3): valid ones, near misses and broken JSON.
func whitelistSeeds() [][]byte {
	return [][]byte{
		fzDoc(6, access.KindSnapshot, 0, "r1", "new"),
		fzDoc(6, access.KindDelta, 5, "new"),
		fzDoc(6, access.KindDelta, 4, "new"),
		fzDoc(5, access.KindSnapshot, 0, "r1"),
		fzDoc(7, "full", 0, "r1"),
		fzDoc(0, access.KindSnapshot, 0),
		[]byte(`{"site":"wannan","version":6,"kind":"delta","base_version":5,"upsert":[],"remove":["r1","r-missing"]}`),
		[]byte(`{"site":"elsewhere","version":9,"kind":"snapshot","upsert":[]}`),
		[]byte(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r9","credentials":[{"type":"qr","hash":"zz"}]}]}`),
		[]byte(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r9","credentials":[{"type":"face","hash":"` + strings.Repeat("ab", 32) + `"}]}]}`),
		[]byte(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r9","credentials":[{"type":"qr","hash":"` + strings.Repeat("ab", 32) + `"}],"schedule":[{"days":"mon-fri","from":"25:00","to":"07:00"}]}]}`),
		[]byte(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r9","credentials":[{"type":"qr","hash":"` + strings.Repeat("ab", 32) + `"}],"floors":{"lift-a1":[99999]}}]}`),
		[]byte(`{"site":"wannan","version":18446744073709551615,"kind":"snapshot","upsert":[]}`),
		[]byte(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[]} {}`),
		[]byte(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r9"`),
		[]byte(`{"key_id":"central-2026","payload":"e30=","sig":"AA=="}`),
		[]byte(`{"key_id":"central-2026","payload":"%%%","sig":""}`),
		[]byte(`[]`),
		[]byte(``),
		[]byte("\x00\xff"),
	}
}

// FuzzApplySigned feeds whitelist updates to a real store: payloads signed
// by the configured key (so that the document decoder and the apply path are
// reached), by an unknown key, by a forger, and raw envelopes. A rejected
// update must be a *Rejection that says why and leave the version, the
// entry count and every probe decision exactly as they were; an accepted one
// must be a document ParseDocument accepts, for this site and newer.
func FuzzApplySigned(f *testing.F) {
	for _, s := range whitelistSeeds() {
		for mode := range uint8(4) {
			f.Add(mode, s)
		}
	}
	root := f.TempDir()
	n := 0
	var store *access.Store
	// reset opens a fresh store holding the base snapshot, after an update
	// was accepted (rare: the fuzzer must write a whole valid document).
	reset := func(t *testing.T) {
		if store != nil {
			if err := store.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		}
		n++
		store = openFzStore(t, filepath.Join(root, fmt.Sprint(n)))
		if _, err := store.ApplySigned(context.Background(), fzCentral.sign(t, fzDoc(5, access.KindSnapshot, 0, "r1", "r2", "r3"))); err != nil {
			t.Fatalf("base snapshot: %v", err)
		}
	}
	f.Cleanup(func() {
		if store != nil {
			_ = store.Close()
		}
	})
	f.Fuzz(func(t *testing.T, mode uint8, payload []byte) {
		if len(payload) > maxFuzzInput {
			t.Skip("larger than the uplink accepts")
		}
		if store == nil {
			reset(t)
		}
		env, forged := envelopeFor(t, mode, payload)
		before := viewOf(store)
		ctx, cancel := context.WithTimeout(context.Background(), execDeadline)
		defer cancel()
		var res access.Result
		var err error
		within(t, "ApplySigned", func() { res, err = store.ApplySigned(ctx, env) })
		doc, perr := access.ParseDocument(payload)
		if err != nil {
			r := checkRejection(t, err, forged)
			if after := viewOf(store); !after.equal(before) {
				t.Fatalf("rejected update (%v) changed the store:\nbefore %+v\nafter  %+v", err, before, after)
			}
			if mode%4 == 0 {
				checkSignedRejection(t, r, doc, perr, before.Version)
			}
			if ev := access.UpdateEvent(res, err, fzNow); ev.Type != "whitelist.rejected" || ev.Data["reason"] != r.Reason {
				t.Fatalf("event for a rejection: %+v", ev)
			}
			return
		}
		if forged != "" {
			t.Fatalf("update signed by %s accepted", map[string]string{access.RejectUnknownKey: "an unknown key", access.RejectBadSignature: "a forger"}[forged])
		}
		if perr != nil {
			t.Fatalf("update accepted although ParseDocument refuses it: %v", perr)
		}
		if mode%4 != 0 {
			reset(t) // a raw envelope that happens to carry a valid signed document
			return
		}
		if doc.Site != fzSite || doc.Version <= before.Version ||
			(doc.Kind == access.KindDelta && doc.BaseVersion != before.Version) {
			t.Fatalf("accepted %s for site %q version %d base %d over version %d", doc.Kind, doc.Site, doc.Version, doc.BaseVersion, before.Version)
		}
		if store.Version() != doc.Version || res.Version != doc.Version || store.Len() != res.Entries {
			t.Fatalf("after apply: store version %d len %d, result %+v, document version %d", store.Version(), store.Len(), res, doc.Version)
		}
		for _, e := range doc.Upsert {
			if _, ok, err := store.Entry(e.ID); !ok || err != nil {
				t.Fatalf("upserted entry %q not stored: %v", e.ID, err)
			}
		}
		reset(t)
	})
}

// checkSignedRejection checks that a correctly signed update was refused
// for the reason its document deserves.
func checkSignedRejection(t *testing.T, r *access.Rejection, doc *access.Document, perr error, cur uint64) {
	t.Helper()
	want := ""
	switch {
	case perr != nil:
		want = access.RejectMalformed
	case doc.Site != fzSite:
		want = access.RejectWrongSite
	case doc.Version <= cur:
		want = access.RejectStale
	case doc.Kind == access.KindDelta && doc.BaseVersion != cur:
		want = access.RejectBaseMismatch
	}
	if want == "" {
		// A well-formed, newer document may still be refused by the store
		// (a delta taking a credential another entry keeps).
		if r.Reason != access.RejectMalformed {
			t.Fatalf("valid newer document refused as %q: %v", r.Reason, r)
		}
		return
	}
	if r.Reason != want {
		t.Fatalf("signed update refused as %q (%v), want %q", r.Reason, r, want)
	}
}

// FuzzParseDocument decodes arbitrary whitelist documents: an error must say
// what is wrong; an accepted document must satisfy every rule a store relies
// on, so that applying it cannot fail on its shape.
func FuzzParseDocument(f *testing.F) {
	for _, s := range whitelistSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			t.Skip("larger than the uplink accepts")
		}
		var doc *access.Document
		var err error
		within(t, "ParseDocument", func() { doc, err = access.ParseDocument(b) })
		if err != nil {
			if doc != nil {
				t.Fatalf("error %v with a document", err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
			return
		}
		if doc.Site == "" || doc.Version == 0 || (doc.Kind != access.KindSnapshot && doc.Kind != access.KindDelta) {
			t.Fatalf("accepted a document without site, version or kind: %+v", doc)
		}
		if doc.Kind == access.KindSnapshot && (doc.BaseVersion != 0 || len(doc.Remove) > 0) {
			t.Fatalf("accepted a snapshot with base_version or remove: %+v", doc)
		}
		if doc.Kind == access.KindDelta && doc.BaseVersion == 0 {
			t.Fatalf("accepted a delta without base_version")
		}
		ids := map[string]bool{}
		hashes := map[string]bool{}
		for _, e := range doc.Upsert {
			if e.ID == "" || ids[e.ID] || len(e.Credentials) == 0 {
				t.Fatalf("accepted entry %q: empty, duplicate or without credentials", e.ID)
			}
			ids[e.ID] = true
			for _, c := range e.Credentials {
				h := strings.ToLower(c.Hash)
				if len(c.Hash) != 64 || hashes[h] {
					t.Fatalf("accepted entry %q: bad or shared hash %q", e.ID, c.Hash)
				}
				hashes[h] = true
			}
			if e.ValidFrom != nil && e.ValidUntil != nil && !e.ValidUntil.After(*e.ValidFrom) {
				t.Fatalf("accepted entry %q with an empty validity", e.ID)
			}
		}
		for _, id := range doc.Remove {
			if ids[id] {
				t.Fatalf("accepted %q both upserted and removed", id)
			}
		}
	})
}
