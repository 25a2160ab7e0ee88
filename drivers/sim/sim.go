// Package sim simulates the door, elevator and barrier-gate controllers the
// gateway reads, as Modbus TCP servers serving the register map of a profile.
//
// A Sim holds a register image laid out by a configs.Profile, and a small
// physical model of its kind (the door contact follows the lock, the lift
// moves floor to floor and cycles its door, the gate arm travels) advanced by
// Step with an injected clock. Serve puts it on the network behind a raw
// Modbus TCP front that counts requests and injects faults (no answer,
// exceptions, slow answers, garbage, dropped connections, wrong unit or
// transaction ids, frozen values). Scenario helpers (Present, Force, Trap,
// VehicleArrives, ...) drive it the way people and vehicles would.
//
// Every method is safe for concurrent use.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// Device kinds, as in configs.
const (
	KindDoor     = configs.KindDoor
	KindElevator = configs.KindElevator
	KindGate     = configs.KindGate
)

// Sentinel errors.
var (
	// ErrUnknownPoint is returned for a point name the profile does not have.
	ErrUnknownPoint = errors.New("unknown point")
	// ErrWrongKind is returned by a scenario helper called on a simulator of
	// another kind (Trap on a door).
	ErrWrongKind = errors.New("not supported by this kind of device")
)

// maxStep bounds one physics step so that a large jump of the clock still
// plays out event by event (a lift passing each floor).
const maxStep = 100 * time.Millisecond

// maxCatchUp bounds how much time one Step call simulates.
const maxCatchUp = time.Hour

// model is a kind's physics. Its methods run with Sim.mu held.
type model interface {
	// step advances the model by d (at most maxStep).
	step(d time.Duration)
	// written is told that a client wrote [addr, addr+qty) of table t.
	written(t configs.Table, addr, qty uint16)
}

// Sim is one simulated controller.
type Sim struct {
	kind    string
	unit    uint8
	profile *configs.Profile
	points  map[string]*configs.Point

	mu         sync.Mutex
	img        *image
	frozen     *image // non-nil while FaultStuck: what reads see
	now        time.Time
	model      model
	fault      FaultMode
	strict     bool
	manual     bool
	maxClients int
	requests   map[uint8]int
	accepted   int
	open       int
	log        *slog.Logger

	serving sync.WaitGroup
}

// New returns a simulator of the kind ("door", "elevator" or "gate") serving
// the register map of profile as Modbus unit id unit. The profile must have
// the points CONTRACT section 3 requires for the kind.
func New(kind string, profile *configs.Profile, unit uint8) (*Sim, error) {
	if profile == nil {
		return nil, errors.New("sim: nil profile")
	}
	s := &Sim{
		kind:     kind,
		unit:     unit,
		profile:  profile,
		points:   make(map[string]*configs.Point, len(profile.Points)),
		requests: map[uint8]int{},
		log:      slog.New(slog.DiscardHandler),
	}
	for i := range profile.Points {
		p := &profile.Points[i]
		if _, dup := s.points[p.Name]; dup {
			return nil, fmt.Errorf("sim: profile %q: duplicate point %q", profile.Name, p.Name)
		}
		s.points[p.Name] = p
	}
	img, err := newImage(profile.Points)
	if err != nil {
		return nil, fmt.Errorf("sim: profile %q: %w", profile.Name, err)
	}
	s.img = img
	var required []string
	switch kind {
	case KindDoor:
		required = []string{"door_open", "lock_released", "exit_request", "credential_seq", "credential", "unlock"}
		s.model = newDoor(s)
	case KindElevator:
		required = []string{"floor", "moving", "door_open", "in_door_zone", "fault_code", "alarm_button", "inspection", "floor_enable"}
		s.model = newElevator(s)
	case KindGate:
		required = []string{"arm_open", "arm_closed", "loop_occupied", "fault_code", "open"}
		s.model = newGate(s)
	default:
		return nil, fmt.Errorf("sim: unknown kind %q (want door, elevator or gate)", kind)
	}
	for _, name := range required {
		if s.points[name] == nil {
			return nil, fmt.Errorf("sim: profile %q lacks point %q that a %s needs", profile.Name, name, kind)
		}
	}
	if e, ok := s.model.(*elevator); ok {
		e.setFloors(1, s.points["floor_enable"].Elements())
	}
	s.model.step(0)
	return s, nil
}

// Kind returns the simulator's device kind.
func (s *Sim) Kind() string { return s.kind }

// Unit returns the Modbus unit id the simulator answers to.
func (s *Sim) Unit() uint8 { return s.unit }

// Profile returns the profile whose register map the simulator serves.
func (s *Sim) Profile() *configs.Profile { return s.profile }

// SetLogger sets where the simulator and its server log; the default discards.
func (s *Sim) SetLogger(log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = log
}

// SetStrict makes reads and writes that touch an address no point covers
// fail with "illegal data address", as many controllers do (the poller must
// then split a merged block). Reads past a table's last point always fail.
func (s *Sim) SetStrict(strict bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = strict
}

// SetMaxClients limits the TCP connections the simulator accepts at once
// (0, the default, means no limit); a connection beyond it is closed at once,
// as by a controller that takes one client.
func (s *Sim) SetMaxClients(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxClients = n
}

// ManualClock stops Serve from stepping the model with the wall clock: the
// caller drives time with Step. Call it before Serve.
func (s *Sim) ManualClock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manual = true
}

// Step advances the physical model to now. The first call only sets the
// clock; later calls simulate the time since the previous one (time going
// backwards is ignored).
func (s *Sim) Step(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var dt time.Duration
	if !s.now.IsZero() {
		dt = min(max(now.Sub(s.now), 0), maxCatchUp)
	}
	if now.After(s.now) {
		s.now = now
	}
	for dt > 0 {
		d := min(dt, maxStep)
		s.model.step(d)
		dt -= d
	}
}

// Set encodes v into the named point's registers, as the poller's encoder
// would: an integer-typed Value (drivers.IntValue, a decoded integer) is
// the raw register value; any other Value (Number, a float) is the
// engineering value before scale and offset; strings take Str, bools are
// non-zero, arrays take List (at most Count elements, from the first).
// The points a kind's model drives (door_open, lock_released, floor,
// moving, arm_open, loop_occupied, ...) are rewritten at the next Step: use
// the scenario helpers for those.
func (s *Sim) Set(point string, v drivers.Value) error {
	p := s.points[point]
	if p == nil {
		return fmt.Errorf("sim: set %q: %w", point, ErrUnknownPoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.img.put(p, v); err != nil {
		return fmt.Errorf("sim: set: %w", err)
	}
	return nil
}

// Get decodes the named point from the live registers (not the frozen ones
// a stuck fault serves).
func (s *Sim) Get(point string) (drivers.Value, error) {
	p := s.points[point]
	if p == nil {
		return drivers.Value{}, fmt.Errorf("sim: get %q: %w", point, ErrUnknownPoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.img.get(p), nil
}

// Requests returns how many requests the simulator received per Modbus
// function code since it started or since ResetRequests.
func (s *Sim) Requests() map[uint8]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

// ResetRequests zeroes the request counters.
func (s *Sim) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.requests)
}

// Connections returns the TCP connections open now and accepted in total.
func (s *Sim) Connections() (open, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.accepted
}

// Wait blocks until every server started by Serve has stopped and released
// its port.
func (s *Sim) Wait() { s.serving.Wait() }
