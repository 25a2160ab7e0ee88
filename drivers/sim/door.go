package sim

import (
	"fmt"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// Door timings. A person walks through in passTime; one waiting at a locked
// door gives up after patience; the controller releases the lock for
// unlockTime after unlock is written, then resets the coil itself (as the
// built-in profile documents).
const (
	doorPassTime   = 3 * time.Second
	doorPatience   = 10 * time.Second
	doorUnlockTime = 5 * time.Second
	doorPressTime  = 2 * time.Second
	// doorHeldLimit is the controller's own "held open" limit for its
	// latched alarm word (the gateway's rule has its own threshold).
	doorHeldLimit = 60 * time.Second
)

// Bits of the door controller's latched alarm word (alarm_bits_* points).
const (
	doorAlarmForced = "alarm_bits_forced"
	doorAlarmHeld   = "alarm_bits_held"
	doorAlarmTamper = "alarm_bits_tamper"
)

// door models a door with an electric strike, a contact, an exit button and
// a person who may use it. The door contact follows the lock: the person
// opens it only while the lock is released.
type door struct {
	s *Sim

	releaseLeft time.Duration // > 0: lock released for this much longer
	open        bool
	closeLeft   time.Duration // > 0: the door closes after this; 0: stays open
	waitLeft    time.Duration // > 0: someone waits at the locked door
	holdOpen    bool          // the waiting person props the door open
	exitLeft    time.Duration // > 0: exit_request held
	sosLeft     time.Duration
	openFor     time.Duration
}

func newDoor(s *Sim) *door {
	if p := s.points["battery_volts"]; p != nil {
		_ = s.img.putElem(p, 0, Number(12.5))
	}
	return &door{s: s}
}

func (d *door) released() bool { return d.releaseLeft > 0 }

func (d *door) written(t configs.Table, addr, qty uint16) {
	if !covers(d.s.points["unlock"], t, addr, qty) {
		return
	}
	if d.s.boolOf("unlock") {
		d.releaseLeft = doorUnlockTime
	} else {
		d.releaseLeft = 0
	}
	d.sync()
}

func (d *door) step(dt time.Duration) {
	if d.releaseLeft > 0 {
		d.releaseLeft -= dt
		if d.releaseLeft <= 0 {
			d.releaseLeft = 0
			d.s.setBool("unlock", false)
		}
	}
	if d.waitLeft > 0 {
		if d.released() {
			d.waitLeft = 0
			d.openDoor(doorPassTime)
			if d.holdOpen {
				d.closeLeft = 0
			}
		} else if d.waitLeft -= dt; d.waitLeft < 0 {
			d.waitLeft = 0
		}
	}
	if d.open && d.closeLeft > 0 {
		if d.closeLeft -= dt; d.closeLeft <= 0 {
			d.closeLeft = 0
			d.open = false
		}
	}
	if d.exitLeft > 0 && !d.open {
		if d.exitLeft -= dt; d.exitLeft < 0 {
			d.exitLeft = 0
		}
	}
	if d.sosLeft > 0 {
		if d.sosLeft -= dt; d.sosLeft < 0 {
			d.sosLeft = 0
		}
	}
	if d.open {
		d.openFor += dt
	} else {
		d.openFor = 0
	}
	d.sync()
}

// openDoor opens the door; closeAfter 0 leaves it open until Close.
func (d *door) openDoor(closeAfter time.Duration) {
	if !d.open && !d.released() && d.exitLeft == 0 {
		d.s.setBool(doorAlarmForced, true)
	}
	d.open, d.closeLeft = true, closeAfter
	d.sync()
}

// sync writes the model's state to the image.
func (d *door) sync() {
	d.s.setBool("lock_released", d.released())
	d.s.setBool("door_open", d.open)
	d.s.setBool("exit_request", d.exitLeft > 0)
	d.s.setBool("sos_button", d.sosLeft > 0)
	if d.openFor > doorHeldLimit {
		d.s.setBool(doorAlarmHeld, true)
	}
}

// doorDo runs f on the door model with the lock held.
func (s *Sim) doorDo(name string, f func(d *door)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.model.(*door)
	if !ok {
		return fmt.Errorf("sim: %s on a %s: %w", name, s.kind, ErrWrongKind)
	}
	f(d)
	return nil
}

// WalkThrough sends a person through the door: if the lock is released (now
// or within a few seconds, the time a gateway takes to grant a credential)
// the door opens and closes again after a few seconds; otherwise the person
// gives up.
func (s *Sim) WalkThrough() error {
	return s.doorDo("walk through", func(d *door) {
		d.holdOpen = false
		if d.released() {
			d.openDoor(doorPassTime)
			return
		}
		d.waitLeft = doorPatience
	})
}

// HoldOpen is WalkThrough by a person who props the door open: once opened
// it stays open until Close.
func (s *Sim) HoldOpen() error {
	return s.doorDo("hold open", func(d *door) {
		d.holdOpen = true
		if d.released() {
			d.openDoor(0)
			return
		}
		d.waitLeft = doorPatience
	})
}

// Force opens the door without a release (door_open with the lock shut); it
// stays open until Close.
func (s *Sim) Force() error {
	return s.doorDo("force", func(d *door) { d.openDoor(0) })
}

// CloseDoor shuts the door and sends away anyone waiting at it.
func (s *Sim) CloseDoor() error {
	return s.doorDo("close", func(d *door) {
		d.open, d.closeLeft, d.waitLeft, d.holdOpen = false, 0, 0, false
		d.openFor = 0
		d.sync()
	})
}

// ExitRequest is someone inside pressing the exit button and walking out:
// exit_request is held while the door opens and for a moment after it
// closes.
func (s *Sim) ExitRequest() error {
	return s.doorDo("exit request", func(d *door) {
		d.exitLeft = doorPressTime
		d.openDoor(doorPassTime)
	})
}

// SOS presses the SOS button for a couple of seconds.
func (s *Sim) SOS() error {
	return s.doorDo("sos", func(d *door) {
		d.sosLeft = doorPressTime
		d.sync()
	})
}

// Tamper opens the controller's enclosure: tamper stays set until
// ClearTamper, and the controller latches it in its alarm word.
func (s *Sim) Tamper() error {
	return s.doorDo("tamper", func(d *door) {
		s.setBool("tamper", true)
		s.setBool(doorAlarmTamper, true)
	})
}

// ClearTamper closes the enclosure again (the latched alarm bit stays).
func (s *Sim) ClearTamper() error {
	return s.doorDo("clear tamper", func(d *door) { s.setBool("tamper", false) })
}
