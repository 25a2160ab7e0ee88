package gateway_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/platform"
)

func (r *rig) hash(typ, value string) string {
	h := access.HashCredential(r.key, typ, value)
	return hex.EncodeToString(h[:])
}

// push signs a whitelist document as the platform does and sends it.
func (r *rig) push(doc access.Document) {
	r.t.Helper()
	payload, err := json.Marshal(doc)
	if err != nil {
		r.t.Fatal(err)
	}
	env, err := access.SignEnvelope(r.signer, "central-2026", payload)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.plat.Command("whitelist", env); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) waitStarted() {
	r.t.Helper()
	if _, ok := r.plat.WaitType(15*time.Second, "gateway.started", "", ""); !ok {
		r.t.Fatal("no gateway.started")
	}
	// Let the first polls set the baselines.
	time.Sleep(400 * time.Millisecond)
}

// waitAfter waits for an event of typ/phase/subject among those received
// after the first n.
func (r *rig) waitAfter(n int, timeout time.Duration, typ string, phase events.Phase, subject string) events.Event {
	r.t.Helper()
	var found events.Event
	ok := r.plat.Wait(timeout, func(evs []platform.Received) bool {
		for _, e := range evs[min(n, len(evs)):] {
			if e.Event.Type == typ && (phase == "" || e.Event.Phase == phase) && (subject == "" || e.Event.Subject == subject) {
				found = e.Event
				return true
			}
		}
		return false
	})
	if !ok {
		var got []string
		for _, e := range r.plat.Events() {
			got = append(got, e.Event.Type+"/"+string(e.Event.Phase)+"@"+e.Event.Subject)
		}
		r.t.Fatalf("no %s %s from %q within %v; platform has %v", typ, phase, subject, timeout, got)
	}
	return found
}

