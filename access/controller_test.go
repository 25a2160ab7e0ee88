package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// write is one recorded actuator call.
type write struct {
	at     time.Time
	device string
	point  string
	value  string
}

// fakeActuator records writes; block, if set, holds every write until closed.
type fakeActuator struct {
	mu     sync.Mutex
	writes []write
	block  chan struct{}
}

func (a *fakeActuator) record(ctx context.Context, device, point, value string) error {
	if a.block != nil {
		select {
		case <-a.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writes = append(a.writes, write{time.Now(), device, point, value})
	return nil
}

func (a *fakeActuator) Write(ctx context.Context, device, point string, v drivers.Value) error {
	return a.record(ctx, device, point, v.Text())
}

func (a *fakeActuator) WriteBools(ctx context.Context, device, point string, bits []bool) error {
	var b strings.Builder
	for _, on := range bits {
		if on {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return a.record(ctx, device, point, b.String())
}

func (a *fakeActuator) take() []write {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.writes
	a.writes = nil
	return w
}

// sink collects emitted events.
type sink struct {
	mu  sync.Mutex
	evs []events.Event
}

func (s *sink) emit(ev events.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, ev)
}

func (s *sink) take() []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.evs
	s.evs = nil
	return e
}

var testDevices = []configs.Device{
	{ID: door.ID, Kind: "door", CredentialType: TypeCard, Location: "Block A1 lobby"},
	{ID: lift.ID, Kind: "elevator", CredentialType: TypeCard, LowestFloor: -1,
		Resolved: &configs.Profile{Points: []configs.Point{{Name: PointFloorEnable, Table: configs.TableCoil, Type: configs.TypeBool, Count: 8, Writable: true}}}},
	{ID: gate.ID, Kind: "gate", CredentialType: TypeCard},
}

func reading(dev string, at time.Time, seq uint16, credential uint32) drivers.Reading {
	return drivers.Reading{Device: dev, Time: at, Online: true, Quality: drivers.Good, Values: map[string]drivers.Value{
		PointCredentialSeq: {Type: configs.TypeUint16, Num: float64(seq), Int: int64(seq), Uint: uint64(seq)},
		PointCredential:    {Type: configs.TypeUint32, Num: float64(credential), Int: int64(credential), Uint: uint64(credential)},
	}}
}

func TestControllerActuates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.apply(t, snapshot(1,
			Entry{ID: "rider-1", Credentials: []Credential{cred(TypeCard, "1001")}, Doors: []string{door.ID},
				Gates: []string{gate.ID}, Floors: map[string][]int{lift.ID: {-1, 3, 6, 40}}},
			Entry{ID: "rider-2", Credentials: []Credential{cred(TypeCard, "1002")}, Doors: []string{door.ID}, Revoked: true},
		))
		act := &fakeActuator{}
		out := &sink{}
		c, err := NewController(f.store, testDevices, act, ControllerOptions{UnlockTime: 5 * time.Second, Emit: out.emit})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		start := time.Now()

		// The first reading only sets the baseline, whatever it holds.
		c.Observe(reading(door.ID, time.Now(), 7, 1001))
		c.Observe(reading(door.ID, time.Now(), 7, 1001))
		synctest.Wait()
		if w, e := act.take(), out.take(); len(w)+len(e) != 0 {
			t.Fatalf("baseline produced writes %v events %v", w, e)
		}

		// A new read: unlock now, lock again 5 s later.
		c.Observe(reading(door.ID, time.Now(), 8, 1001))
		synctest.Wait()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []write{{start, door.ID, PointUnlock, "1"}, {start.Add(5 * time.Second), door.ID, PointUnlock, "0"}}
		if got := act.take(); !slices.Equal(got, want) {
			t.Fatalf("door writes %v, want %v", got, want)
		}
		evs := out.take()
		if len(evs) != 1 || evs[0].Type != EventGranted || evs[0].Data["entry"] != "rider-1" ||
			evs[0].Data["actuated"] != true || evs[0].Subject != door.ID || evs[0].Category() != "access" ||
			evs[0].Route != "record" || evs[0].Severity != "info" {
			t.Fatalf("events %+v", evs)
		}

		// Elevator: exactly the granted floors (index = floor - lowest_floor).
		c.Observe(reading(lift.ID, time.Now(), 1, 1001))
		c.Observe(reading(lift.ID, time.Now(), 2, 1001))
		synctest.Wait()
		t0 := time.Now()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want = []write{{t0, lift.ID, PointFloorEnable, "10001001"}, {t0.Add(5 * time.Second), lift.ID, PointFloorEnable, "00000000"}}
		if got := act.take(); !slices.Equal(got, want) {
			t.Fatalf("lift writes %v, want %v", got, want)
		}
		if evs := out.take(); len(evs) != 1 || fmt.Sprint(evs[0].Data["floors"]) != "[-1 3 6 40]" {
			t.Fatalf("lift events %+v", evs)
		}

		// Gate: a second grant while open extends the pulse.
		c.Observe(reading(gate.ID, time.Now(), 1, 1001))
		c.Observe(reading(gate.ID, time.Now(), 2, 1001))
		synctest.Wait()
		t0 = time.Now()
		time.Sleep(3 * time.Second)
		c.Observe(reading(gate.ID, time.Now(), 3, 1001))
		synctest.Wait()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want = []write{{t0, gate.ID, PointOpen, "1"}, {t0.Add(3 * time.Second), gate.ID, PointOpen, "1"}, {t0.Add(8 * time.Second), gate.ID, PointOpen, "0"}}
		if got := act.take(); !slices.Equal(got, want) {
			t.Fatalf("gate writes %v, want %v", got, want)
		}
		out.take()

		// Denied: an event, no write.
		c.Observe(reading(door.ID, time.Now(), 9, 1002))
		c.Observe(reading(door.ID, time.Now(), 10, 5555))
		synctest.Wait()
		if w := act.take(); len(w) != 0 {
			t.Fatalf("denied reads wrote %v", w)
		}
		evs = out.take()
		if len(evs) != 2 || evs[0].Type != EventDenied || evs[0].Data["reason"] != ReasonRevoked ||
			evs[1].Data["reason"] != ReasonUnknown || evs[1].Data["entry"] != nil {
			t.Fatalf("denied events %+v", evs)
		}

		// A failed poll (stale values, still online) keeps the baseline.
		stale := reading(door.ID, time.Now(), 10, 5555)
		stale.Quality = drivers.Stale
		c.Observe(stale)
		c.Observe(reading(door.ID, time.Now(), 11, 5555))
		synctest.Wait()
		if evs := out.take(); len(evs) != 1 || evs[0].Data["reason"] != ReasonUnknown {
			t.Fatalf("read after a failed poll: %+v", evs)
		}

		// After an outage the first reading is a new baseline again.
		off := reading(door.ID, time.Now(), 11, 5555)
		off.Online, off.Quality = false, drivers.Stale
		c.Observe(off)
		c.Observe(reading(door.ID, time.Now(), 12, 1001))
		synctest.Wait()
		if w, e := act.take(), out.take(); len(w)+len(e) != 0 {
			t.Fatalf("reading after outage acted: %v %v", w, e)
		}

		// Shutdown while unlocked locks the door.
		c.Observe(reading(door.ID, time.Now(), 13, 1001))
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := act.take(); len(got) != 2 || got[1].value != "0" {
			t.Fatalf("writes at shutdown %v", got)
		}
	})
}

