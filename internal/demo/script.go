package demo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/platform"
)

// The riders of the demo. Their raw credentials exist only here, on the
// platform's side of the story; the gateway sees keyed hashes.
const (
	rider1QR   = "80018812"   // rider-8812's QR code (the door reads QR)
	rider1Card = "3055018812" // rider-8812's card (the lift and gate read cards)
	rider2QR   = "80017001"   // rider-7001, revoked at 09:30
	strayCard  = "1234567890" // a card nobody registered
)

type script struct {
	ctx    context.Context
	s      *site
	plat   *platform.Platform
	tl     *timeline
	gw     *gateway.Gateway
	uplink *netCut
	wlVer  uint64
}

// pause waits d between scenes. The pauses are part of the story: a grant
// covers its door for a while, so a forced door must come later.
func (sc *script) pause(d time.Duration) error {
	select {
	case <-sc.ctx.Done():
		return sc.ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// expect waits for an event the scene should produce.
func (sc *script) expect(timeout time.Duration, typ string, phase events.Phase, subject string) (events.Event, error) {
	ev, ok := sc.plat.WaitType(timeout, typ, phase, subject)
	if sc.ctx.Err() != nil {
		return ev, sc.ctx.Err()
	}
	if !ok {
		return ev, fmt.Errorf("the platform did not receive %s %s from %s within %v", typ, phase, subject, timeout)
	}
	return ev, nil
}

// expectNew waits for an event of the type that arrives after the n-th.
func (sc *script) expectNew(n int, timeout time.Duration, typ string, phase events.Phase, subject string) (events.Event, error) {
	var found events.Event
	ok := sc.plat.Wait(timeout, func(evs []platform.Received) bool {
		for _, r := range evs[min(n, len(evs)):] {
			e := r.Event
			if e.Type == typ && (phase == "" || e.Phase == phase) && (subject == "" || e.Subject == subject) {
				found = e
				return true
			}
		}
		return false
	})
	if sc.ctx.Err() != nil {
		return found, sc.ctx.Err()
	}
	if !ok {
		return found, fmt.Errorf("the platform did not receive %s %s from %s within %v", typ, phase, subject, timeout)
	}
	return found, nil
}

func (sc *script) play() error {
	steps := []func() error{
		sc.start, sc.whitelist, sc.riderAtDoor, sc.riderInLift, sc.revoke,
		sc.forcedDoor, sc.trapped, sc.stuckGate, sc.unplugged, sc.evening, sc.uplinkCut,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			sc.tl.say("!! %v", err)
			return err
		}
	}
	return nil
}

func (sc *script) start() error {
	if _, err := sc.expect(15*time.Second, "gateway.started", "", ""); err != nil {
		return err
	}
	return sc.pause(2 * time.Second)
}

func (sc *script) hash(typ, value string) string {
	h := access.HashCredential(sc.s.siteKey, typ, value)
	return hex.EncodeToString(h[:])
}

// pushWhitelist signs doc as the platform does and sends it.
func (sc *script) pushWhitelist(doc access.Document) error {
	payload, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	env, err := access.SignEnvelope(sc.s.signer, signerID, payload)
	if err != nil {
		return err
	}
	n := len(sc.plat.Events())
	if err := sc.plat.Command("whitelist", env); err != nil {
		return err
	}
	_, err = sc.expectNew(n, 10*time.Second, "whitelist.applied", "", "")
	return err
}

func (sc *script) whitelist() error {
	sc.tl.scene("08:00", "The platform pushes the rider whitelist: a signed snapshot, 3 riders")
	now := time.Now()
	until := now.Add(90 * 24 * time.Hour)
	expired := now.Add(-24 * time.Hour)
	sc.wlVer = 1
	return sc.pushWhitelist(access.Document{
		Site: siteName, Version: sc.wlVer, Kind: access.KindSnapshot, IssuedAt: now,
		Upsert: []access.Entry{
			{ID: "rider-8812", Label: "rider 138****8812",
				Credentials: []access.Credential{{Type: "qr", Hash: sc.hash("qr", rider1QR)}, {Type: "card", Hash: sc.hash("card", rider1Card)}},
				Doors:       []string{doorID}, Floors: map[string][]int{liftID: {1, 12}}, Gates: []string{gateID},
				ValidUntil: &until, MaxUsesPerDay: 50},
			{ID: "rider-7001", Label: "rider 139****7001",
				Credentials: []access.Credential{{Type: "qr", Hash: sc.hash("qr", rider2QR)}},
				Doors:       []string{doorID}, ValidUntil: &until},
			{ID: "rider-5123", Label: "rider 137****5123 (papers expired)",
				Credentials: []access.Credential{{Type: "card", Hash: sc.hash("card", "3055005123")}},
				Doors:       []string{doorID}, ValidUntil: &expired},
		},
	})
}

func (sc *script) riderAtDoor() error {
	sc.tl.scene("08:05", "Rider 8812 shows his QR code at the Block A1 lobby door")
	n := len(sc.plat.Events())
	if err := sc.s.door.Present(rider1QR); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 5*time.Second, "access.granted", "", doorID); err != nil {
		return err
	}
	if err := sc.pause(500 * time.Millisecond); err != nil {
		return err
	}
	if err := sc.s.door.WalkThrough(); err != nil {
		return err
	}
	sc.tl.say("   the lock releases, he walks through, the door closes behind him: no alarm")
	return sc.pause(5 * time.Second)
}

