package access

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func rider(id, value string) Entry {
	return Entry{ID: id, Label: "rider " + id, Credentials: []Credential{cred(TypeQR, value)}, Doors: []string{door.ID}}
}

func TestApplySnapshotAndDelta(t *testing.T) { onBothPaths(t, time.UTC, applySnapshotAndDelta) }

func applySnapshotAndDelta(t *testing.T, f *fixture) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	res := f.apply(t, snapshot(3, rider("r1", "Q1"), rider("r2", "Q2"), rider("r3", "Q3")))
	if res.Version != 3 || res.Entries != 3 || res.KeyID != f.signer.id {
		t.Fatalf("snapshot result %+v", res)
	}
	upd := rider("r2", "Q2-new")
	res = f.apply(t, Document{Site: "wannan", Version: 4, Kind: KindDelta, BaseVersion: 3,
		Upsert: []Entry{upd, rider("r4", "Q4")}, Remove: []string{"r1", "r-missing"}})
	if res.Version != 4 || res.Entries != 3 || res.Upserted != 2 || res.Removed != 1 {
		t.Fatalf("delta result %+v", res)
	}
	for _, tc := range []struct {
		value, want string
	}{
		{"Q1", ReasonUnknown}, {"Q2", ReasonUnknown}, {"Q2-new", ReasonGranted}, {"Q3", ReasonGranted}, {"Q4", ReasonGranted},
	} {
		if d := f.store.Decide(door, TypeQR, tc.value, at); d.Reason != tc.want {
			t.Errorf("%s: %q, want %q", tc.value, d.Reason, tc.want)
		}
	}
	// A snapshot replaces everything.
	f.apply(t, snapshot(10, rider("r9", "Q9")))
	if d := f.store.Decide(door, TypeQR, "Q3", at); d.Reason != ReasonUnknown {
		t.Errorf("Q3 after snapshot: %q", d.Reason)
	}
	// What is on disk is what is in memory after a reopen.
	path, indexed := f.store.path, f.store.idx.Load() != nil
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Site: "wannan", Key: testKey, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
	if indexed {
		f.index(t)
	}
	if s.Version() != 10 || s.Len() != 1 || !s.Decide(door, TypeQR, "Q9", at).Granted {
		t.Fatalf("reopened: version %d, %d entries", s.Version(), s.Len())
	}
	var ids []string
	if err := s.Entries(func(e Entry) error { ids = append(ids, e.ID); return nil }); err != nil || len(ids) != 1 || ids[0] != "r9" {
		t.Fatalf("entries %v %v", ids, err)
	}
}

