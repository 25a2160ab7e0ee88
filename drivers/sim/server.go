package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// tickEvery is how often Serve steps the models with the wall clock.
const tickEvery = 100 * time.Millisecond

// backendIdle is the library server's idle timeout on the front's
// connections to it; the front closes its side when its client goes.
const backendIdle = 24 * time.Hour

// server is one listening address: a raw Modbus TCP front (request counting
// and faults) that forwards each request to the library's Modbus server on a
// private loopback port, which serves the simulators' images by unit id.
type server struct {
	sims    map[uint8]*Sim
	list    []*Sim
	log     *slog.Logger
	ln      net.Listener
	back    *modbus.ModbusServer
	backURL string
	done    chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	rnd   *rand.Rand
}

// Serve starts serving the simulator as a Modbus TCP server on addr
// ("127.0.0.1:0" picks a free port; a "tcp://" prefix is allowed) and returns the address it listens on.
// It steps the model with the wall clock (unless ManualClock) and stops,
// closing every connection and releasing the port, when ctx ends; Wait
// waits for that.
func (s *Sim) Serve(ctx context.Context, addr string) (string, error) {
	return ServeAll(ctx, addr, s)
}

// ServeAll serves several simulators on one address, each answering to its
// own unit id, as the devices behind one Modbus TCP gateway or on one
// serial bus do. A request for another unit id gets exception 0x0B
// (gateway target failed to respond).
func ServeAll(ctx context.Context, addr string, sims ...*Sim) (string, error) {
	sv, err := serveAll(ctx, addr, sims)
	if err != nil {
		return "", err
	}
	return sv.ln.Addr().String(), nil
}

func serveAll(ctx context.Context, addr string, sims []*Sim) (*server, error) {
	if len(sims) == 0 {
		return nil, errors.New("sim: serve: no simulators")
	}
	sv := &server{
		sims:  make(map[uint8]*Sim, len(sims)),
		list:  sims,
		log:   sims[0].logger(),
		done:  make(chan struct{}),
		conns: map[net.Conn]struct{}{},
		rnd:   rand.New(rand.NewPCG(1, 2)),
	}
	for _, s := range sims {
		if sv.sims[s.unit] != nil {
			return nil, fmt.Errorf("sim: serve: two simulators with unit id %d", s.unit)
		}
		sv.sims[s.unit] = s
	}
	ln, err := net.Listen("tcp", strings.TrimPrefix(addr, "tcp://"))
	if err != nil {
		return nil, fmt.Errorf("sim: serve: %w", err)
	}
	sv.ln = ln
	if err := sv.startBackend(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("sim: serve %s: %w", addr, err)
	}
	for _, s := range sims {
		s.serving.Add(1)
	}
	sv.wg.Add(2)
	go sv.accept()
	go sv.tick(ctx)
	go sv.shutdown(ctx)
	return sv, nil
}

func (s *Sim) logger() *slog.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log
}

// startBackend starts the library server on a free loopback port. The
// library does not report the port it bound, so a free one is found first;
// another process may take it in between, hence the retries.
func (sv *server) startBackend() error {
	var err error
	for range 5 {
		var probe net.Listener
		probe, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("find a port for the modbus server: %w", err)
		}
		port := probe.Addr().(*net.TCPAddr).Port
		probe.Close()
		sv.backURL = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		sv.back, err = modbus.NewServer(&modbus.ServerConfiguration{
			URL:        "tcp://" + sv.backURL,
			Timeout:    backendIdle,
			MaxClients: 1 << 16,
			Logger:     slog.NewLogLogger(sv.log.Handler(), slog.LevelDebug),
		}, &handler{sims: sv.sims})
		if err != nil {
			return fmt.Errorf("modbus server: %w", err)
		}
		if err = sv.back.Start(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("start modbus server: %w", err)
}

func (sv *server) shutdown(ctx context.Context) {
	<-ctx.Done()
	close(sv.done)
	sv.ln.Close()
	sv.mu.Lock()
	for c := range sv.conns {
		c.Close()
	}
	sv.mu.Unlock()
	sv.wg.Wait()
	if err := sv.back.Stop(); err != nil {
		sv.log.Warn("sim: stop modbus server", "err", err)
	}
	for _, s := range sv.list {
		s.serving.Done()
	}
}

// tick steps every simulator not on a manual clock.
func (sv *server) tick(ctx context.Context) {
	defer sv.wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, s := range sv.list {
				s.autoStep(now)
			}
		}
	}
}

func (s *Sim) autoStep(now time.Time) {
	s.mu.Lock()
	manual := s.manual
	s.mu.Unlock()
	if !manual {
		s.Step(now)
	}
}

func (sv *server) accept() {
	defer sv.wg.Done()
	for {
		c, err := sv.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				sv.log.Warn("sim: accept", "err", err)
			}
			return
		}
		if !sv.admit(c) {
			c.Close()
			continue
		}
		sv.wg.Add(1)
		go sv.serveConn(c)
	}
}

// admit registers a new connection unless the server is shutting down, a
// simulator's connection limit is reached, or every simulator is
// disconnected by a fault.
func (sv *server) admit(c net.Conn) bool {
	limit, refuse := 0, true
	for _, s := range sv.list {
		s.mu.Lock()
		if s.maxClients > 0 && (limit == 0 || s.maxClients < limit) {
			limit = s.maxClients
		}
		refuse = refuse && s.fault.Kind == FaultDisconnect
		s.mu.Unlock()
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	select {
	case <-sv.done:
		return false
	default:
	}
	if refuse || limit > 0 && len(sv.conns) >= limit {
		return false
	}
	sv.conns[c] = struct{}{}
	sv.countConn(+1)
	return true
}

func (sv *server) countConn(delta int) {
	for _, s := range sv.list {
		s.mu.Lock()
		s.open += delta
		if delta > 0 {
			s.accepted++
		}
		s.mu.Unlock()
	}
}

func (sv *server) release(c net.Conn) {
	c.Close()
	sv.mu.Lock()
	delete(sv.conns, c)
	sv.mu.Unlock()
	sv.countConn(-1)
}
