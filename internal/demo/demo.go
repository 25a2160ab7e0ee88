package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/broker"
	"github.com/jusha-ean/edge/internal/platform"
)

// Options configure a demo run.
type Options struct {
	// For keeps the site running this long in all; the script takes about
	// two minutes, and the demo ends when both are done.
	For time.Duration
	// HTTP is the status page's address; "" tries 127.0.0.1:8080, then a
	// free port.
	HTTP string
	// Out receives the timeline.
	Out io.Writer
	// Log receives the gateway's own logs (default: discarded).
	Log *slog.Logger
	// Version is shown on the status page.
	Version string
}

// Run plays the demo until the script is done and opts.For has passed, or
// ctx ends. It returns an error if the platform missed an event.
func Run(ctx context.Context, opts Options) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "jusha-edge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b, err := broker.Start(ctx, "127.0.0.1:0", opts.Log.With("part", "broker"))
	if err != nil {
		return err
	}
	defer b.Close()
	uplink, err := newNetCut(ctx, b.Addr())
	if err != nil {
		return err
	}
	httpAddr := opts.HTTP
	if httpAddr == "" {
		httpAddr = freeOr("127.0.0.1:8080")
	}
	s, err := newSite(ctx, dir, "tcp://"+uplink.addr, httpAddr, opts.Log)
	if err != nil {
		return err
	}
	cfg, err := configs.Load(s.config)
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	tl := newTimeline(opts.Out)
	plat, err := platform.Connect(platform.Options{Broker: b.URL(), Prefix: cfg.Prefix(), ClientID: "central-platform", OnEvent: tl.event})
	if err != nil {
		return err
	}
	defer plat.Close()

	gw, err := gateway.New(cfg, gateway.Options{Log: opts.Log, Version: opts.Version})
	if err != nil {
		return err
	}
	gwCtx, stopGW := context.WithCancel(context.Background())
	var gwErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); gwErr = gw.Run(gwCtx) }()

	if a := gw.HTTPAddr(5 * time.Second); a != "" {
		httpAddr = a
	}
	tl.banner(cfg, b.URL(), httpAddr, s)
	sc := &script{ctx: ctx, s: s, plat: plat, tl: tl, gw: gw, uplink: uplink}
	start := time.Now()
	scriptErr := sc.play()
	if scriptErr == nil && opts.For > 0 {
		if left := opts.For - time.Since(start); left > 0 {
			tl.say("the site keeps running for %v more: status page http://%s/ (Ctrl-C ends)", left.Round(time.Second), httpAddr)
			select {
			case <-ctx.Done():
			case <-time.After(left):
			}
		}
	}
	// Let the last events arrive, then stop the gateway as systemd would.
	sc.settle(5 * time.Second)
	stopGW()
	wg.Wait()
	tl.summary(plat, gw.Stats())
	if gwErr != nil {
		return gwErr
	}
	if scriptErr != nil && !errors.Is(scriptErr, context.Canceled) {
		return scriptErr
	}
	if lost := tl.lost(plat, gw.Stats()); lost > 0 {
		return fmt.Errorf("the platform is missing %d event(s)", lost)
	}
	return nil
}

// freeOr returns addr if it can be listened on now, else a free loopback port.
func freeOr(addr string) string {
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		return addr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return addr
	}
	defer ln.Close()
	return ln.Addr().String()
}
