package sim

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// dialTimeout is dial with a short client timeout, for faults that never
// answer: the test bounds its wait, it does not time the server.
func dialTimeout(t *testing.T, addr string, timeout time.Duration) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: timeout, Logger: quiet()})
	must(t, err)
	must(t, c.Open())
	must(t, c.SetUnitId(1))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFaultsSeenByClient(t *testing.T) {
	tests := []struct {
		fault FaultMode
		// timeout is the client's.
		timeout time.Duration
		check   func(err error) bool
	}{
		{FaultMode{}, time.Second, func(err error) bool { return err == nil }},
		{FaultMode{Kind: FaultNoAnswer}, 200 * time.Millisecond, func(err error) bool { return errors.Is(err, modbus.ErrRequestTimedOut) }},
		{FaultMode{Kind: FaultException, Exception: ExIllegalDataAddress}, time.Second, func(err error) bool { return errors.Is(err, modbus.ErrIllegalDataAddress) }},
		{FaultMode{Kind: FaultException, Exception: ExDeviceFailure}, time.Second, func(err error) bool { return errors.Is(err, modbus.ErrServerDeviceFailure) }},
		{FaultMode{Kind: FaultException, Exception: ExDeviceBusy}, time.Second, func(err error) bool { return errors.Is(err, modbus.ErrServerDeviceBusy) }},
		{FaultMode{Kind: FaultSlow, Delay: time.Second}, 100 * time.Millisecond, func(err error) bool { return errors.Is(err, modbus.ErrRequestTimedOut) }},
		{FaultMode{Kind: FaultSlow, Delay: 50 * time.Millisecond}, 5 * time.Second, func(err error) bool { return err == nil }},
		{FaultMode{Kind: FaultGarbage}, 200 * time.Millisecond, func(err error) bool { return err != nil }},
		{FaultMode{Kind: FaultDrop}, time.Second, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) }},
		{FaultMode{Kind: FaultWrongUnit}, time.Second, func(err error) bool { return errors.Is(err, modbus.ErrBadUnitId) }},
		{FaultMode{Kind: FaultWrongTransaction}, 200 * time.Millisecond, func(err error) bool { return errors.Is(err, modbus.ErrRequestTimedOut) }},
		{FaultMode{Kind: FaultDisconnect}, time.Second, func(err error) bool { return err != nil && !errors.Is(err, modbus.ErrRequestTimedOut) }},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			s, _ := newSim(t, KindDoor)
			_, addr := serve(t, s)
			cl := dialTimeout(t, addr, tt.timeout)
			must(t, s.Fault(tt.fault))
			_, err := cl.ReadRegisters(10, 3, modbus.INPUT_REGISTER)
			if !tt.check(err) {
				t.Fatalf("read under %s: err = %v", tt.fault, err)
			}
			// A disconnecting server may close the connection on accept,
			// before any request.
			if n := s.Requests()[0x04]; n != 1 && tt.fault.Kind != FaultDisconnect {
				t.Errorf("requests counted %d, want 1", n)
			}
			// Back to normal, a new connection is served.
			must(t, s.Fault(FaultMode{}))
			cl2 := dialTimeout(t, addr, 2*time.Second)
			if _, err := cl2.ReadRegisters(10, 3, modbus.INPUT_REGISTER); err != nil {
				t.Fatalf("after the fault cleared: %v", err)
			}
		})
	}
}

