package access_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// fzActuator counts writes and checks their shape.
type fzActuator struct {
	mu       sync.Mutex
	writes   int
	maxFloor int // longest floor_enable write seen
}

func (a *fzActuator) Write(_ context.Context, _, _ string, _ drivers.Value) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writes++
	return nil
}

func (a *fzActuator) WriteBools(_ context.Context, _, _ string, bits []bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writes++
	a.maxFloor = max(a.maxFloor, len(bits))
	return nil
}

func (a *fzActuator) count() (int, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.writes, a.maxFloor
}

// fzEvents collects emitted events.
type fzEvents struct {
	mu  sync.Mutex
	evs []events.Event
}

func (e *fzEvents) emit(ev events.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *fzEvents) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.evs)
}

// fzDevices are a door, a lift and a gate with the built-in profiles, as a
// loaded config has them.
func fzDevices(tb testing.TB) []configs.Device {
	tb.Helper()
	var out []configs.Device
	for _, d := range []struct{ id, kind, cred string }{
		{"door-a1-lobby", configs.KindDoor, access.TypeQR},
		{"lift-a1", configs.KindElevator, access.TypeQR},
		{"gate-north", configs.KindGate, access.TypeCard},
	} {
		p, err := configs.Builtin(d.kind)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, configs.Device{ID: d.id, Kind: d.kind, CredentialType: d.cred, LowestFloor: 1,
			Location: "loc " + d.id, Resolved: p})
	}
	return out
}

// openPayload is a remote open command as the platform signs it.
func openPayload(id, device string, floor *int, expires time.Time) []byte {
	b, _ := json.Marshal(access.OpenCommand{ID: id, Device: device, Floor: floor, ExpiresAt: expires, By: "operator-7"})
	return b
}

// FuzzHandleOpen feeds remote opens to a controller on a real store: signed
// by the configured key, by an unknown key, by a forger, and raw envelopes.
// A refused open must be a *Rejection that says why, write nothing to any
// device and count no grant; an accepted one must be a well-formed command
// for a known device that has not expired, and must be refused as a replay
// the second time.
func FuzzHandleOpen(f *testing.F) {
	floor, high := 3, 1_000_000_000
	seeds := [][]byte{
		openPayload("cmd-1", "door-a1-lobby", nil, fzNow.Add(time.Minute)),
		openPayload("cmd-2", "lift-a1", &floor, fzNow.Add(time.Minute)),
		openPayload("cmd-3", "gate-north", nil, fzNow.Add(time.Hour)),
		openPayload("cmd-4", "lift-a1", &high, fzNow.Add(time.Minute)),
		openPayload("cmd-5", "door-a1-lobby", nil, fzNow),
		openPayload("cmd-6", "door-a1-lobby", nil, fzNow.Add(48*time.Hour)),
		openPayload("cmd-7", "door-zz", nil, fzNow.Add(time.Minute)),
		openPayload("cmd-8", "lift-a1", nil, fzNow.Add(time.Minute)),
		openPayload("cmd-9", "door-a1-lobby", &floor, fzNow.Add(time.Minute)),
		openPayload("", "door-a1-lobby", nil, fzNow.Add(time.Minute)),
		[]byte(`{"id":"cmd-10","device":"door-a1-lobby","expires_at":"2026-11-27T10:05:00Z","by":"x","user":"y"}`),
		[]byte(`{"id":"cmd-11","device":"door-a1-lobby","expires_at":"not a time","by":"x"}`),
		[]byte(`{"id":"cmd-12","device":"lift-a1","floor":-2147483649,"expires_at":"2026-11-27T10:05:00Z","by":"x"}`),
		[]byte(`{"id":"cmd-13"`),
		[]byte(`{"key_id":"central-2026","payload":"e30=","sig":"AA=="}`),
		[]byte(``),
	}
	for _, s := range seeds {
		for mode := range uint8(4) {
			f.Add(mode, s)
		}
	}
	store := openFzStore(f, f.TempDir())
	f.Cleanup(func() { _ = store.Close() })
	act := &fzActuator{}
	out := &fzEvents{}
	devs := fzDevices(f)
	c, err := access.NewController(store, devs, act, access.ControllerOptions{
		UnlockTime: time.Millisecond, Emit: out.emit, Now: func() time.Time { return fzNow }, QueueSize: 4,
	})
	if err != nil {
		f.Fatal(err)
	}
	floors := 0
	for _, d := range devs {
		floors = max(floors, access.DeviceFrom(d).FloorCount)
	}
	f.Fuzz(func(t *testing.T, mode uint8, payload []byte) {
		if len(payload) > maxFuzzInput {
			t.Skip("larger than the uplink accepts")
		}
		env, forged := envelopeFor(t, mode, payload)
		before := c.Stats()
		evs := out.len()
		ctx, cancel := context.WithTimeout(context.Background(), execDeadline)
		defer cancel()
		var err error
		within(t, "HandleOpen", func() { err = c.HandleOpen(ctx, env) })
		after := c.Stats()
		if err != nil {
			checkRejection(t, err, forged)
			if after.Granted != before.Granted || after.OpenRejected != before.OpenRejected+1 || out.len() != evs {
				t.Fatalf("refused open (%v) changed state: stats %+v -> %+v, events %d -> %d", err, before, after, evs, out.len())
			}
			if w, _ := act.count(); w != 0 {
				t.Fatalf("a device was written (%d writes) without a controller run", w)
			}
			return
		}
		if forged != "" {
			t.Fatalf("open with forged envelope (%s) accepted", forged)
		}
		var cmd access.OpenCommand
		if json.Unmarshal(payload, &cmd) != nil || cmd.ID == "" || cmd.By == "" {
			t.Fatalf("accepted an open without id or by: %q", payload)
		}
		if !fzNow.Before(cmd.ExpiresAt) || cmd.ExpiresAt.Sub(fzNow) > access.MaxOpenLifetime {
			t.Fatalf("accepted an open expiring at %v (now %v)", cmd.ExpiresAt, fzNow)
		}
		if after.Granted != before.Granted+1 {
			t.Fatalf("accepted open counted %d grants", after.Granted-before.Granted)
		}
		// Drain the actuation queue: run the workers until the event is out.
		runUntil(t, c, func() bool { return out.len() > evs || c.Stats().QueueFull > before.QueueFull })
		if _, longest := act.count(); longest > floors {
			t.Fatalf("floor_enable written with %d coils, the lift has %d", longest, floors)
		}
		act.mu.Lock()
		act.writes = 0
		act.mu.Unlock()
		if err := c.HandleOpen(ctx, env); err == nil {
			t.Fatal("the same open accepted twice")
		} else {
			checkRejection(t, err, access.RejectReplayed)
		}
	})
}

// runUntil runs the controller's workers until cond holds, then stops them
// and waits for them to return (they relock what they unlocked).
func runUntil(t *testing.T, c *access.Controller, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), execDeadline)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() && ctx.Err() == nil {
		<-tick.C
	}
	ok := cond()
	cancel()
	<-done
	if !ok {
		t.Fatal("the accepted open was never actuated and emitted")
	}
}
