package security

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/events"
)

// openCmd is a remote open for the door.
func openCmd(id string, expires time.Time) access.OpenCommand {
	return access.OpenCommand{ID: id, Device: doorID, ExpiresAt: expires, By: "operator-7"}
}

// lockedFor fails if the door's lock is released at any moment of d.
func (s *site) lockedFor(d time.Duration, why string) {
	s.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if v, _ := s.door.Get("lock_released"); v.Num != 0 {
			s.t.Fatalf("%s: the door was unlocked", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unlocked waits for the door's lock to be released.
func (s *site) unlocked(why string) {
	s.t.Helper()
	end := time.Now().Add(5 * time.Second)
	for {
		if v, _ := s.door.Get("lock_released"); v.Num == 1 {
			return
		}
		if time.Now().After(end) {
			s.t.Fatalf("%s: the door was not unlocked", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An attacker on the broker can publish on P/cmd/whitelist and P/cmd/open,
// but without the platform's Ed25519 key every forged, tampered, replayed
// or expired command is refused, answered with the reason, and changes
// nothing: no whitelist version, no unlocked door, also after a restart.
func TestSignedCommandsForgedReplayedExpired(t *testing.T) {
	s := newSite(t, siteOptions{})
	s.start()
	forger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	replies := 0
	expect := func(what string, ok bool, errPart string) {
		t.Helper()
		replies++
		rep := s.waitReply(replies)
		if rep.OK != ok || !strings.Contains(rep.Error, errPart) {
			t.Fatalf("%s: reply %+v, want ok=%v error containing %q", what, rep, ok, errPart)
		}
	}
	rejected := func(n int, reason string) {
		t.Helper()
		ev := s.waitEvent(n, "whitelist.rejected", nil)
		if ev.Data["reason"] != reason {
			t.Fatalf("whitelist.rejected %v, want reason %s", ev.Data, reason)
		}
	}

	// The platform's update applies.
	n := len(s.plat.Events())
	v7 := signed(t, s.signer, signerID, s.snapshot(7))
	s.command("whitelist", v7)
	s.waitEvent(n, "whitelist.applied", nil)
	expect("signed update", true, "")

	// Forged: another key claiming the platform's key id, removing the
	// rider's doors.
	doc8 := s.snapshot(8)
	doc8.Upsert[0].Doors = nil
	for _, tc := range []struct {
		name, reason string
		env          []byte
	}{
		{"forged", access.RejectBadSignature, signed(t, forger, signerID, doc8)},
		{"unknown key", access.RejectUnknownKey, signed(t, forger, "attacker", doc8)},
		{"replayed", access.RejectStale, v7},
		{"tampered payload", access.RejectBadSignature, tamper(t, v7, func(p []byte) []byte {
			return bytes.Replace(p, []byte(`"version":7`), []byte(`"version":9`), 1)
		})},
	} {
		n := len(s.plat.Events())
		s.command("whitelist", tc.env)
		rejected(n, tc.reason)
		expect("whitelist "+tc.name, false, tc.reason)
	}
	// The rider still gets in: version 7 is what applies.
	n = len(s.plat.Events())
	if err := s.door.Present(riderQR); err != nil {
		t.Fatal(err)
	}
	s.waitEvent(n, "access.granted", func(e events.Event) bool { return e.Subject == doorID })
	s.unlocked("rider granted")
	waitLocked(t, s)

	// Remote opens.
	n = len(s.plat.Events())
	first := signed(t, s.signer, signerID, openCmd("cmd-1", time.Now().Add(time.Minute)))
	s.command("open", first)
	s.waitEvent(n, "access.granted", func(e events.Event) bool { return e.Data["command_id"] == "cmd-1" })
	expect("signed open", true, "")
	s.unlocked("signed open")
	waitLocked(t, s)
	for _, tc := range []struct {
		name, reason string
		env          []byte
	}{
		{"replayed open", access.RejectReplayed, first},
		{"expired open", access.RejectExpired, signed(t, s.signer, signerID, openCmd("cmd-2", time.Now().Add(-time.Second)))},
		{"forged open", access.RejectBadSignature, signed(t, forger, signerID, openCmd("cmd-3", time.Now().Add(time.Minute)))},
		{"open from an unknown key", access.RejectUnknownKey, signed(t, forger, "attacker", openCmd("cmd-4", time.Now().Add(time.Minute)))},
		{"open valid for days", access.RejectMalformed, signed(t, s.signer, signerID, openCmd("cmd-5", time.Now().Add(72*time.Hour)))},
		{"tampered open", access.RejectBadSignature, tamper(t, first, func(p []byte) []byte {
			return bytes.Replace(p, []byte(`"cmd-1"`), []byte(`"cmd-6"`), 1)
		})},
	} {
		s.command("open", tc.env)
		expect(tc.name, false, tc.reason)
		s.lockedFor(300*time.Millisecond, tc.name)
	}

	// Remote-open ids are remembered on disk: a replay after a restart is
	// refused too.
	s.stop()
	s.start()
	s.command("open", first)
	expect("open replayed after a restart", false, access.RejectReplayed)
	s.lockedFor(500*time.Millisecond, "open replayed after a restart")
}

// waitLocked waits for the door to lock again after a grant (unlock_time).
func waitLocked(t *testing.T, s *site) {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for {
		if v, _ := s.door.Get("lock_released"); v.Num == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatal("the door did not lock again after the unlock time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tamper changes the signed payload of an envelope, keeping its signature.
func tamper(t *testing.T, env []byte, fn func([]byte) []byte) []byte {
	t.Helper()
	var e access.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		t.Fatal(err)
	}
	q := fn(p)
	if bytes.Equal(p, q) {
		t.Fatal("tamper changed nothing")
	}
	e.Payload = base64.StdEncoding.EncodeToString(q)
	b, _ := json.Marshal(e)
	return b
}