func (r *rig) waitReply(id string, timeout time.Duration) platform.Reply {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, rep := range r.plat.Replies() {
			if rep.ID == id {
				return rep
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("no reply for %q; replies %+v", id, r.plat.Replies())
	return platform.Reply{}
}

const (
	riderQR   = "80018812"
	riderCard = "3055018812"
)

func (r *rig) snapshot(version uint64) access.Document {
	until := time.Now().Add(24 * time.Hour)
	return access.Document{Site: "wannan", Version: version, Kind: access.KindSnapshot, IssuedAt: time.Now(),
		Upsert: []access.Entry{{ID: "rider-8812", Label: "rider 138****8812",
			Credentials: []access.Credential{{Type: "qr", Hash: r.hash("qr", riderQR)}, {Type: "card", Hash: r.hash("card", riderCard)}},
			Doors:       []string{doorID}, Floors: map[string][]int{liftID: {3, 12}}, Gates: []string{gateID}, ValidUntil: &until}}}
}

// A rider is let in at a door and a lift by a signed whitelist pushed over
// real Mosquitto; an unknown card is refused; a forged update is rejected;
// and no raw credential reaches the disk or the logs.
func TestRiderAccessThroughSimulators(t *testing.T) {
	r := newRig(t, rigOptions{kinds: []string{configs.KindDoor, configs.KindElevator}})
	r.start()
	r.waitStarted()

	n := len(r.plat.Events())
	r.push(r.snapshot(7))
	applied := r.waitAfter(n, 10*time.Second, "whitelist.applied", "", "")
	if v, _ := applied.Data["version"].(float64); v != 7 {
		t.Errorf("whitelist.applied data %v, want version 7", applied.Data)
	}
	if rep := r.waitReply("whitelist-7", 5*time.Second); !rep.OK {
		t.Errorf("reply to the whitelist: %+v", rep)
	}

	// Door: granted, the lock is released for the unlock time.
	n = len(r.plat.Events())
	if err := r.door.Present(riderQR); err != nil {
		t.Fatal(err)
	}
	g := r.waitAfter(n, 5*time.Second, "access.granted", "", doorID)
	if g.Data["entry"] != "rider-8812" {
		t.Errorf("granted data %v", g.Data)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		v, _ := r.door.Get("lock_released")
		if v.Num == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the door's lock was not released after the grant")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Lift: exactly the granted floors are enabled, then disabled again.
	n = len(r.plat.Events())
	if err := r.lift.Present(riderCard); err != nil {
		t.Fatal(err)
	}
	r.waitAfter(n, 5*time.Second, "access.granted", "", liftID)
	deadline = time.Now().Add(3 * time.Second)
	for !slices.Equal(r.lift.EnabledFloors(), []int{3, 12}) {
		if time.Now().After(deadline) {
			t.Fatalf("enabled floors %v, want [3 12]", r.lift.EnabledFloors())
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(r.lift.EnabledFloors()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("floors still enabled after the unlock time: %v", r.lift.EnabledFloors())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// An unknown QR code at the door is denied.
	n = len(r.plat.Events())
	if err := r.door.Present("99990000"); err != nil {
		t.Fatal(err)
	}
	d := r.waitAfter(n, 5*time.Second, "access.denied", "", doorID)
	if d.Data["reason"] != "unknown" {
		t.Errorf("denied reason %v, want unknown", d.Data["reason"])
	}

	// A forged update (signed by another key) is rejected; nothing changes.
	n = len(r.plat.Events())
	doc := r.snapshot(8)
	doc.Upsert[0].Doors = nil
	payload, _ := json.Marshal(doc)
	other := ed25519Key(t)
	env, _ := access.SignEnvelope(other, "central-2026", payload)
	if err := r.plat.Command("whitelist", env); err != nil {
		t.Fatal(err)
	}
	rej := r.waitAfter(n, 5*time.Second, "whitelist.rejected", "", "")
	if rej.Data["reason"] != "bad_signature" {
		t.Errorf("rejected data %v, want reason bad_signature", rej.Data)
	}
	n = len(r.plat.Events())
	if err := r.door.Present(riderQR); err != nil {
		t.Fatal(err)
	}
	r.waitAfter(n, 5*time.Second, "access.granted", "", doorID)

	r.stop()
	// Privacy: no raw credential on disk or in a log line.
	raw := []string{riderQR, riderCard, "99990000"}
	for _, v := range raw {
		if strings.Contains(r.logs.String(), v) {
			t.Errorf("raw credential %q in the logs", v)
		}
	}
	_ = filepath.Walk(r.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		for _, v := range raw {
			if strings.Contains(string(b), v) {
				t.Errorf("raw credential %q in %s", v, path)
			}
		}
		return nil
	})
}

// A passenger trapped in a lift is raised critical to the police, acked in
// time (answered on P/reply) and not escalated; a forced gate is raised; a
// stuck gate nobody acks is escalated one level; an unplugged controller goes
// offline and comes back.
func TestAlarmScenarios(t *testing.T) {
	r := newRig(t, rigOptions{
		kinds:    []string{configs.KindElevator, configs.KindGate},
		upstream: "  ack_timeout: 3s",
		rules: `rules:
  elevator.trapped: { after: 1s }
  elevator.stopped_outside_zone: { after: 1s }
  gate.stuck_open: { after: 6s, severity: high }`,
	})
	r.start()
	r.waitStarted()

	{ // trapped passenger acked in time
		n := len(r.plat.Events())
		if err := r.lift.Trap(); err != nil {
			t.Fatal(err)
		}
		ev := r.waitAfter(n, 10*time.Second, "elevator.trapped", events.Raised, liftID)
		if ev.Severity != events.Critical || ev.Route != events.RoutePolice {
			t.Errorf("trapped %s -> %s, want critical -> police", ev.Severity, ev.Route)
		}
		if err := r.plat.Ack(ev.AlarmID, "command-centre"); err != nil {
			t.Fatal(err)
		}
		if rep := r.waitReply(ev.AlarmID, 5*time.Second); !rep.OK {
			t.Errorf("ack reply %+v", rep)
		}
		time.Sleep(4 * time.Second) // past ack_timeout
		for _, e := range r.plat.Events()[n:] {
			if e.Event.Type == "alarm.escalated" && e.Event.AlarmID == ev.AlarmID {
				t.Errorf("an acked alarm was escalated: %+v", e.Event)
			}
		}
		if err := r.lift.Release(); err != nil {
			t.Fatal(err)
		}
		r.waitAfter(n, 10*time.Second, "elevator.trapped", events.Cleared, liftID)
	}

	{ // forced gate
		n := len(r.plat.Events())
		if err := r.gate.ForceOpen(); err != nil {
			t.Fatal(err)
		}
		ev := r.waitAfter(n, 10*time.Second, "gate.forced_open", events.Raised, gateID)
		if ev.Severity != events.High || ev.Route != events.RouteStreet {
			t.Errorf("gate.forced_open %s -> %s, want high -> street", ev.Severity, ev.Route)
		}
		if err := r.plat.Ack(ev.AlarmID, "command-centre"); err != nil {
			t.Fatal(err)
		}
		// A car goes through; the arm comes down behind it.
		if err := r.gate.VehicleArrives(); err != nil {
			t.Fatal(err)
		}
		if err := r.gate.VehicleLeaves(); err != nil {
			t.Fatal(err)
		}
		r.waitAfter(n, 15*time.Second, "gate.forced_open", events.Cleared, gateID)
	}

	{ // stuck gate escalated for want of an ack
		n := len(r.plat.Events())
		if err := r.gate.StickOpen(); err != nil {
			t.Fatal(err)
		}
		ev := r.waitAfter(n, 10*time.Second, "gate.stuck_open", events.Raised, gateID)
		// The arm rising with no command is also a forced opening; the
		// platform signs for that one, not for the stuck arm.
		forced := r.waitAfter(n, 10*time.Second, "gate.forced_open", events.Raised, gateID)
		if err := r.plat.Ack(forced.AlarmID, "command-centre"); err != nil {
			t.Fatal(err)
		}
		var esc events.Event
		if !r.plat.Wait(15*time.Second, func(evs []platform.Received) bool {
			for _, e := range evs[n:] {
				if e.Event.Type == "alarm.escalated" && e.Event.AlarmID == ev.AlarmID {
					esc = e.Event
					return true
				}
			}
			return false
		}) {
			t.Fatalf("stuck gate %s not escalated", ev.AlarmID)
		}
		if esc.Route != ev.Route.Up() || esc.Phase != events.Escalated {
			t.Errorf("escalation %s route %s, want %s route %s", esc.AlarmID, esc.Route, ev.AlarmID, ev.Route.Up())
		}
		if err := r.gate.Unstick(); err != nil {
			t.Fatal(err)
		}
		r.waitAfter(n, 15*time.Second, "gate.stuck_open", events.Cleared, gateID)
	}

	{ // device unplugged and back
		n := len(r.plat.Events())
		if err := r.gate.Fault(sim.FaultMode{Kind: sim.FaultNoAnswer}); err != nil {
			t.Fatal(err)
		}
		r.waitAfter(n, 15*time.Second, "device.offline", "", gateID)
		if err := r.gate.Fault(sim.FaultMode{}); err != nil {
			t.Fatal(err)
		}
		r.waitAfter(n, 30*time.Second, "device.online", "", gateID)
	}

	r.stop()
	dups, gaps, reorders := r.plat.Stats()
	if len(gaps) > 0 || reorders > 0 {
		t.Errorf("sequence gaps %v, out of order %d (dups %d)", gaps, reorders, dups)
	}
}

func ed25519Key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}
