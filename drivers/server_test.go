package drivers

import (
	"fmt"
	"io"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/simonvetter/modbus"
)

// testServer is a simonvetter/modbus TCP server on 127.0.0.1 with one memory
// per unit id. It counts the read requests it sees, and can refuse ranges
// that cover a hole, answer slowly, or refuse a unit with an exception.
type testServer struct {
	t    testing.TB
	addr string
	srv  *modbus.ModbusServer

	mu    sync.Mutex
	units map[uint8]*memory
	reads int
	// holes are addresses of the register tables that do not exist: a read
	// covering one gets "illegal data address".
	holes map[configs.Table]map[uint16]bool
	// slow units answer after delay.
	slow  map[uint8]time.Duration
	reqOf map[uint8]int
	// clamp caps what a holding register write stores, like a device
	// that limits a setpoint: the write succeeds, the read-back differs.
	clamp map[uint16]uint16
}

type memory struct {
	coils, discrete map[uint16]bool
	holding, input  map[uint16]uint16
}

func newMemory() *memory {
	return &memory{coils: map[uint16]bool{}, discrete: map[uint16]bool{}, holding: map[uint16]uint16{}, input: map[uint16]uint16{}}
}

// newHandler returns a testServer's handler with a memory per unit, not
// listening yet.
func newHandler(t testing.TB, units ...uint8) *testServer {
	s := &testServer{t: t, units: map[uint8]*memory{}, holes: map[configs.Table]map[uint16]bool{},
		slow: map[uint8]time.Duration{}, reqOf: map[uint8]int{}, clamp: map[uint16]uint16{}}
	for _, u := range units {
		s.units[u] = newMemory()
	}
	return s
}

func startServer(t testing.TB, units ...uint8) *testServer {
	t.Helper()
	s := newHandler(t, units...)
	var err error
	for range 5 { // the free port may be taken between the probe and the listen
		s.addr = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
		s.srv, err = modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + s.addr, MaxClients: 50,
			Timeout: 30 * time.Second, Logger: log.New(io.Discard, "", 0)}, s)
		if err != nil {
			t.Fatal(err)
		}
		if err = s.srv.Start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start modbus server: %v", err)
	}
	t.Cleanup(func() { _ = s.srv.Stop() })
	return s
}

func (s *testServer) url() string { return "tcp://" + s.addr }

func (s *testServer) mem(u uint8) *memory {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units[u]
}

func (s *testServer) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *testServer) setSlow(u uint8, d time.Duration) {
	s.mu.Lock()
	s.slow[u] = d
	s.mu.Unlock()
}

func (s *testServer) hole(table configs.Table, addrs ...uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holes[table] == nil {
		s.holes[table] = map[uint16]bool{}
	}
	for _, a := range addrs {
		s.holes[table][a] = true
	}
}

// enter checks a request and returns the unit's memory with the lock held.
func (s *testServer) enter(unit uint8, table configs.Table, addr, qty uint16, write bool) (*memory, error) {
	s.mu.Lock()
	delay := s.slow[unit]
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	s.mu.Lock()
	if !write {
		s.reads++
	}
	s.reqOf[unit]++
	m := s.units[unit]
	if m == nil {
		s.mu.Unlock()
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	for a := uint32(addr); a < uint32(addr)+uint32(qty); a++ {
		if s.holes[table][uint16(a)] {
			s.mu.Unlock()
			return nil, modbus.ErrIllegalDataAddress
		}
	}
	return m, nil
}

func (s *testServer) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	m, err := s.enter(req.UnitId, configs.TableCoil, req.Addr, req.Quantity, req.IsWrite)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]bool, req.Quantity)
	for i := range out {
		a := req.Addr + uint16(i)
		if req.IsWrite {
			m.coils[a] = req.Args[i]
		}
		out[i] = m.coils[a]
	}
	return out, nil
}

func (s *testServer) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	m, err := s.enter(req.UnitId, configs.TableDiscreteInput, req.Addr, req.Quantity, false)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]bool, req.Quantity)
	for i := range out {
		out[i] = m.discrete[req.Addr+uint16(i)]
	}
	return out, nil
}

func (s *testServer) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	m, err := s.enter(req.UnitId, configs.TableHolding, req.Addr, req.Quantity, req.IsWrite)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]uint16, req.Quantity)
	for i := range out {
		a := req.Addr + uint16(i)
		if req.IsWrite {
			m.holding[a] = req.Args[i]
			if c, ok := s.clamp[a]; ok {
				m.holding[a] = min(c, req.Args[i])
			}
		}
		out[i] = m.holding[a]
	}
	return out, nil
}

func (s *testServer) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	m, err := s.enter(req.UnitId, configs.TableInput, req.Addr, req.Quantity, false)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]uint16, req.Quantity)
	for i := range out {
		out[i] = m.input[req.Addr+uint16(i)]
	}
	return out, nil
}

// set writes registers or bits of a unit's memory.
func (s *testServer) set(unit uint8, f func(m *memory)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.units[unit])
}
