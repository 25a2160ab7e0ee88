package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// writeCoil writes a coil as a client would, through the request handler.
func writeCoil(t *testing.T, s *Sim, point string, on bool) {
	t.Helper()
	p := s.points[point]
	if _, err := s.bitsRequest(configs.TableCoil, p.Address, 1, true, []bool{on}); err != nil {
		t.Fatal(err)
	}
}

func TestDoorContactFollowsLock(t *testing.T) {
	s, c := newSim(t, KindDoor)
	if c.bool("door_open") || c.bool("lock_released") {
		t.Fatal("door starts open or released")
	}
	// Someone walks up to the locked door: it stays shut while they wait.
	must(t, s.WalkThrough())
	c.advance(2 * time.Second)
	if c.bool("door_open") {
		t.Fatal("door opened while locked")
	}
	writeCoil(t, s, "unlock", true)
	if !c.bool("lock_released") {
		t.Fatal("unlock=1 did not release the lock at once")
	}
	c.advance(200 * time.Millisecond)
	if !c.bool("door_open") {
		t.Fatal("waiting person did not open the released door")
	}
	if c.bool("alarm_bits_forced") {
		t.Fatal("a released door latched the forced bit")
	}
	c.advance(doorPassTime)
	if c.bool("door_open") {
		t.Fatal("door did not close after the person passed")
	}
	// The controller relocks after its unlock time and resets the coil.
	c.advance(doorUnlockTime)
	if c.bool("lock_released") || c.bool("unlock") {
		t.Fatal("lock still released after the unlock time")
	}
}

func TestDoorWriteZeroRelocks(t *testing.T) {
	s, c := newSim(t, KindDoor)
	writeCoil(t, s, "unlock", true)
	c.advance(time.Second)
	writeCoil(t, s, "unlock", false)
	if c.bool("lock_released") {
		t.Fatal("unlock=0 did not relock")
	}
}

func TestDoorPersonGivesUp(t *testing.T) {
	s, c := newSim(t, KindDoor)
	must(t, s.WalkThrough())
	c.advance(doorPatience + time.Second)
	writeCoil(t, s, "unlock", true)
	c.advance(time.Second)
	if c.bool("door_open") {
		t.Fatal("door opened by a person who had left")
	}
}

func TestDoorScenarios(t *testing.T) {
	tests := []struct {
		name string
		act  func(s *Sim) error
		// after is checked after one second.
		want map[string]bool
	}{
		{"force", (*Sim).Force, map[string]bool{"door_open": true, "lock_released": false, "exit_request": false, "alarm_bits_forced": true}},
		{"exit request", (*Sim).ExitRequest, map[string]bool{"door_open": true, "exit_request": true, "alarm_bits_forced": false}},
		{"sos", (*Sim).SOS, map[string]bool{"sos_button": true, "door_open": false}},
		{"tamper", (*Sim).Tamper, map[string]bool{"tamper": true, "alarm_bits_tamper": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSim(t, KindDoor)
			must(t, tt.act(s))
			c.advance(time.Second)
			for p, want := range tt.want {
				if got := c.bool(p); got != want {
					t.Errorf("%s = %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestDoorForcedStaysOpenUntilClosed(t *testing.T) {
	s, c := newSim(t, KindDoor)
	must(t, s.Force())
	c.advance(10 * time.Minute)
	if !c.bool("door_open") || !c.bool("alarm_bits_held") {
		t.Fatal("forced door closed by itself or held bit not latched")
	}
	must(t, s.CloseDoor())
	if c.bool("door_open") {
		t.Fatal("CloseDoor left the door open")
	}
}

func TestDoorHoldOpen(t *testing.T) {
	s, c := newSim(t, KindDoor)
	must(t, s.HoldOpen())
	writeCoil(t, s, "unlock", true)
	c.advance(time.Minute)
	if !c.bool("door_open") || c.bool("alarm_bits_forced") {
		t.Fatal("held door should stay open without a forced alarm")
	}
}

func TestDoorExitRequestEnds(t *testing.T) {
	s, c := newSim(t, KindDoor)
	must(t, s.ExitRequest())
	c.advance(doorPassTime + doorPressTime + time.Second)
	if c.bool("door_open") || c.bool("exit_request") {
		t.Fatal("exit request or door did not end")
	}
	must(t, s.SOS())
	c.advance(doorPressTime + time.Second)
	if c.bool("sos_button") {
		t.Fatal("sos button stayed pressed")
	}
}

func TestPresentCredential(t *testing.T) {
	s, c := newSim(t, KindDoor)
	for i, cred := range []string{"12345678", "4294967295", "7"} {
		must(t, s.Present(cred))
		if got := c.num("credential_seq"); got != float64(i+1) {
			t.Fatalf("credential_seq = %v, want %d", got, i+1)
		}
		v, _ := s.Get("credential")
		if v.Text() != cred {
			t.Fatalf("credential = %q, want %q", v.Text(), cred)
		}
	}
	if err := s.Present("not a number"); err == nil {
		t.Fatal("non-numeric credential accepted by a numeric point")
	}
	if err := s.Present("4294967296"); !errors.Is(err, ErrRange) {
		t.Fatalf("too large credential: err = %v, want ErrRange", err)
	}
	if got := c.num("credential_seq"); got != 3 {
		t.Fatalf("a failed Present moved credential_seq to %v", got)
	}
}

func TestCredentialSeqWraps(t *testing.T) {
	s, c := newSim(t, KindDoor)
	must(t, s.Set("credential_seq", Number(65535)))
	must(t, s.Present("1"))
	if got := c.num("credential_seq"); got != 0 {
		t.Fatalf("credential_seq = %v after 65535, want 0", got)
	}
}

func TestWrongKindHelpers(t *testing.T) {
	door, _ := newSim(t, KindDoor)
	lift, _ := newSim(t, KindElevator)
	gate, _ := newSim(t, KindGate)
	for name, err := range map[string]error{
		"trap on door":     door.Trap(),
		"force on lift":    lift.Force(),
		"arrive on door":   door.VehicleArrives(),
		"call on gate":     gate.Call(2),
		"set fault (door)": door.SetFault(3),
	} {
		if !errors.Is(err, ErrWrongKind) {
			t.Errorf("%s: err = %v, want ErrWrongKind", name, err)
		}
	}
}
