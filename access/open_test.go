package access

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jusha-ean/edge/configs"
)

func TestHandleOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		act := &fakeActuator{}
		out := &sink{}
		c, err := NewController(f.store, testDevices, act, ControllerOptions{UnlockTime: 5 * time.Second, Emit: out.emit})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		now := time.Now()
		floor := 3
		open := func(id, dev string, floor *int, exp time.Time) OpenCommand {
			return OpenCommand{ID: id, Device: dev, Floor: floor, ExpiresAt: exp, By: "operator-7"}
		}
		stranger := newSigner(t, "stranger")
		forger := newSigner(t, "forger")
		forger.id = f.signer.id
		first := f.signer.sign(t, open("cmd-1", door.ID, nil, now.Add(time.Minute)))
		for _, tc := range []struct {
			name   string
			env    []byte
			reason string // empty: accepted
			writes []write
		}{
			{"door", first, "", []write{{now, door.ID, PointUnlock, "1"}}},
			{"replayed", first, RejectReplayed, nil},
			{"lift floor", f.signer.sign(t, open("cmd-2", lift.ID, &floor, now.Add(time.Minute))), "",
				[]write{{now, lift.ID, PointFloorEnable, "00001000"}}},
			{"expired", f.signer.sign(t, open("cmd-3", door.ID, nil, now)), RejectExpired, nil},
			{"forged", forger.sign(t, open("cmd-4", door.ID, nil, now.Add(time.Minute))), RejectBadSignature, nil},
			{"unknown key", stranger.sign(t, open("cmd-5", door.ID, nil, now.Add(time.Minute))), RejectUnknownKey, nil},
			{"unknown device", f.signer.sign(t, open("cmd-6", "door-zz", nil, now.Add(time.Minute))), RejectUnknownDev, nil},
			{"lift without floor", f.signer.sign(t, open("cmd-7", lift.ID, nil, now.Add(time.Minute))), RejectMalformed, nil},
			{"floor out of range", f.signer.sign(t, open("cmd-12", lift.ID, new(-2), now.Add(time.Minute))), RejectMalformed, nil},
			{"door with floor", f.signer.sign(t, open("cmd-8", door.ID, &floor, now.Add(time.Minute))), RejectMalformed, nil},
			{"too far ahead", f.signer.sign(t, open("cmd-9", door.ID, nil, now.Add(48*time.Hour))), RejectMalformed, nil},
			{"no by", f.signer.sign(t, OpenCommand{ID: "cmd-10", Device: door.ID, ExpiresAt: now.Add(time.Minute)}), RejectMalformed, nil},
			{"extra field", f.signer.sign(t, []byte(`{"id":"cmd-11","device":"door-a1-lobby","expires_at":"2099-01-01T00:00:00Z","by":"x","user":"y"}`)), RejectMalformed, nil},
			{"truncated", first[:len(first)-5], RejectMalformed, nil},
		} {
			err := c.HandleOpen(t.Context(), tc.env)
			synctest.Wait()
			var r *Rejection
			switch {
			case tc.reason == "" && err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case tc.reason != "" && (!errors.As(err, &r) || r.Reason != tc.reason):
				t.Errorf("%s: err %v, want %s", tc.name, err, tc.reason)
			}
			if got := act.take(); len(got) != len(tc.writes) || (len(got) > 0 && got[0] != tc.writes[0]) {
				t.Errorf("%s: writes %v, want %v", tc.name, got, tc.writes)
			}
		}
		evs := out.take()
		if len(evs) != 2 || evs[0].Type != EventGranted || evs[0].Data["reason"] != "remote_open" || evs[0].Data["by"] != "operator-7" {
			t.Fatalf("events %+v", evs)
		}
		if st := c.Stats(); st.OpenRejected != 12 || st.Granted != 2 {
			t.Errorf("stats %+v", st)
		}
		cancel()
		<-done
	})
}

// Seen ids survive a restart.
func TestHandleOpenReplayAfterRestart(t *testing.T) {
	f := newFixture(t, time.UTC)
	c, err := NewController(f.store, testDevices, &fakeActuator{}, ControllerOptions{Emit: (&sink{}).emit})
	if err != nil {
		t.Fatal(err)
	}
	env := f.signer.sign(t, OpenCommand{ID: "cmd-1", Device: door.ID, ExpiresAt: time.Now().Add(time.Hour), By: "op"})
	if err := c.HandleOpen(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	path := f.store.path
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Site: "wannan", Key: testKey, Signers: map[string]ed25519.PublicKey{f.signer.id: f.signer.pub}})
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
	c, err = NewController(s, testDevices, &fakeActuator{}, ControllerOptions{Emit: (&sink{}).emit})
	if err != nil {
		t.Fatal(err)
	}
	var r *Rejection
	if err := c.HandleOpen(t.Context(), env); !errors.As(err, &r) || r.Reason != RejectReplayed {
		t.Fatalf("replay after restart: %v", err)
	}
}

// A lift whose profile has no floor_enable coils has no floor to open: the
// command is refused rather than granted with nothing written.
func TestHandleOpenLiftWithoutFloorCoils(t *testing.T) {
	f := newFixture(t, time.UTC)
	bare := []configs.Device{{ID: "lift-bare", Kind: "elevator", CredentialType: TypeCard, LowestFloor: 1,
		Resolved: &configs.Profile{Points: []configs.Point{{Name: "floor", Table: configs.TableHolding, Type: configs.TypeInt16}}}}}
	act := &fakeActuator{}
	c, err := NewController(f.store, bare, act, ControllerOptions{Emit: (&sink{}).emit})
	if err != nil {
		t.Fatal(err)
	}
	env := f.signer.sign(t, OpenCommand{ID: "cmd-1", Device: "lift-bare", Floor: new(3), ExpiresAt: time.Now().Add(time.Hour), By: "op"})
	var r *Rejection
	if err := c.HandleOpen(t.Context(), env); !errors.As(err, &r) || r.Reason != RejectMalformed {
		t.Fatalf("err %v, want a %s rejection", err, RejectMalformed)
	}
	if got := act.take(); len(got) != 0 {
		t.Errorf("writes %v, want none", got)
	}
}
