package sim

import (
	"context"
	"log"
	"log/slog"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/jusha-ean/edge/configs"
)

// loadProfile returns the built-in profile of a kind, so that the tests
// follow the register maps that ship.
func loadProfile(t *testing.T, kind string) *configs.Profile {
	t.Helper()
	p, err := configs.Builtin(kind)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clock is a fake clock stepping one simulator.
type clock struct {
	t   *testing.T
	s   *Sim
	now time.Time
}

func newSim(t *testing.T, kind string) (*Sim, *clock) {
	t.Helper()
	s, err := New(kind, loadProfile(t, kind), 1)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t, s: s, now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	s.Step(c.now)
	return s, c
}

func (c *clock) advance(d time.Duration) {
	c.now = c.now.Add(d)
	c.s.Step(c.now)
}

func (c *clock) bool(name string) bool {
	c.t.Helper()
	v, err := c.s.Get(name)
	if err != nil {
		c.t.Fatal(err)
	}
	return v.Bool()
}

func (c *clock) num(name string) float64 {
	c.t.Helper()
	v, err := c.s.Get(name)
	if err != nil {
		c.t.Fatal(err)
	}
	return v.Num
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// serve starts s on a free loopback port for the test's lifetime and
// returns a connected client.
func serve(t *testing.T, s *Sim) (*modbus.ModbusClient, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		s.Wait()
	})
	return dial(t, addr, s.Unit()), addr
}

func dial(t *testing.T, addr string, unit uint8) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: 2 * time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	must(t, c.SetUnitId(unit))
	t.Cleanup(func() { c.Close() })
	return c
}

func quiet() *log.Logger { return slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug) }