// Observe never waits for a device, and a full queue loses no decision.
func TestControllerDoesNotBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.apply(t, snapshot(1, Entry{ID: "rider-1", Credentials: []Credential{cred(TypeCard, "1001")}, Doors: []string{door.ID}}))
		act := &fakeActuator{block: make(chan struct{})}
		out := &sink{}
		c, err := NewController(f.store, testDevices[:1], act, ControllerOptions{Emit: out.emit, QueueSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		c.Observe(reading(door.ID, time.Now(), 0, 1001))
		c.Observe(reading(door.ID, time.Now(), 1, 1001))
		synctest.Wait() // the worker is now stuck writing
		for seq := uint16(2); seq <= 6; seq++ {
			c.Observe(reading(door.ID, time.Now(), seq, 1001)) // returns although the device hangs
		}
		synctest.Wait()
		// One write in flight, two queued, three emitted at once as not actuated.
		evs := out.take()
		if len(evs) != 3 || evs[0].Data["actuated"] != false {
			t.Fatalf("events while blocked: %+v", evs)
		}
		close(act.block)
		synctest.Wait()
		if evs := out.take(); len(evs) != 3 || evs[0].Data["actuated"] != true {
			t.Fatalf("events after unblock: %+v", evs)
		}
		cancel()
		<-done
	})
}

