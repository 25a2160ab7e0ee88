package rules

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
)

// t0 is the start of every scripted scenario.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// since is the number of seconds from t0 to t.
func since(t time.Time) float64 { return t.Sub(t0).Seconds() }

// recorder collects emitted events.
type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) emit(ev events.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) all() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// lines renders events as "T type phase" for compact comparison.
func (r *recorder) lines() []string {
	var out []string
	for _, ev := range r.all() {
		out = append(out, fmt.Sprintf("%.1f %s %s", since(ev.Time), ev.Type, ev.Phase))
	}
	return out
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func dev(id, kind, zone string) configs.Device {
	return configs.Device{ID: id, Kind: kind, Location: "loc " + id, Zone: zone}
}

func config(devs ...configs.Device) *configs.Config {
	return &configs.Config{Site: "wannan", Gateway: "gw-01", Devices: devs,
		Upstream: configs.Upstream{AckTimeout: configs.Duration(60 * time.Second)}}
}

func newEngine(t testing.TB, cfg *configs.Config, opts Options) (*Engine, *recorder) {
	t.Helper()
	rec := &recorder{}
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	e, err := NewEngine(cfg, opts, rec.emit, quietLog())
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e, rec
}

// step is one input of a scripted scenario.
type step struct {
	at      float64
	dev     string // "" is the scenario's first device
	kind    byte   // 'r' reading, 't' tick, 'g' grant, 'd' denial, 'c' command, 'o' offline, 's' stale
	vals    []any  // reading: name, value pairs (bool or number)
	entry   string // grant: the whitelist entry
	command string // command: the point written
	failed  bool   // grant: the unlock write failed
}

func R(s float64, kv ...any) step            { return step{at: s, kind: 'r', vals: kv} }
func RD(d string, s float64, kv ...any) step { return step{at: s, dev: d, kind: 'r', vals: kv} }
func T(s float64) step                       { return step{at: s, kind: 't'} }
func G(d string, s float64, entry string) step {
	return step{at: s, dev: d, kind: 'g', entry: entry}
}
func Deny(d string, s float64) step          { return step{at: s, dev: d, kind: 'd'} }
func Cmd(d string, s float64, p string) step { return step{at: s, dev: d, kind: 'c', command: p} }
func Off(s float64) step                     { return step{at: s, kind: 'o'} }
func Stale(s float64, kv ...any) step        { return step{at: s, kind: 's', vals: kv} }

// on sends step s to device d.
func on(d string, s step) step { s.dev = d; return s }

// reading builds a reading of device d at s seconds with the given values.
func reading(d string, s float64, kv ...any) drivers.Reading {
	r := drivers.Reading{Device: d, Time: at(s), Quality: drivers.Good, Online: true,
		Values: make(map[string]drivers.Value, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		var v drivers.Value
		switch x := kv[i+1].(type) {
		case bool:
			v = drivers.BoolValue(x)
		case int:
			v = drivers.Value{Type: configs.TypeUint16, Num: float64(x), Int: int64(x), Uint: uint64(x)}
		case float64:
			v = drivers.Value{Type: configs.TypeFloat32, Num: x}
		}
		r.Values[kv[i].(string)] = v
	}
	return r
}

// play feeds the steps to e, the first device of cfg standing for "".
func play(e *Engine, cfg *configs.Config, steps []step) {
	first := cfg.Devices[0].ID
	for _, s := range steps {
		d := s.dev
		if d == "" {
			d = first
		}
		switch s.kind {
		case 'r':
			e.Observe(reading(d, s.at, s.vals...))
		case 's':
			r := reading(d, s.at, s.vals...)
			r.Quality, r.Err = drivers.Stale, errors.New("timeout")
			e.Observe(r)
		case 'o':
			r := reading(d, s.at)
			r.Quality, r.Online, r.Err = drivers.Stale, false, errors.New("timeout")
			e.Observe(r)
		case 't':
			e.Tick(at(s.at))
		case 'g':
			ev := events.New("access.granted", d, at(s.at), events.Info, events.RouteRecord)
			ev.Data = map[string]any{"entry": s.entry, "reason": "ok"}
			if s.failed {
				ev.Data["actuated"] = false
			}
			e.Notify(ev)
		case 'd':
			ev := events.New("access.denied", d, at(s.at), events.Low, events.RouteRecord)
			ev.Data = map[string]any{"reason": "unknown"}
			e.Notify(ev)
		case 'c':
			e.CommandIssued(d, s.command, at(s.at))
		}
	}
}

// scenario is one table case of a detector test.
type scenario struct {
	name  string
	rules map[string]configs.RuleConfig // top-level rules
	devs  []configs.Device              // default: the test's devices
	steps []step
	want  []string // "T type phase" lines
}

func runScenarios(t *testing.T, devs []configs.Device, cases []scenario) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := devs
			if tc.devs != nil {
				ds = tc.devs
			}
			cfg := config(ds...)
			cfg.Rules = tc.rules
			e, rec := newEngine(t, cfg, Options{})
			play(e, cfg, tc.steps)
			got := rec.lines()
			if !slices.Equal(got, tc.want) {
				t.Errorf("events:\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}