func (sc *script) riderInLift() error {
	sc.tl.scene("08:06", "He calls lift A1 and holds his card to its reader")
	n := len(sc.plat.Events())
	if err := sc.s.lift.Present(rider1Card); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 5*time.Second, "access.granted", "", liftID); err != nil {
		return err
	}
	if err := sc.pause(time.Second); err != nil {
		return err
	}
	sc.tl.say("   floor buttons enabled in the car: %v", sc.s.lift.EnabledFloors())
	if err := sc.s.lift.PressFloor(12); err != nil {
		sc.tl.say("   pressing 12: %v", err)
	}
	return sc.pause(4 * time.Second)
}

func (sc *script) revoke() error {
	sc.tl.scene("09:30", "The platform revokes rider 7001 (a signed delta, version 2)")
	until := time.Now().Add(90 * 24 * time.Hour)
	if err := sc.pushWhitelist(access.Document{
		Site: siteName, Version: 2, Kind: access.KindDelta, BaseVersion: 1, IssuedAt: time.Now(),
		Upsert: []access.Entry{{ID: "rider-7001", Label: "rider 139****7001",
			Credentials: []access.Credential{{Type: "qr", Hash: sc.hash("qr", rider2QR)}},
			Doors:       []string{doorID}, ValidUntil: &until, Revoked: true}},
	}); err != nil {
		return err
	}
	sc.wlVer = 2
	sc.tl.scene("09:31", "Rider 7001 tries the lobby door anyway")
	n := len(sc.plat.Events())
	if err := sc.s.door.Present(rider2QR); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 5*time.Second, "access.denied", "", doorID); err != nil {
		return err
	}
	return sc.pause(3 * time.Second)
}

