package access_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
)

// The fuzz targets of this package use only the public API, so they hold
// whatever the package's internals become.

// fzSite and fzKey are the site and site key of every fuzz store.
const fzSite = "wannan"

var (
	fzKey = bytes.Repeat([]byte{0x5a}, access.SiteKeySize)
	// fzNow is the fixed clock of the fuzz targets.
	fzNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
)

// fzSigner is a deterministic Ed25519 key with a key id.
type fzSigner struct {
	id   string
	priv ed25519.PrivateKey
}

func newFzSigner(id string, seedByte byte) fzSigner {
	seed := bytes.Repeat([]byte{seedByte}, ed25519.SeedSize)
	return fzSigner{id: id, priv: ed25519.NewKeyFromSeed(seed)}
}

func (s fzSigner) pub() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

func (s fzSigner) sign(tb testing.TB, payload []byte) []byte {
	tb.Helper()
	env, err := access.SignEnvelope(s.priv, s.id, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

var (
	// fzCentral is the configured signer.
	fzCentral = newFzSigner("central-2026", 1)
	// fzStranger's key id is not configured.
	fzStranger = newFzSigner("stranger", 2)
	// fzImpostor claims the configured key id with another key.
	fzImpostor = newFzSigner("central-2026", 3)
)

// envelopeFor wraps payload the way mode says: 0 signed by the configured
// signer, 1 by an unknown key id, 2 by a forger claiming the configured id,
// anything else: payload is the raw envelope itself. It returns the
// rejection reason a forged mode must get, or "" when anything may happen.
func envelopeFor(tb testing.TB, mode uint8, payload []byte) ([]byte, string) {
	if len(payload) == 0 && mode%4 < 3 {
		// An envelope with an empty payload is malformed before any key.
		return fzCentral.sign(tb, payload), access.RejectMalformed
	}
	switch mode % 4 {
	case 0:
		return fzCentral.sign(tb, payload), ""
	case 1:
		return fzStranger.sign(tb, payload), access.RejectUnknownKey
	case 2:
		return fzImpostor.sign(tb, payload), access.RejectBadSignature
	}
	return payload, ""
}

// openFzStore opens a store for fzSite in dir that trusts fzCentral.
func openFzStore(tb testing.TB, dir string) *access.Store {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	s, err := access.Open(filepath.Join(dir, access.StoreFile), access.Options{
		Site: fzSite, Key: fzKey, Location: time.UTC,
		Signers: map[string]ed25519.PublicKey{fzCentral.id: fzCentral.pub()},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// fzCred is a credential of typ for value, hashed with fzKey.
func fzCred(typ, value string) access.Credential {
	h := access.HashCredential(fzKey, typ, value)
	return access.Credential{Type: typ, Hash: hex.EncodeToString(h[:])}
}

// fzDoc is a signed-able document of the given version with riders r1..rn,
// each holding QR credential "Q<i>" at door-a1-lobby.
func fzDoc(version uint64, kind string, base uint64, riders ...string) []byte {
	d := access.Document{Site: fzSite, Version: version, Kind: kind, BaseVersion: base, IssuedAt: fzNow}
	for _, r := range riders {
		d.Upsert = append(d.Upsert, access.Entry{ID: r, Label: "rider " + r,
			Credentials: []access.Credential{fzCred(access.TypeQR, "Q-"+r)},
			Doors:       []string{"door-a1-lobby"}, Floors: map[string][]int{"lift-a1": {1, 12}}})
	}
	b, _ := json.Marshal(d)
	return b
}

// Devices the probes decide at.
var (
	fzDoor = access.Device{ID: "door-a1-lobby", Kind: "door", CredentialType: access.TypeQR}
	fzLift = access.Device{ID: "lift-a1", Kind: "elevator", CredentialType: access.TypeQR, LowestFloor: 1, FloorCount: 18}
)

// probes are the credentials whose decisions must not move on a rejected
// update: the base riders, a removed-able one and an unknown one.
var probes = []string{"Q-r1", "Q-r2", "Q-r3", "Q-new", "Q-unknown"}

// storeView is what a decision-maker sees of a store.
type storeView struct {
	Version uint64
	Len     int
	Info    access.Info
	Reasons []string
}

func viewOf(s *access.Store) storeView {
	v := storeView{Version: s.Version(), Len: s.Len(), Info: s.Info()}
	for _, p := range probes {
		for _, d := range []access.Device{fzDoor, fzLift} {
			dec := s.Explain(d, access.TypeQR, p, fzNow)
			v.Reasons = append(v.Reasons, dec.Reason+"/"+dec.EntryID)
		}
	}
	return v
}

func (a storeView) equal(b storeView) bool {
	if a.Version != b.Version || a.Len != b.Len || a.Info.Version != b.Info.Version ||
		a.Info.Entries != b.Info.Entries || a.Info.Site != b.Info.Site || !a.Info.IssuedAt.Equal(b.Info.IssuedAt) ||
		len(a.Reasons) != len(b.Reasons) {
		return false
	}
	for i := range a.Reasons {
		if a.Reasons[i] != b.Reasons[i] {
			return false
		}
	}
	return true
}

// knownReasons are the rejection reasons a signed command may give.
var knownReasons = map[string]bool{
	access.RejectBadSignature: true, access.RejectUnknownKey: true, access.RejectWrongSite: true,
	access.RejectStale: true, access.RejectBaseMismatch: true, access.RejectMalformed: true,
	access.RejectExpired: true, access.RejectReplayed: true, access.RejectUnknownDev: true,
}

// checkRejection fails unless err is a *access.Rejection with a known reason
// (want, when set) and a message that says what is wrong.
func checkRejection(t *testing.T, err error, want string) *access.Rejection {
	t.Helper()
	var r *access.Rejection
	if !errors.As(err, &r) {
		t.Fatalf("error %v (%T) is not a *access.Rejection", err, err)
	}
	if !knownReasons[r.Reason] {
		t.Fatalf("unknown rejection reason %q (%v)", r.Reason, err)
	}
	if want != "" && r.Reason != want {
		t.Fatalf("rejection %q (%v), want %q", r.Reason, err, want)
	}
	if len(err.Error()) <= len("rejected: ") {
		t.Fatalf("rejection without a message: %q", err.Error())
	}
	return r
}

// maxFuzzInput bounds what a target accepts: the uplink refuses commands
// over 1 MiB before any decoder sees them.
const maxFuzzInput = 1 << 20

// execDeadline bounds one fuzz execution: a decoder that takes longer has
// hung on its input.
const execDeadline = 10 * time.Second

// within runs fn and fails the test if it has not returned in execDeadline.
// fn must not call t.Fatal: it runs on another goroutine.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(execDeadline)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s did not return within %v: hang", what, execDeadline)
	}
}
