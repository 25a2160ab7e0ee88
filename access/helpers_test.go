package access

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"github.com/jusha-ean/edge/internal/testbed"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// testKey is a fixed site key for tests.
var testKey = bytes.Repeat([]byte{0x42}, SiteKeySize)

// signer is a test signing key.
type signer struct {
	id   string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB, id string) signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, id)
	priv := ed25519.NewKeyFromSeed(seed)
	return signer{id: id, pub: priv.Public().(ed25519.PublicKey), priv: priv}
}

// sign marshals doc and wraps it in a signed envelope.
func (sg signer) sign(t testing.TB, doc any) []byte {
	t.Helper()
	payload, ok := doc.([]byte)
	if !ok {
		var err error
		if payload, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
	}
	env, err := SignEnvelope(sg.priv, sg.id, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

type fixture struct {
	store  *Store
	signer signer
	dir    string
	logs   *testbed.Buffer
}

// newFixture opens a store for site "wannan" under a temp dir.
func newFixture(t testing.TB, loc *time.Location) *fixture {
	t.Helper()
	dir := t.TempDir()
	sg := newSigner(t, "central-2026")
	logs := &testbed.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(filepath.Join(dir, "whitelist.db"), Options{
		Site: "wannan", Key: testKey, Location: loc, Logger: log,
		Signers: map[string]ed25519.PublicKey{sg.id: sg.pub},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &fixture{store: s, signer: sg, dir: dir, logs: logs}
}

// apply signs doc and applies it, failing the test on error.
func (f *fixture) apply(t testing.TB, doc Document) Result {
	t.Helper()
	res, err := f.store.ApplySigned(t.Context(), f.signer.sign(t, doc))
	if err != nil {
		t.Fatalf("apply version %d: %v", doc.Version, err)
	}
	return res
}

// cred returns a credential of typ for the raw value, hashed with testKey.
func cred(typ, value string) Credential {
	h := HashCredential(testKey, typ, value)
	return Credential{Type: typ, Hash: hex.EncodeToString(h[:])}
}

func tp(t time.Time) *time.Time { return &t }

func snapshot(version uint64, entries ...Entry) Document {
	return Document{Site: "wannan", Version: version, Kind: KindSnapshot,
		IssuedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), Upsert: entries}
}

var (
	door  = Device{ID: "door-a1-lobby", Kind: "door", CredentialType: TypeCard}
	lift  = Device{ID: "lift-a1", Kind: "elevator", CredentialType: TypeQR, LowestFloor: 1, FloorCount: 16}
	gate  = Device{ID: "gate-north", Kind: "gate", CredentialType: TypeQR}
	other = Device{ID: "door-b2", Kind: "door", CredentialType: TypeCard}
)

// index builds the store's index as Run does, and fails unless decisions
// then read it; updates keep it from then on.
func (f *fixture) index(t testing.TB) {
	t.Helper()
	f.store.indexing.Store(true)
	if err := f.store.buildIndex(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.store.idx.Load() == nil {
		t.Fatal("no index after the build")
	}
}

// onBothPaths runs fn on a fixture whose decisions read the file and on one
// whose decisions read the index, which must give the same answers.
func onBothPaths(t *testing.T, loc *time.Location, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, indexed := range []bool{false, true} {
		name := "file"
		if indexed {
			name = "index"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, loc)
			if indexed {
				f.index(t)
			}
			fn(t, f)
			if got := f.store.idx.Load() != nil; got != indexed {
				t.Errorf("decisions read the index: %v, want %v", got, indexed)
			}
		})
	}
}