func (sc *script) forcedDoor() error {
	sc.tl.scene("12:10", "Someone forces the Block A1 lobby door")
	n := len(sc.plat.Events())
	if err := sc.s.door.Force(); err != nil {
		return err
	}
	ev, err := sc.expectNew(n, 5*time.Second, "door.forced_open", events.Raised, doorID)
	if err != nil {
		return err
	}
	if err := sc.pause(2 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the command centre signs for it and sends the community police")
	if err := sc.plat.Ack(ev.AlarmID, "command-centre/zhang.min"); err != nil {
		return err
	}
	if err := sc.pause(2 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the door swings shut")
	if err := sc.s.door.CloseDoor(); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 10*time.Second, "door.forced_open", events.Cleared, doorID); err != nil {
		return err
	}
	return sc.pause(2 * time.Second)
}

func (sc *script) trapped() error {
	sc.tl.scene("14:20", "Lift A1 stops between floors with a passenger inside")
	n := len(sc.plat.Events())
	if err := sc.s.lift.Trap(); err != nil {
		return err
	}
	ev, err := sc.expectNew(n, 20*time.Second, "elevator.trapped", events.Raised, liftID)
	if err != nil {
		return err
	}
	if err := sc.pause(3 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the command centre signs for %s within the minute", ev.AlarmID)
	if err := sc.plat.Ack(ev.AlarmID, "command-centre/li.wei"); err != nil {
		return err
	}
	if err := sc.pause(4 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the maintenance crew frees the passenger")
	if err := sc.s.lift.Release(); err != nil {
		return err
	}
	_, err = sc.expectNew(n, 15*time.Second, "elevator.trapped", events.Cleared, liftID)
	return err
}

func (sc *script) stuckGate() error {
	sc.tl.scene("16:45", "Rider 8812 drives in at the north gate with his card")
	n := len(sc.plat.Events())
	if err := sc.s.gate.Present(rider1Card); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 5*time.Second, "access.granted", "", gateID); err != nil {
		return err
	}
	if err := sc.s.gate.VehicleArrives(); err != nil {
		return err
	}
	if err := sc.pause(3 * time.Second); err != nil {
		return err
	}
	if err := sc.s.gate.VehicleLeaves(); err != nil {
		return err
	}
	if err := sc.s.gate.StickOpen(); err != nil {
		return err
	}
	sc.tl.scene("16:46", "Behind him the arm sticks open; nobody at the platform signs for it")
	if _, err := sc.expectNew(n, 20*time.Second, "gate.stuck_open", events.Raised, gateID); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 30*time.Second, "alarm.escalated", "", gateID); err != nil {
		return err
	}
	if err := sc.pause(2 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the street office sends a technician; the arm comes down")
	if err := sc.s.gate.Unstick(); err != nil {
		return err
	}
	_, err := sc.expectNew(n, 20*time.Second, "gate.stuck_open", events.Cleared, gateID)
	return err
}

func (sc *script) unplugged() error {
	sc.tl.scene("18:00", "A cable is pulled: the gate controller stops answering")
	n := len(sc.plat.Events())
	if err := sc.s.gate.Fault(sim.FaultMode{Kind: sim.FaultNoAnswer}); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 20*time.Second, "device.offline", "", gateID); err != nil {
		return err
	}
	if err := sc.pause(4 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the cable is plugged back in")
	if err := sc.s.gate.Fault(sim.FaultMode{}); err != nil {
		return err
	}
	_, err := sc.expectNew(n, 60*time.Second, "device.online", "", gateID)
	return err
}

// evening shows the quicker alarms: the panel's one-tap call, a reader
// being probed with unknown cards, a lift fault code.
func (sc *script) evening() error {
	sc.tl.scene("19:10", "A resident presses the SOS button on the lobby door panel")
	n := len(sc.plat.Events())
	if err := sc.s.door.SOS(); err != nil {
		return err
	}
	ev, err := sc.expectNew(n, 5*time.Second, "door.sos", events.Raised, doorID)
	if err != nil {
		return err
	}
	if err := sc.plat.Ack(ev.AlarmID, "community-police/wang.fang"); err != nil {
		return err
	}
	sc.tl.say("   the community police office signs for the call")
	if err := sc.pause(2 * time.Second); err != nil {
		return err
	}

	sc.tl.scene("19:30", "Someone tries card after card at the north gate reader")
	n = len(sc.plat.Events())
	for i := 0; i < 5; i++ {
		if err := sc.s.gate.Present(fmt.Sprintf("42000%05d", 1000+i*7)); err != nil {
			return err
		}
		if _, err := sc.expectNew(n+i, 5*time.Second, "access.denied", "", gateID); err != nil {
			return err
		}
	}
	if _, err := sc.expectNew(n, 5*time.Second, "access.probing", events.Raised, gateID); err != nil {
		return err
	}
	if err := sc.pause(2 * time.Second); err != nil {
		return err
	}

	sc.tl.scene("19:45", "Lift A1 reports fault code 23 (door lock circuit)")
	n = len(sc.plat.Events())
	if err := sc.s.lift.SetFault(23); err != nil {
		return err
	}
	if _, err := sc.expectNew(n, 5*time.Second, "elevator.fault", events.Raised, liftID); err != nil {
		return err
	}
	if err := sc.pause(3 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   the maintenance company resets the controller")
	if err := sc.s.lift.SetFault(0); err != nil {
		return err
	}
	_, err = sc.expectNew(n, 10*time.Second, "elevator.fault", events.Cleared, liftID)
	return err
}

func (sc *script) uplinkCut() error {
	sc.tl.scene("20:00", "The estate's uplink goes down for 20 s; riders keep coming")
	sc.uplink.cut()
	before := sc.gw.Stats().Appended
	if err := sc.pause(2 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   rider 8812 at the lobby door: decided locally, offline")
	if err := sc.s.door.Present(rider1QR); err != nil {
		return err
	}
	if err := sc.pause(time.Second); err != nil {
		return err
	}
	_ = sc.s.door.WalkThrough()
	if err := sc.pause(5 * time.Second); err != nil {
		return err
	}
	sc.tl.say("   an unregistered card at the north gate")
	if err := sc.s.gate.Present(strayCard); err != nil {
		return err
	}
	if err := sc.pause(12 * time.Second); err != nil {
		return err
	}
	st := sc.gw.Stats()
	sc.tl.say("   uplink down: %d event(s) raised meanwhile, %d held in the outbox on disk", st.Appended-before, st.OutboxDepth)
	sc.tl.scene("20:00:20", "The uplink comes back")
	if err := sc.uplink.restore(sc.ctx); err != nil {
		return err
	}
	if !sc.settle(90 * time.Second) {
		return fmt.Errorf("the backlog did not drain")
	}
	sc.tl.say("   backlog delivered, in order")
	return nil
}

// settle waits until the platform holds every event the gateway stored.
func (sc *script) settle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st := sc.gw.Stats()
		if st.OutboxDepth == 0 && uint64(len(sc.plat.Events())) >= st.Appended {
			return true
		}
		select {
		case <-sc.ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}
