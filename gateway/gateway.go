// Package gateway wires the parts of the gateway together: drivers poll the
// devices; each reading goes to the rules, the access controller, telemetry
// and the status page; every event goes first to the durable outbox and only
// then to the parts that follow it; the uplink drains the outbox to the
// platform and feeds its commands back. `edge run`, `edge demo` and the
// integration tests all use this one wiring.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/rules"
	"github.com/jusha-ean/edge/sync/outbox"
	"github.com/jusha-ean/edge/sync/telemetry"
	"github.com/jusha-ean/edge/sync/uplink"
	"github.com/jusha-ean/edge/web"
)

// Options are the wiring's knobs that are not in the config file.
type Options struct {
	Log     *slog.Logger
	Version string
	// OnEvent, when set, sees every event once it is durable, in order.
	OnEvent func(events.Event)
	// DisableHTTP skips the local HTTP server (tests that run many gateways).
	DisableHTTP bool
	// DrainTimeout bounds how long shutdown waits for the uplink to deliver
	// what the outbox holds; default 3 s. What is left stays on disk.
	DrainTimeout time.Duration
}

// Gateway is one configured gateway, built by New and started by Run.
type Gateway struct {
	cfg  *configs.Config
	log  *slog.Logger
	opts Options

	ob    *outbox.Outbox
	wl    *access.Store
	links *linkSet
	// pipe holds the rules engine and the access controller, which a
	// reload that changes devices or rules replaces as a pair.
	pipe atomic.Pointer[pipeline]
	// reloadMu serialises reloads; retired keeps the counts of the
	// controllers they replaced.
	reloadMu sync.Mutex
	retired  retiredAccess
	tel      *telemetry.Writer // nil when telemetry is off
	up       *uplink.Uplink
	web      *web.Server // nil when DisableHTTP

	last readings

	held      heldEvents
	heartbeat atomic.Int64 // unix nanoseconds of the main loop's last beat; 0 when stopped
	appended  atomic.Uint64
	appendErr atomic.Uint64
}

// New checks the secret files, opens the state under state_dir and builds
// every part. Nothing talks to a device or a broker before Run.
func New(cfg *configs.Config, opts Options) (*Gateway, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 3 * time.Second
	}
	for _, f := range cfg.SecretFiles() {
		if err := configs.CheckSecretFile(f); err != nil {
			return nil, err
		}
	}
	if err := prepareStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, log: opts.Log, opts: opts}
	g.last.m = map[string]drivers.Reading{}
	if err := g.build(); err != nil {
		// Release what was opened (outbox, whitelist), so that a refused
		// config leaves no file locked.
		return nil, errors.Join(err, g.close())
	}
	return g, nil
}

// build opens the stores and makes every part; on error the caller closes
// what it opened.
func (g *Gateway) build() error {
	cfg, opts := g.cfg, g.opts
	var err error

	g.ob, err = outbox.Open(filepath.Join(cfg.StateDir, "outbox.db"), outbox.Options{
		MaxBytes: int64(cfg.Upstream.Outbox.MaxBytes),
		Source:   "/jusha/" + cfg.Site + "/" + cfg.Gateway,
		Log:      g.log.With("part", "outbox"),
	})
	if err != nil {
		return err
	}
	if g.wl, err = openWhitelist(cfg, g.log); err != nil {
		return err
	}
	if g.links, err = newLinkSet(cfg.Devices, g.log); err != nil {
		return err
	}
	p, err := g.newPipeline(cfg)
	if err != nil {
		return err
	}
	g.pipe.Store(p)
	if g.tel, err = telemetry.New(cfg, g.log.With("part", "telemetry")); err != nil {
		return err
	}
	if g.up, err = uplink.New(cfg, g.ob, g.log.With("part", "uplink"), uplink.WithVersion(opts.Version)); err != nil {
		return err
	}
	g.registerCommands()
	if !opts.DisableHTTP {
		if g.web, err = g.newWeb(); err != nil {
			return err
		}
	}
	return nil
}

func openWhitelist(cfg *configs.Config, log *slog.Logger) (*access.Store, error) {
	return access.OpenConfigured(cfg, false, access.Options{Logger: log.With("part", "whitelist")})
}

// prepareStateDir makes the state dir, private to the gateway's user, and
// checks that it can be written.
func prepareStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state_dir %s: %w", dir, err)
	}
	probe := filepath.Join(dir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("state_dir %s is not writable: %w", dir, err)
	}
	return os.Remove(probe)
}

// emit stores an event raised by the rules or the access controller. An
// event the outbox refuses (a full disk) is held in memory, in order, and
// stored as soon as the outbox takes it again: see held.
func (g *Gateway) emit(ev events.Event) {
	if g.held.holding() {
		// Keep the order: nothing overtakes what is already held.
		g.hold(ev, errHolding)
		return
	}
	if _, err := g.store(context.Background(), ev); err != nil {
		g.hold(ev, err)
	}
}

// emitDurable is emit for a caller that must know the event is durable
// before it answers (the local API): a refused event is not held, the
// caller gets the error and acts on nothing.
func (g *Gateway) emitDurable(ctx context.Context, ev events.Event) (events.Event, error) {
	if g.held.holding() {
		return ev, errHolding
	}
	stored, err := g.store(ctx, ev)
	if err != nil {
		// The rules still need to know of the decision.
		g.pipe.Load().rules.Notify(ev)
	}
	return stored, err
}