func TestFaultStuckFreezesValues(t *testing.T) {
	s, _ := newSim(t, KindDoor)
	cl, _ := serve(t, s)
	must(t, s.Present("100"))
	must(t, s.Fault(FaultMode{Kind: FaultStuck}))
	must(t, s.Present("200"))
	must(t, s.Force())
	regs, err := cl.ReadRegisters(10, 3, modbus.INPUT_REGISTER)
	must(t, err)
	if !equal(regs, []uint16{1, 0, 100}) {
		t.Fatalf("stuck read = %v, want the values at the fault: [1 0 100]", regs)
	}
	di, err := cl.ReadDiscreteInputs(0, 1)
	if err != nil || di[0] {
		t.Fatalf("stuck door_open = %v, %v; want the frozen false", di, err)
	}
	must(t, cl.WriteCoil(0, true))
	if on, err := cl.ReadCoil(0); err != nil || on {
		t.Fatalf("read-back under stuck = %v, %v; want the frozen false", on, err)
	}
	if v, _ := s.Get("lock_released"); !v.Bool() {
		t.Fatal("the write did not reach the live controller")
	}
	must(t, s.Fault(FaultMode{}))
	regs, err = cl.ReadRegisters(10, 3, modbus.INPUT_REGISTER)
	must(t, err)
	if !equal(regs, []uint16{2, 0, 200}) {
		t.Fatalf("live read = %v, want [2 0 200]", regs)
	}
}

func TestFaultDisconnectRefusesNewConnections(t *testing.T) {
	s, _ := newSim(t, KindDoor)
	_, addr := serve(t, s)
	must(t, s.Fault(FaultMode{Kind: FaultDisconnect}))
	conn, err := net.Dial("tcp", addr)
	must(t, err)
	defer conn.Close()
	must(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	if n, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read on a refused connection: %d, %v; want EOF", n, err)
	}
}

func TestFaultValidateAndParse(t *testing.T) {
	good := []string{"none", "no_answer", "exception:2", "exception:0x0b", "slow:1.5s", "garbage", "drop",
		"wrong_unit", "wrong_transaction", "stuck", "disconnect"}
	for _, text := range good {
		f, err := ParseFault(text)
		if err != nil {
			t.Errorf("ParseFault(%q): %v", text, err)
			continue
		}
		if back, err := ParseFault(f.String()); err != nil || back != f {
			t.Errorf("%q: String %q does not parse back: %+v, %v", text, f.String(), back, err)
		}
	}
	for _, text := range []string{"", "exception", "exception:0", "exception:200", "slow", "slow:-1s", "slow:fast", "stuck:1", "meltdown"} {
		if _, err := ParseFault(text); err == nil {
			t.Errorf("ParseFault(%q) accepted", text)
		}
	}
	s, _ := newSim(t, KindGate)
	if err := s.Fault(FaultMode{Kind: FaultSlow}); err == nil {
		t.Error("slow fault without a delay accepted")
	}
	if err := s.Fault(FaultMode{Kind: 99}); err == nil {
		t.Error("unknown fault kind accepted")
	}
}

func TestGarbageIsNeverAFrame(t *testing.T) {
	sv := &server{rnd: rand.New(rand.NewPCG(1, 2))}
	for range 10000 {
		b := sv.garbage()
		if len(b) == 0 || len(b) > 32 {
			t.Fatalf("garbage of %d bytes", len(b))
		}
		if _, err := readFrame(bytes.NewReader(b)); err == nil {
			t.Fatalf("garbage % x reads as a frame", b)
		}
	}
}

// FuzzReadFrame feeds the front's frame reader arbitrary bytes: it never
// panics, and a frame it accepts is consistent with its own header.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 6, 1, 4, 0, 10, 0, 3})
	f.Add([]byte{0, 1, 0, 0, 0, 1, 1})
	f.Add([]byte{0, 1, 0, 0, 1, 0, 1, 3})
	f.Add([]byte{0, 1, 0, 7, 0, 2, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		frame, err := readFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := int(frame[4])<<8 | int(frame[5])
		if len(frame) != 6+n || n < 2 || n > maxPDU+1 || frame[2] != 0 || frame[3] != 0 {
			t.Fatalf("accepted inconsistent frame % x", frame)
		}
		if !bytes.Equal(frame, b[:len(frame)]) {
			t.Fatal("frame differs from its input")
		}
	})
}