// Decisions still queued when the controller stops are emitted, not lost.
func TestControllerShutdownLosesNoDecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.apply(t, snapshot(1, Entry{ID: "rider-1", Credentials: []Credential{cred(TypeCard, "1001")}, Doors: []string{door.ID}}))
		act := &fakeActuator{block: make(chan struct{})}
		out := &sink{}
		c, err := NewController(f.store, testDevices[:1], act, ControllerOptions{Emit: out.emit, QueueSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		c.Observe(reading(door.ID, time.Now(), 0, 1001))
		c.Observe(reading(door.ID, time.Now(), 1, 1001))
		synctest.Wait()
		c.Observe(reading(door.ID, time.Now(), 2, 1001))
		c.Observe(reading(door.ID, time.Now(), 3, 5555))
		synctest.Wait()
		cancel()
		<-done
		evs := out.take()
		if len(evs) != 3 {
			t.Fatalf("%d events after shutdown, want 3: %+v", len(evs), evs)
		}
		// The queued grant may be tried (and fail with the cancelled context)
		// or drained: either way it is reported as not actuated.
		if evs[0].Data["actuated"] != false || evs[1].Data["actuated"] != false || evs[2].Type != EventDenied {
			t.Errorf("events %+v", evs)
		}
		close(act.block)
	})
}

func TestMissedReads(t *testing.T) {
	for _, tc := range []struct {
		prev, next float64
		want       int
	}{
		{7, 8, 0},
		{7, 10, 2},
		{65535, 0, 0},
		{65534, 1, 2},
		{7, 7 + maxSeqGap, maxSeqGap - 1},
		{7, 8 + maxSeqGap, 0}, // a reset or another controller, not reads
		{9, 7, 0},             // backwards: a reset
		{1.5, 4, 0},           // not a counter
	} {
		if got := missedReads(tc.prev, tc.next); got != tc.want {
			t.Errorf("missedReads(%v, %v) = %d, want %d", tc.prev, tc.next, got, tc.want)
		}
	}
}

// A poll that finds credential_seq two reads ahead decides on the credential
// it reads and counts the one it never saw.
func TestControllerCountsMissedReads(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, Entry{ID: "rider-1", Credentials: []Credential{cred(TypeCard, "1001")}, Doors: []string{door.ID}}))
	out := &sink{}
	c, err := NewController(f.store, testDevices, &fakeActuator{}, ControllerOptions{Emit: out.emit})
	if err != nil {
		t.Fatal(err)
	}
	c.Observe(reading(door.ID, time.Now(), 7, 1001))
	c.Observe(reading(door.ID, time.Now(), 10, 1001))
	if st := c.Stats(); st.MissedReads != 2 || st.Granted != 1 {
		t.Errorf("stats %+v, want 2 missed reads and 1 grant", st)
	}
	if got := c.MissedReadsByDevice(); len(got) != 1 || got[door.ID] != 2 {
		t.Errorf("by device %v, want %s: 2", got, door.ID)
	}
}
