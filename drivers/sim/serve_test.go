package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

func TestServeDoorOverTCP(t *testing.T) {
	s, c := newSim(t, KindDoor)
	s.ManualClock()
	cl, _ := serve(t, s)

	must(t, s.Present("305419896")) // 0x12345678
	regs, err := cl.ReadRegisters(10, 3, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint16{1, 0x1234, 0x5678}; !equal(regs, want) {
		t.Fatalf("input 10-12 = %#04x, want %#04x", regs, want)
	}
	volts, err := cl.ReadRegister(20, modbus.INPUT_REGISTER)
	if err != nil || volts != 1250 {
		t.Fatalf("battery_volts raw = %d, %v; want 1250", volts, err)
	}

	must(t, s.Force())
	di, err := cl.ReadDiscreteInputs(0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !di[0] || di[1] {
		t.Fatalf("forced door: door_open, lock_released = %v, %v", di[0], di[1])
	}
	word, err := cl.ReadRegister(30, modbus.HOLDING_REGISTER)
	if err != nil || word&1 == 0 {
		t.Fatalf("alarm word = %#x, %v; want the forced bit", word, err)
	}
	must(t, s.CloseDoor())

	// The gateway releases the lock: the contact follows.
	must(t, cl.WriteCoil(0, true))
	on, err := cl.ReadCoil(0)
	if err != nil || !on {
		t.Fatalf("read-back of unlock = %v, %v", on, err)
	}
	if !c.bool("lock_released") {
		t.Fatal("client write of unlock did not release the lock")
	}

	got := s.Requests()
	want := map[uint8]int{0x04: 2, 0x02: 1, 0x03: 1, 0x05: 1, 0x01: 1}
	for fc, n := range want {
		if got[fc] != n {
			t.Errorf("requests with function code %#02x = %d, want %d (all: %v)", fc, got[fc], n, got)
		}
	}
	if open, accepted := s.Connections(); open != 1 || accepted != 1 {
		t.Errorf("connections open %d accepted %d, want 1 and 1", open, accepted)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestServeRejectsOutOfMap(t *testing.T) {
	tests := []struct {
		name   string
		strict bool
		addr   uint16
		qty    uint16
		ok     bool
	}{
		{"inside, gap bridged", false, 10, 11, true},
		{"past the last point", false, 20, 2, false},
		{"strict: gap", true, 10, 11, false},
		{"strict: exact block", true, 10, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSim(t, KindDoor)
			s.SetStrict(tt.strict)
			cl, _ := serve(t, s)
			_, err := cl.ReadRegisters(tt.addr, tt.qty, modbus.INPUT_REGISTER)
			if tt.ok && err != nil {
				t.Fatalf("read %d+%d: %v", tt.addr, tt.qty, err)
			}
			if !tt.ok && !errors.Is(err, modbus.ErrIllegalDataAddress) {
				t.Fatalf("read %d+%d: err = %v, want illegal data address", tt.addr, tt.qty, err)
			}
		})
	}
}

func TestServeAllRoutesByUnit(t *testing.T) {
	door, err := New(KindDoor, loadProfile(t, KindDoor), 1)
	must(t, err)
	gate, err := New(KindGate, loadProfile(t, KindGate), 2)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := ServeAll(ctx, "tcp://127.0.0.1:0", door, gate)
	must(t, err)
	defer func() { cancel(); door.Wait(); gate.Wait() }()

	cl := dial(t, addr, 1)
	must(t, door.Present("11"))
	must(t, gate.Present("22"))
	for unit, want := range map[uint8]uint16{1: 11, 2: 22} {
		must(t, cl.SetUnitId(unit))
		v, err := cl.ReadRegister(12, modbus.INPUT_REGISTER)
		if err != nil || v != want {
			t.Errorf("unit %d credential low word = %d, %v; want %d", unit, v, err, want)
		}
	}
	must(t, cl.SetUnitId(9))
	if _, err := cl.ReadRegister(12, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrGWTargetFailedToRespond) {
		t.Errorf("unknown unit: err = %v, want gateway target failed to respond", err)
	}
	if n := door.Requests()[0x04]; n != 1 {
		t.Errorf("door saw %d reads, want 1", n)
	}
}

func TestServeStopsAndReleasesPort(t *testing.T) {
	s, _ := newSim(t, KindGate)
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Serve(ctx, "127.0.0.1:0")
	must(t, err)
	cl := dial(t, addr, 1)
	if _, err := cl.ReadCoils(0, 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	s.Wait()
	if _, err := cl.ReadCoils(0, 2); err == nil {
		t.Fatal("server still answers after its context ended")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	ln.Close()
	if open, _ := s.Connections(); open != 0 {
		t.Fatalf("%d connections still open", open)
	}
}

func TestServeMaxClients(t *testing.T) {
	s, _ := newSim(t, KindDoor)
	s.SetMaxClients(1)
	cl, addr := serve(t, s)
	if _, err := cl.ReadCoils(0, 1); err != nil {
		t.Fatal(err)
	}
	second, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: time.Second, Logger: quiet()})
	must(t, err)
	must(t, second.Open())
	defer second.Close()
	if _, err := second.ReadCoils(0, 1); err == nil {
		t.Fatal("a second client was served past the limit of one")
	}
	if _, accepted := s.Connections(); accepted != 1 {
		t.Fatalf("accepted %d connections, want 1", accepted)
	}
}

func TestServeStepsWithWallClock(t *testing.T) {
	s, err := New(KindDoor, loadProfile(t, KindDoor), 1)
	must(t, err)
	cl, _ := serve(t, s)
	// The person waits at the locked door; the next tick after the release
	// lets them in. Poll until the door opens (bounded; no assertion on how
	// fast).
	must(t, s.WalkThrough())
	must(t, cl.WriteCoil(0, true))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		di, err := cl.ReadDiscreteInputs(0, 1)
		must(t, err)
		if di[0] {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("door never opened under the wall clock")
}

func TestServeSurvivesBadFrames(t *testing.T) {
	s, _ := newSim(t, KindDoor)
	cl, addr := serve(t, s)
	for _, junk := range [][]byte{
		{0, 1, 0, 9, 0, 6, 1, 4, 0, 10, 0, 3}, // protocol id 9
		{0, 1, 0, 0, 0, 0, 1},                 // length 0
		{0, 1, 0, 0, 0x10, 0, 1, 4},           // length 4096
		{0, 1, 0, 0, 0, 6, 1, 4, 0},           // cut short
	} {
		conn, err := net.Dial("tcp", addr)
		must(t, err)
		_, err = conn.Write(junk)
		must(t, err)
		if cw, ok := conn.(*net.TCPConn); ok {
			must(t, cw.CloseWrite())
		}
		must(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		if n, err := conn.Read(make([]byte, 16)); !errors.Is(err, io.EOF) {
			t.Errorf("junk % x: read %d, %v; want the connection closed", junk, n, err)
		}
		conn.Close()
	}
	if _, err := cl.ReadRegisters(10, 3, modbus.INPUT_REGISTER); err != nil {
		t.Fatalf("server stopped serving after bad frames: %v", err)
	}
}

func TestServeConcurrentClients(t *testing.T) {
	s, c := newSim(t, KindElevator)
	s.ManualClock()
	_, addr := serve(t, s)
	const clients, reads = 4, 50
	cls := make([]*modbus.ModbusClient, clients)
	for i := range cls {
		cls[i] = dial(t, addr, 1)
	}
	must(t, s.Call(8))
	errs := make(chan error, clients)
	for _, cl := range cls {
		go func() {
			for range reads {
				if _, err := cl.ReadRegisters(0, 3, modbus.INPUT_REGISTER); err != nil {
					errs <- err
					return
				}
				if _, err := cl.ReadDiscreteInputs(0, 6); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 100 {
		c.advance(100 * time.Millisecond)
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := s.Requests(); got[0x04] != clients*reads || got[0x02] != clients*reads {
		t.Fatalf("requests = %v, want %d of each", got, clients*reads)
	}
}
