package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// part is one running component with its own stop.
type part struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

func (g *Gateway) start(name string, run func(ctx context.Context) error) *part {
	ctx, cancel := context.WithCancel(context.Background())
	p := &part{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			g.log.Error("part stopped", "part", name, "err", err)
		}
		p.done <- err
	}()
	return p
}

// stop ends a part and waits for it. A part that takes longer than
// timeout is logged and waited for a while longer (up to stopGrace): the
// stores close only after the parts that write to them have stopped, so
// that nothing they raise while stopping is refused.
func (p *part) stop(timeout time.Duration, log *slog.Logger) error {
	p.cancel()
	wait := func(d time.Duration) (error, bool) {
		select {
		case err := <-p.done:
			if errors.Is(err, context.Canceled) {
				return nil, true
			}
			return err, true
		case <-time.After(d):
			return nil, false
		}
	}
	if err, ok := wait(timeout); ok {
		return err
	}
	log.Warn("part slow to stop; waiting", "part", p.name, "after", timeout)
	if err, ok := wait(stopGrace); ok {
		return err
	}
	return fmt.Errorf("%s did not stop within %v", p.name, timeout+stopGrace)
}

// stopGrace is how much longer shutdown waits for a slow part.
const stopGrace = 20 * time.Second

// Run starts every part, raises gateway.started, and blocks until ctx ends
// or a part fails. Shutdown is ordered under a deadline: stop polling and
// access actuation, let the rules finish, give the uplink a moment to
// deliver what the outbox holds, then flush telemetry and close the stores.
// What the uplink did not deliver stays in the outbox for the next start.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.close()
	failed := make(chan error, 8)
	watch := func(p *part) {
		go func() {
			err := <-p.done
			p.done <- err // keep it for stop
			if err != nil && !errors.Is(err, context.Canceled) {
				select {
				case failed <- fmt.Errorf("%s: %w", p.name, err):
				default:
				}
			}
		}()
	}

	var webPart *part
	if g.web != nil {
		webPart = g.start("http", g.web.Run)
		watch(webPart)
	}
	upPart := g.start("uplink", g.up.Run)
	wlPart := g.start("whitelist", g.wl.Run) // daily use counters to disk
	heldPart := g.start("held", g.runHeld)   // events a full disk refused
	var telPart *part
	if g.tel != nil {
		telPart = g.start("telemetry", g.tel.Run)
	}
	g.startPipeline(g.pipe.Load())

	host, _ := os.Hostname()
	started := events.New("gateway.started", g.cfg.Gateway, time.Now(), events.Info, events.RouteRecord)
	started.Data = map[string]any{"version": g.opts.Version, "devices": len(g.cfg.Devices), "host": host,
		"whitelist_version": g.wl.Version()}
	g.emit(started)

	pollPart := g.start("drivers", func(ctx context.Context) error {
		g.links.run(ctx, g.onReading)
		return nil
	})
	g.log.Info("gateway running", "site", g.cfg.Site, "gateway", g.cfg.Gateway,
		"devices", len(g.cfg.Devices), "broker", g.cfg.Upstream.Brokers, "state_dir", g.cfg.StateDir)

	// The main loop beats while the gateway runs; Healthy reads the beat
	// for the systemd watchdog.
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	g.heartbeat.Store(time.Now().UnixNano())
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case runErr = <-failed:
			break loop
		case now := <-beat.C:
			g.heartbeat.Store(now.UnixNano())
		}
	}
	g.heartbeat.Store(0)
	g.log.Info("gateway stopping")

	// Ordered shutdown.
	var errs []error
	g.reloadMu.Lock() // no reload while stopping
	defer g.reloadMu.Unlock()
	p := g.pipe.Load()
	errs = append(errs, p.ctrlPart.stop(5*time.Second, g.log))  // relock what is unlocked, while links still run
	errs = append(errs, pollPart.stop(5*time.Second, g.log))    // no new readings
	errs = append(errs, p.rulesPart.stop(3*time.Second, g.log)) // last alarm state saved
	errs = append(errs, heldPart.stop(2*time.Second, g.log))
	g.flushHeld(context.Background()) // a last try for what a full disk refused
	g.drain(g.opts.DrainTimeout)
	errs = append(errs, upPart.stop(5*time.Second, g.log)) // offline status, disconnect
	errs = append(errs, wlPart.stop(3*time.Second, g.log)) // last use counters saved
	if telPart != nil {
		errs = append(errs, telPart.stop(5*time.Second, g.log))
	}
	if webPart != nil {
		errs = append(errs, webPart.stop(5*time.Second, g.log))
	}
	if err := errors.Join(errs...); err != nil {
		g.log.Warn("shutdown", "err", err)
	}
	st := g.ob.Stats()
	g.log.Info("gateway stopped", "outbox_depth", st.Depth, "last_sequence", st.LastSeq)
	return runErr
}

const heartbeatEvery = time.Second

// Healthy reports whether the gateway's main loop is running and beating:
// the systemd watchdog is pinged only while it is. A down uplink or an
// offline device does not make the gateway unhealthy: it keeps deciding
// access and raising alarms locally.
func (g *Gateway) Healthy() error {
	last := g.heartbeat.Load()
	if last == 0 {
		return errors.New("gateway not running")
	}
	if age := time.Since(time.Unix(0, last)); age > 10*heartbeatEvery {
		return fmt.Errorf("main loop stalled for %v", age.Round(time.Second))
	}
	return nil
}

// drain waits, at most timeout, for the uplink to deliver what the outbox
// holds while it is connected.
func (g *Gateway) drain(timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for g.ob.Stats().Depth > 0 && g.up.Connected() {
		select {
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// Reload applies a new config while the gateway runs: the links whose
// devices changed restart their polling, the others keep going; when
// devices or rules changed, the rules engine and the access controller are
// rebuilt (alarm state carries over through state_dir). Sections that need
// a restart (site, state_dir, upstream, http, access keys, telemetry) keep
// their running values, and the log says so. A config that cannot be
// applied leaves the running one in place.
func (g *Gateway) Reload(_ context.Context, next *configs.Config) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	cur := g.pipe.Load()
	merged, ignored := mergeReload(cur.cfg, next)
	if len(ignored) > 0 {
		g.log.Warn("config reload: these sections need a restart and keep their running values", "sections", ignored)
	}
	rebuild := pipelineChanged(cur.cfg, merged)
	np := &pipeline{}
	*np = *cur
	np.cfg = merged
	if rebuild {
		// The new engine must read the alarm state the old one saves as it
		// stops, so the old one stops first and comes back if the new one
		// cannot be built.
		running := cur.ctrlPart != nil
		if running {
			if err := cur.stop(g.log); err != nil {
				g.log.Warn("config reload: stopping the old rules", "err", err)
			}
		}
		var err error
		if np, err = g.newPipeline(merged); err != nil {
			if running {
				g.startPipeline(cur)
			}
			return fmt.Errorf("reload refused: %w", err)
		}
		if running {
			g.startPipeline(np)
		}
	}
	g.retire(cur, np)
	restarted, err := g.links.reload(merged.Devices)
	if err != nil {
		return fmt.Errorf("reload: links: %w", err)
	}
	g.log.Info("config reloaded", "links_restarted", restarted, "rules_rebuilt", rebuild, "devices", len(merged.Devices))
	return nil
}
