package drivers

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
)

// rawServer speaks just enough Modbus TCP to misbehave on purpose: reply
// answers each request frame; nil means no answer.
type rawServer struct {
	ln    net.Listener
	reply func(n int, txn uint16, unit, fc byte, pdu []byte) []byte
	wg    sync.WaitGroup
	mu    sync.Mutex
	n     int
	conns []net.Conn
}

func startRaw(t *testing.T, reply func(n int, txn uint16, unit, fc byte, pdu []byte) []byte) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, reply: reply}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "tcp://" + s.ln.Addr().String() }

func (s *rawServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Go(func() { s.serve(c) })
	}
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	hdr := make([]byte, 7)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		pdu := make([]byte, int(binary.BigEndian.Uint16(hdr[4:6]))-1)
		if _, err := io.ReadFull(c, pdu); err != nil || len(pdu) == 0 {
			return
		}
		s.mu.Lock()
		n := s.n
		s.n++
		s.mu.Unlock()
		if out := s.reply(n, binary.BigEndian.Uint16(hdr[0:2]), hdr[6], pdu[0], pdu[1:]); out != nil {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// mbap frames a PDU with a transaction id and unit id.
func mbap(txn uint16, unit byte, pdu ...byte) []byte {
	out := binary.BigEndian.AppendUint16(nil, txn)
	out = append(out, 0, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(len(pdu)+1))
	out = append(out, unit)
	return append(out, pdu...)
}

// goodRegs answers a read of holding registers with each register = address.
func goodRegs(txn uint16, unit, fc byte, req []byte) []byte {
	addr, qty := binary.BigEndian.Uint16(req[0:2]), binary.BigEndian.Uint16(req[2:4])
	pdu := []byte{fc, byte(2 * qty)}
	for i := range qty {
		pdu = binary.BigEndian.AppendUint16(pdu, addr+i)
	}
	return mbap(txn, unit, pdu...)
}

var oneRegister = &configs.Profile{Kind: configs.KindGate, Points: []configs.Point{
	{Name: "fault_code", Table: configs.TableHolding, Address: 7, Type: configs.TypeUint16}}}

// TestGarbageReplies: every kind of bad answer fails one poll with a plain
// error, is counted, and the next poll reads again: no panic, no stuck loop.
func TestGarbageReplies(t *testing.T) {
	faults := []struct {
		name  string
		reply func(txn uint16, unit, fc byte, req []byte) []byte
		want  string
	}{
		{"garbage", func(uint16, byte, byte, []byte) []byte { return []byte("\xde\xad\xbe\xef\xff\xff\x01garbage") }, "protocol error"},
		{"exception", func(txn uint16, unit, fc byte, _ []byte) []byte { return mbap(txn, unit, fc|0x80, 4) }, `Modbus exception "server device failure"`},
		{"unknown exception", func(txn uint16, unit, fc byte, _ []byte) []byte { return mbap(txn, unit, fc|0x80, 99) }, "unknown exception code"},
		{"wrong unit id", func(txn uint16, unit, fc byte, req []byte) []byte { return goodRegs(txn, unit+1, fc, req) }, "wrong unit id"},
		{"wrong transaction id", func(txn uint16, unit, fc byte, req []byte) []byte { return goodRegs(txn+7, unit, fc, req) }, "timeout after 100ms"},
		{"short frame", func(txn uint16, unit, fc byte, req []byte) []byte { return goodRegs(txn, unit, fc, req)[:9] }, "timeout after 100ms"},
		{"zero length", func(txn uint16, _, _ byte, _ []byte) []byte { return []byte{byte(txn >> 8), byte(txn), 0, 0, 0, 0, 1} }, "protocol error"},
		{"wrong function", func(txn uint16, unit, _ byte, req []byte) []byte { return goodRegs(txn, unit, 4, req) }, "protocol error"},
		{"wrong byte count", func(txn uint16, unit, fc byte, _ []byte) []byte { return mbap(txn, unit, fc, 4, 0, 1, 0, 2) }, "protocol error"},
		{"no answer", func(uint16, byte, byte, []byte) []byte { return nil }, "timeout after 100ms"},
	}
	srv := startRaw(t, func(n int, txn uint16, unit, fc byte, req []byte) []byte {
		if n%2 == 1 || n/2 >= len(faults) {
			return goodRegs(txn, unit, fc, req)
		}
		return faults[n/2].reply(txn, unit, fc, req)
	})
	dev := testDevice("gate-1", srv.url(), 3, oneRegister)
	dev.Modbus.Timeout = configs.Duration(100 * time.Millisecond)
	dev.Modbus.Retries = new(int)
	dev.Modbus.MaxBackoff = configs.Duration(5 * time.Millisecond)
	m, err := NewManager([]configs.Device{dev}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	for _, f := range faults {
		r := rec.waitFor(t, "failed by "+f.name, func(r Reading) bool { return r.Err != nil })
		if !strings.Contains(r.Err.Error(), f.want) || !strings.Contains(r.Err.Error(), "reading holding register 7") {
			t.Errorf("%s: error %q, want it to contain %q and the register", f.name, r.Err, f.want)
		}
		// The first fault comes before any good read: no values yet.
		if want := map[bool]Quality{true: Bad, false: Stale}[f.name == faults[0].name]; r.Quality != want {
			t.Errorf("%s: quality %v, want %v", f.name, r.Quality, want)
		}
		r = rec.waitFor(t, "good after "+f.name, func(r Reading) bool { return r.Err == nil })
		if r.Num("fault_code") != 7 || r.Quality != Good {
			t.Errorf("after %s: reading %+v", f.name, r)
		}
	}
	stop()
	st := m.Stats()[0]
	if st.RequestErrors != uint64(len(faults)) || st.Failures != uint64(len(faults)) {
		t.Errorf("stats count %d request errors and %d failed polls, want %d", st.RequestErrors, st.Failures, len(faults))
	}
}

// TestFailingDeviceOnSharedLink: two units behind one TCP peer; unit 2 stops
// answering. Unit 1 keeps its readings coming, unit 2 goes offline after 3
// failed polls (stale values, then bad never), and comes back online.
func TestFailingDeviceOnSharedLink(t *testing.T) {
	srv := startServer(t, 1, 2)
	srv.set(2, func(m *memory) { m.input[10] = 42 })
	a := testDevice("door-a", srv.url(), 1, doorProfile())
	b := testDevice("door-b", srv.url(), 2, doorProfile())
	b.Modbus.Timeout = configs.Duration(50 * time.Millisecond)
	m, err := NewManager([]configs.Device{a, b}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.links) != 1 {
		t.Fatalf("%d links for one URL, want 1", len(m.links))
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	rec.waitFor(t, "from door-b", func(r Reading) bool { return r.Device == "door-b" && r.Quality == Good })
	srv.setSlow(2, 300*time.Millisecond)
	off := rec.waitFor(t, "door-b offline", func(r Reading) bool { return r.Device == "door-b" && !r.Online })
	if off.Quality != Stale || off.Num("credential_seq") != 42 || off.Err == nil {
		t.Errorf("offline reading = %+v, want stale with the last values", off)
	}
	// While door-b fails, door-a keeps being read.
	goodA := 0
	rec.waitFor(t, "door-a while door-b is down", func(r Reading) bool {
		if r.Device == "door-a" && r.Quality == Good {
			goodA++
		}
		return goodA >= 5
	})
	srv.setSlow(2, 0)
	back := rec.waitFor(t, "door-b back", func(r Reading) bool { return r.Device == "door-b" && r.Quality == Good })
	if !back.Online {
		t.Errorf("door-b answered but is not online: %+v", back)
	}
	stop()
	for _, st := range m.Stats() {
		switch st.ID {
		case "door-a":
			if st.Failures != 0 {
				t.Errorf("door-a failed %d polls because of door-b", st.Failures)
			}
		case "door-b":
			if st.Failures < 3 || !st.Online {
				t.Errorf("door-b stats = %+v", st)
			}
		}
	}
}

func TestProbeErrors(t *testing.T) {
	silent := startRaw(t, func(int, uint16, byte, byte, []byte) []byte { return nil })
	wrongUnit := startRaw(t, func(_ int, txn uint16, unit, fc byte, req []byte) []byte { return goodRegs(txn, unit+1, fc, req) })
	good := startRaw(t, func(_ int, txn uint16, unit, fc byte, req []byte) []byte { return goodRegs(txn, unit, fc, req) })
	closed := "tcp://127.0.0.1:" + itoa(testbed.FreePort(t))
	tests := []struct {
		name, url, want string
	}{
		{"refused", closed, "connection refused"},
		{"timeout", silent.url(), "timeout after 100ms reading holding register 7"},
		{"wrong unit", wrongUnit.url(), "wrong unit id reading holding register 7"},
		{"bad url", "udp://127.0.0.1:1", "scheme must be"},
		{"no serial port", "rtu://" + t.TempDir() + "/ttyUSB9?baud=9600", "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := testDevice("gate-1", tt.url, 1, oneRegister)
			dev.Modbus.Timeout = configs.Duration(100 * time.Millisecond)
			res := Probe(context.Background(), dev)
			if res.OK || res.Err == nil || !strings.Contains(res.Err.Error(), tt.want) {
				t.Fatalf("Probe = %+v, want error containing %q", res, tt.want)
			}
		})
	}
	res := Probe(context.Background(), testDevice("gate-1", good.url(), 1, oneRegister))
	if !res.OK || res.Err != nil || res.Points["fault_code"].Num != 7 || res.Device != "gate-1" {
		t.Fatalf("Probe of a good device = %+v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := Probe(ctx, testDevice("gate-1", good.url(), 1, oneRegister)); res.OK || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("Probe with a cancelled context = %+v", res)
	}
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestTimeoutPerDevice: on a shared TCP link each device waits its own
// timeout, not the longest of the link's.
func TestTimeoutPerDevice(t *testing.T) {
	srv := startRaw(t, func(_ int, txn uint16, unit, fc byte, req []byte) []byte {
		if unit == 2 {
			return nil // the quick device's unit is gone
		}
		return goodRegs(txn, unit, fc, req)
	})
	quick := testDevice("gate-quick", srv.url(), 2, oneRegister)
	quick.Modbus.Timeout = configs.Duration(50 * time.Millisecond)
	quick.Modbus.Retries = new(int)
	slow := testDevice("gate-slow", srv.url(), 1, oneRegister)
	slow.Modbus.Timeout = configs.Duration(3 * time.Second)
	m, err := NewManager([]configs.Device{quick, slow}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	start := time.Now()
	stop := runManager(t, m, rec.sink)
	defer stop()
	r := rec.waitFor(t, "gate-quick failed", func(r Reading) bool { return r.Device == "gate-quick" && r.Err != nil })
	if !strings.Contains(r.Err.Error(), "timeout after 50ms") {
		t.Errorf("gate-quick: %v, want a timeout after its own 50ms", r.Err)
	}
	// Not a speed check: with the link's longest timeout it could not fail
	// before 3 s.
	if took := time.Since(start); took >= 3*time.Second {
		t.Errorf("gate-quick failed after %v: it waited gate-slow's timeout", took)
	}
	rec.waitFor(t, "gate-slow read", func(r Reading) bool { return r.Device == "gate-slow" && r.Err == nil })
}
