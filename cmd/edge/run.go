package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/web"
)

func runDaemon(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "edge run [-c FILE] [--log-level debug|info|warn|error] [--log-format text|json]", stderr)
	path := fs.String("c", defaultConfig, "config `FILE`")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	smallHeap()
	ver, _ := buildInfo()
	gw, err := gateway.New(cfg, gateway.Options{Log: log, Version: ver})
	if err != nil {
		return err
	}
	// systemd (Type=notify): READY once running, watchdog pings while the
	// main loop beats, STOPPING at the end. Outside systemd it does nothing.
	notifier := web.NewNotifier(log)
	go func() {
		// READY only once the gateway's main loop runs.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for gw.Healthy() != nil {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		_ = notifier.Run(ctx, gw.Healthy)
	}()
	// SIGHUP reloads the config; an invalid one is refused and logged.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = notifier.Reloading()
				next, err := configs.Load(*path)
				if err != nil {
					log.Error("config reload refused; the running config stays", "file", *path, "err", err)
				} else if err := gw.Reload(ctx, next); err != nil {
					log.Error("config reload failed; the running config stays", "file", *path, "err", err)
				}
				_ = notifier.Ready()
			}
		}
	}()
	return gw.Run(ctx)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q", format)
}

// daemonGCPercent is the daemon's GOGC unless the environment sets one. The
// gateway's live heap is small and its allocation rate low, so the default
// 100 (a heap twice the live data) is mostly headroom: 50 takes 3 MiB off
// the resident memory of 200 devices and a 100,000-rider whitelist, for no
// CPU the load test can tell from noise (make load, make footprint).
const daemonGCPercent = 50

func smallHeap() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
}