func TestApplyRejects(t *testing.T) {
	f := newFixture(t, time.UTC)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	base := snapshot(5, rider("r1", "Q1"))
	baseEnv := f.signer.sign(t, base)
	if _, err := f.store.ApplySigned(t.Context(), baseEnv); err != nil {
		t.Fatal(err)
	}
	stranger := newSigner(t, "stranger")
	impostor := newSigner(t, "impostor")
	impostor.id = f.signer.id // claims the configured key id
	next := snapshot(6, rider("r2", "Q2"))
	good := f.signer.sign(t, next)

	tamper := func(env []byte, fn func(*Envelope)) []byte {
		var e Envelope
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatal(err)
		}
		fn(&e)
		b, _ := json.Marshal(e)
		return b
	}
	raw := func(s string) []byte { return []byte(s) }
	doc := func(mut func(*Document)) []byte {
		d := snapshot(6, rider("r2", "Q2"))
		mut(&d)
		return f.signer.sign(t, d)
	}
	payload := func(p string) []byte { return f.signer.sign(t, []byte(p)) }
	for _, tc := range []struct {
		name   string
		env    []byte
		reason string
	}{
		{"replayed", baseEnv, RejectStale},
		{"stale", doc(func(d *Document) { d.Version = 4 }), RejectStale},
		{"same version", doc(func(d *Document) { d.Version = 5 }), RejectStale},
		{"wrong site", doc(func(d *Document) { d.Site = "elsewhere" }), RejectWrongSite},
		{"forged by other key", impostor.sign(t, next), RejectBadSignature},
		{"unknown key", stranger.sign(t, next), RejectUnknownKey},
		{"payload swapped", tamper(good, func(e *Envelope) {
			e.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(mustB64(t, e.Payload)), `"r2"`, `"r3"`, 1)))
		}), RejectBadSignature},
		{"sig cut", tamper(good, func(e *Envelope) { e.Sig = e.Sig[:40] }), RejectBadSignature},
		{"payload not base64", tamper(good, func(e *Envelope) { e.Payload = "%%%" }), RejectMalformed},
		{"truncated envelope", good[:len(good)/2], RejectMalformed},
		{"empty", raw(""), RejectMalformed},
		{"envelope extra field", raw(`{"key_id":"central-2026","payload":"e30=","sig":"AA==","x":1}`), RejectMalformed},
		{"envelope missing sig", tamper(good, func(e *Envelope) { e.Sig = "" }), RejectMalformed},
		{"truncated payload", payload(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r2"`), RejectMalformed},
		{"unknown field", payload(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[],"extra":true}`), RejectMalformed},
		{"trailing data", payload(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[]} {}`), RejectMalformed},
		{"unknown entry field", payload(`{"site":"wannan","version":6,"kind":"snapshot","upsert":[{"id":"r2","pin":"1234","credentials":[]}]}`), RejectMalformed},
		{"bad kind", doc(func(d *Document) { d.Kind = "full" }), RejectMalformed},
		{"zero version", doc(func(d *Document) { d.Version = 0 }), RejectMalformed},
		{"bad hash hex", doc(func(d *Document) { d.Upsert[0].Credentials[0].Hash = strings.Repeat("zz", 32) }), RejectMalformed},
		{"short hash", doc(func(d *Document) { d.Upsert[0].Credentials[0].Hash = "abcd" }), RejectMalformed},
		{"unknown credential type", doc(func(d *Document) { d.Upsert[0].Credentials[0].Type = "face" }), RejectMalformed},
		{"no credentials", doc(func(d *Document) { d.Upsert[0].Credentials = nil }), RejectMalformed},
		{"bad id", doc(func(d *Document) { d.Upsert[0].ID = "" }), RejectMalformed},
		{"duplicate id", doc(func(d *Document) { d.Upsert = append(d.Upsert, rider("r2", "Q3")) }), RejectMalformed},
		{"shared credential", doc(func(d *Document) { d.Upsert = append(d.Upsert, rider("r3", "Q2")) }), RejectMalformed},
		{"bad schedule", doc(func(d *Document) { d.Upsert[0].Schedule = []Window{{Days: "mon", From: "25:00", To: "01:00"}} }), RejectMalformed},
		{"inverted validity", doc(func(d *Document) {
			d.Upsert[0].ValidFrom, d.Upsert[0].ValidUntil = tp(at), tp(at.Add(-time.Hour))
		}), RejectMalformed},
		{"snapshot with base", doc(func(d *Document) { d.BaseVersion = 5 }), RejectMalformed},
		{"delta without base", doc(func(d *Document) { d.Kind = KindDelta }), RejectMalformed},
		{"delta on other base", doc(func(d *Document) { d.Kind, d.BaseVersion = KindDelta, 4 }), RejectBaseMismatch},
		{"delta steals a credential", doc(func(d *Document) {
			d.Kind, d.BaseVersion, d.Upsert = KindDelta, 5, []Entry{rider("r7", "Q1")}
		}), RejectMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.store.ApplySigned(t.Context(), tc.env)
			var r *Rejection
			if !errors.As(err, &r) {
				t.Fatalf("err = %v, want a rejection %s", err, tc.reason)
			}
			if r.Reason != tc.reason {
				t.Fatalf("reason %q (%s), want %q", r.Reason, r.Detail, tc.reason)
			}
			ev := UpdateEvent(Result{}, err, at)
			if ev.Type != "whitelist.rejected" || ev.Data["reason"] != tc.reason || ev.Severity != "medium" {
				t.Errorf("event %+v", ev)
			}
			// Nothing changed.
			if f.store.Version() != 5 || f.store.Len() != 1 || !f.store.Explain(door, TypeQR, "Q1", at).Granted ||
				f.store.Explain(door, TypeQR, "Q2", at).Granted {
				t.Fatalf("store changed: version %d, %d entries", f.store.Version(), f.store.Len())
			}
		})
	}
	ev := UpdateEvent(Result{Version: 6, Entries: 1, Kind: KindSnapshot}, nil, at)
	if ev.Type != "whitelist.applied" || ev.Data["version"] != uint64(6) || ev.Data["entries"] != 1 || ev.Category() != "gateway" {
		t.Errorf("applied event %+v", ev)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenRefusesOtherSite(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, rider("r1", "Q1")))
	path := f.store.path
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{Site: "other", Key: testKey}); err == nil || !strings.Contains(err.Error(), "belongs to site") {
		t.Fatalf("Open for another site: %v", err)
	}
	if _, err := Open(path, Options{Site: "wannan", Key: []byte("short")}); err == nil {
		t.Fatal("short key accepted")
	}
}