// store appends ev to the outbox and, once it is durable, hands the stored
// event (with its id and sequence) to the parts that follow the outbox.
func (g *Gateway) store(ctx context.Context, ev events.Event) (events.Event, error) {
	stored, err := g.ob.Append(ctx, ev)
	if err != nil {
		g.appendErr.Add(1)
		return ev, err
	}
	g.appended.Add(1)
	g.follow(stored)
	return stored, nil
}

func (g *Gateway) follow(stored events.Event) {
	g.pipe.Load().rules.Notify(stored)
	if g.tel != nil {
		g.tel.ObserveEvent(stored)
	}
	if g.web != nil {
		g.web.Observe(stored)
	}
	if g.opts.OnEvent != nil {
		g.opts.OnEvent(stored)
	}
}

// onReading is the drivers' sink: one reading per poll per device.
func (g *Gateway) onReading(r drivers.Reading) {
	p := g.pipe.Load()
	p.rules.Observe(r)
	p.ctrl.Observe(r)
	if g.tel != nil {
		g.tel.Observe(r)
	}
	if g.last.put(r) {
		g.up.PublishState(r.Device, stateJSON(r))
	}
}

// pipeline is the part of the gateway that a config reload rebuilds when
// devices or rules change: the rules engine (its alarm state persists in
// state_dir, so a new engine carries on from the old one's) and the access
// controller.
type pipeline struct {
	cfg   *configs.Config
	rules *rules.Engine
	ctrl  *access.Controller
	// parts are set once the pipeline runs.
	rulesPart, ctrlPart *part
}

func (g *Gateway) newPipeline(cfg *configs.Config) (*pipeline, error) {
	eng, err := rules.NewEngine(cfg, rules.Options{
		Store:  rules.NewFileStore(filepath.Join(cfg.StateDir, rules.StateFile)),
		Output: g.links,
	}, g.emit, g.log.With("part", "rules"))
	if err != nil {
		return nil, err
	}
	ctrl, err := access.NewController(g.wl, cfg.Devices, g.links, access.ControllerOptions{
		UnlockTime: cfg.Access.UnlockTime.D(),
		Emit:       g.emit,
		Logger:     g.log.With("part", "access"),
	})
	if err != nil {
		return nil, err
	}
	return &pipeline{cfg: cfg, rules: eng, ctrl: ctrl}, nil
}

// startPipeline runs a pipeline's parts.
func (g *Gateway) startPipeline(p *pipeline) {
	p.rulesPart = g.start("rules", p.rules.Run)
	p.ctrlPart = g.start("access", p.ctrl.Run)
}

// stopPipeline stops them: the controller first (it relocks what it
// unlocked), then the rules (their last state is saved).
func (p *pipeline) stop(log *slog.Logger) error {
	return errors.Join(p.ctrlPart.stop(5*time.Second, log), p.rulesPart.stop(3*time.Second, log))
}

// close releases what New opened.
func (g *Gateway) close() error {
	var errs []error
	if g.wl != nil {
		errs = append(errs, g.wl.Close())
	}
	if g.ob != nil {
		errs = append(errs, g.ob.Close())
	}
	return errors.Join(errs...)
}

// readings keeps each device's latest reading, for the status page and the
// retained state topic.
type readings struct {
	mu sync.RWMutex
	m  map[string]drivers.Reading
}

// put stores r and reports whether anything the platform sees changed.
func (l *readings) put(r drivers.Reading) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, ok := l.m[r.Device]
	l.m[r.Device] = r
	if !ok || old.Online != r.Online || old.Quality != r.Quality || len(old.Values) != len(r.Values) {
		return true
	}
	for k, v := range r.Values {
		if ov, ok := old.Values[k]; !ok || !sameValue(ov, v) {
			return true
		}
	}
	return false
}

func (l *readings) get(id string) (drivers.Reading, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.m[id]
	return r, ok
}

func sameValue(a, b drivers.Value) bool {
	if a.Num != b.Num || a.Str != b.Str || len(a.List) != len(b.List) {
		return false
	}
	for i := range a.List {
		if a.List[i].Num != b.List[i].Num {
			return false
		}
	}
	return true
}

// Stats are the gateway's own counters.
type Stats struct {
	// Appended counts events made durable since Run started.
	Appended uint64
	// AppendErrors counts refused appends (disk full), retries included.
	AppendErrors uint64
	// OutboxDepth is the number of events not yet acknowledged by the broker.
	OutboxDepth int
	// LastSeq is the last sequence number assigned.
	LastSeq uint64
	// Held counts events the outbox refused that wait in memory;
	// HeldLost those lost when even the memory bound was reached.
	Held     int
	HeldLost uint64
}

// Stats returns the gateway's counters.
func (g *Gateway) Stats() Stats {
	st := g.ob.Stats()
	g.held.mu.Lock()
	held, lost := len(g.held.q), g.held.dropped
	g.held.mu.Unlock()
	return Stats{Appended: g.appended.Load(), AppendErrors: g.appendErr.Load(), OutboxDepth: st.Depth, LastSeq: st.LastSeq,
		Held: held, HeldLost: lost}
}

// HTTPAddr waits (at most timeout) until the status page listens and
// returns its address; "" when HTTP is off or it did not start.
func (g *Gateway) HTTPAddr(timeout time.Duration) string {
	if g.web == nil {
		return ""
	}
	select {
	case <-g.web.Listening():
		if a := g.web.Addr(); a != nil {
			return a.String()
		}
	case <-time.After(timeout):
	}
	return ""
}
