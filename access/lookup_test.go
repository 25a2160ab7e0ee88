package access

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// checkCreds fails unless the creds bucket maps exactly the stored
// entries' credential hashes, each to the entry holding it.
func checkCreds(t *testing.T, s *Store) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		want, err := credentialIDs(tx.Bucket(bucketEntries))
		if err != nil {
			return err
		}
		n := 0
		err = tx.Bucket(bucketCreds).ForEach(func(k, v []byte) error {
			n++
			if len(k) != 32 || want[[32]byte(k)] != string(v) {
				return fmt.Errorf("creds maps %x to %q, the entries say %q", k[:4], v, want[[32]byte(k)])
			}
			return nil
		})
		if err == nil && n != len(want) {
			err = fmt.Errorf("creds holds %d hashes, the entries %d", n, len(want))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCredsFollowUpdates(t *testing.T) { onBothPaths(t, time.UTC, credsFollowUpdates) }

func credsFollowUpdates(t *testing.T, f *fixture) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	two := rider("r2", "Q2")
	two.Credentials = append(two.Credentials, cred(TypeCard, "C2"))
	f.apply(t, snapshot(1, rider("r1", "Q1"), two, rider("r3", "Q3")))
	checkCreds(t, f.store)

	// Q1 moves from r1 to the new r4 in one delta; r2 drops its card.
	four := rider("r4", "Q1")
	f.apply(t, Document{Site: "wannan", Version: 2, Kind: KindDelta, BaseVersion: 1,
		Upsert: []Entry{four, rider("r2", "Q2")}, Remove: []string{"r1"}})
	checkCreds(t, f.store)
	for _, tc := range []struct{ typ, value, entry, reason string }{
		{TypeQR, "Q1", "r4", ReasonGranted},
		{TypeQR, "Q2", "r2", ReasonGranted},
		{TypeCard, "C2", "", ReasonUnknown},
		{TypeQR, "Q3", "r3", ReasonGranted},
	} {
		if d := f.store.Decide(door, tc.typ, tc.value, at); d.EntryID != tc.entry || d.Reason != tc.reason {
			t.Errorf("%s: entry %q %s, want %q %s", tc.value, d.EntryID, d.Reason, tc.entry, tc.reason)
		}
	}

	// Taking a credential an untouched entry holds is refused whole.
	_, err := f.store.ApplySigned(t.Context(), f.signer.sign(t, Document{Site: "wannan", Version: 3, Kind: KindDelta,
		BaseVersion: 2, Upsert: []Entry{rider("r5", "Q5"), rider("r6", "Q3")}}))
	var rej *Rejection
	if !errors.As(err, &rej) || !strings.Contains(rej.Detail, `held by "r3"`) {
		t.Fatalf("delta taking r3's credential: %v", err)
	}
	checkCreds(t, f.store)
	if d := f.store.Decide(door, TypeQR, "Q5", at); d.Reason != ReasonUnknown || f.store.Version() != 2 || f.store.Len() != 3 {
		t.Fatalf("refused delta left r5 %s, version %d, %d entries", d.Reason, f.store.Version(), f.store.Len())
	}
}

// dropCredsBucket makes path look like a file written before the creds
// bucket existed.
func dropCredsBucket(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketCreds) })
	if err = errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenWithoutCredsBucket(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, rider("r1", "Q1"), rider("r2", "Q2")))
	path := f.store.path
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	dropCredsBucket(t, path)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, readOnly := range []bool{true, false} {
		s, err := Open(path, Options{Site: "wannan", Key: testKey, Location: time.UTC, ReadOnly: readOnly})
		if err != nil {
			t.Fatal(err)
		}
		if d := s.Explain(door, TypeQR, "Q2", at); d.EntryID != "r2" || !d.Granted || s.Len() != 2 {
			t.Errorf("read-only %v: %+v, %d entries", readOnly, d, s.Len())
		}
		if !readOnly {
			if s.legacy != nil {
				t.Error("a writable open kept the in-memory map instead of adding the bucket")
			}
			checkCreds(t, s)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A stored entry that does not decode denies its credential, names the
// entry in the log and leaves the other entries alone.
func TestDecideUnreadableEntry(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, rider("r1", "Q1"), rider("r2", "Q2")))
	err := f.store.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEntries).Put([]byte("r1"), []byte{codecVersion, 2, 'r'})
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if d := f.store.Decide(door, TypeQR, "Q1", at); d.Granted || d.Reason != ReasonUnknown || d.EntryID != "r1" {
		t.Errorf("unreadable entry: %+v", d)
	}
	if !strings.Contains(f.logs.String(), "entry=r1") {
		t.Errorf("log does not name the entry:\n%s", f.logs.String())
	}
	if d := f.store.Decide(door, TypeQR, "Q2", at); !d.Granted {
		t.Errorf("r2: %+v", d)
	}
}

// Decisions made while deltas move a credential between two entries find
// it with one or the other, never with neither.
func TestDecisionsSeeOneVersion(t *testing.T) { onBothPaths(t, time.UTC, decisionsSeeOneVersion) }

func decisionsSeeOneVersion(t *testing.T, f *fixture) {
	f.apply(t, snapshot(1, rider("r0", "MOVING")))
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad []Decision
	var mu sync.Mutex
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if d := f.store.Decide(door, TypeQR, "MOVING", at); !d.Granted {
				mu.Lock()
				bad = append(bad, d)
				mu.Unlock()
			}
		}
	})
	for v := uint64(2); v < 40; v++ {
		from, to := fmt.Sprintf("r%d", v%2), fmt.Sprintf("r%d", (v+1)%2)
		f.apply(t, Document{Site: "wannan", Version: v, Kind: KindDelta, BaseVersion: v - 1,
			Upsert: []Entry{rider(to, "MOVING")}, Remove: []string{from}})
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d decisions missed the credential, first %+v", len(bad), bad[0])
	}
	checkCreds(t, f.store)
}

func TestRecordMatchesDecodeEntry(t *testing.T) {
	e := benchEntry(10)
	e.ValidFrom = tp(time.Date(2026, 1, 1, 0, 0, 0, 500, time.UTC))
	e.Revoked = true
	b := encodeEntry(nil, &e)
	rec, err := parseRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.id) != e.ID || rec.from != e.ValidFrom.Unix() || rec.until <= rec.from || !rec.revoked || rec.maxUses != uint32(e.MaxUsesPerDay) {
		t.Fatalf("record %+v for %+v", rec, e)
	}
	// Every truncation is refused, as decodeEntry refuses it.
	for n := range len(b) {
		if _, err := parseRecord(b[:n]); err == nil {
			t.Errorf("truncated to %d of %d bytes: accepted", n, len(b))
		}
	}
	if _, err := parseRecord(append(b, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}
