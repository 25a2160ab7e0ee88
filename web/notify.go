package web

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells systemd (Type=notify, WatchdogSec=) how the gateway is:
// READY=1 when it starts serving, WATCHDOG=1 pings while it is healthy, and
// STOPPING=1 when it shuts down. Outside systemd (no NOTIFY_SOCKET) every
// call does nothing, so `edge run` behaves the same from a terminal.
type Notifier struct {
	log *slog.Logger
}

// NewNotifier returns a notifier that logs to log.
func NewNotifier(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{log: log}
}

// Notify sends one state string such as "STATUS=polling 12 devices".
func (n *Notifier) Notify(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %q: %w", firstLine(state), err)
	}
	return nil
}

// Reloading tells systemd a config reload (SIGHUP) has begun; send Ready
// when it is done.
func (n *Notifier) Reloading() error {
	return n.Notify(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// Ready tells systemd the gateway is up.
func (n *Notifier) Ready() error { return n.Notify(daemon.SdNotifyReady) }

// WatchdogInterval is how often Run pings: half of the unit's WatchdogSec,
// or 0 when the watchdog is off.
func WatchdogInterval() (time.Duration, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("watchdog settings: %w", err)
	}
	return d / 2, nil
}

// Run sends READY=1, then pings the watchdog every half WatchdogSec for as
// long as healthy returns nil, and sends STOPPING=1 when ctx ends. The main
// loop calls it once start-up is done. When healthy fails, the ping is
// withheld and the reason sent as STATUS=, so that a gateway stuck for
// longer than WatchdogSec is restarted by systemd. Notification errors are
// logged, never fatal: the gateway must keep working without systemd.
func (n *Notifier) Run(ctx context.Context, healthy func() error) error {
	if err := n.Ready(); err != nil {
		n.log.Warn("systemd notify", "err", err)
	}
	interval, err := WatchdogInterval()
	if err != nil {
		n.log.Warn("systemd watchdog disabled", "err", err)
	}
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
		n.log.Debug("systemd watchdog on", "ping_every", interval)
	}
	wasHealthy := true
	for {
		select {
		case <-ctx.Done():
			if err := n.Notify(daemon.SdNotifyStopping); err != nil {
				n.log.Warn("systemd notify", "err", err)
			}
			return nil
		case <-tick:
			state := daemon.SdNotifyWatchdog
			herr := healthy()
			if herr != nil {
				state = "STATUS=unhealthy: " + firstLine(herr.Error())
				if wasHealthy {
					n.log.Error("unhealthy: withholding the systemd watchdog ping", "err", herr)
				}
			} else if !wasHealthy {
				n.log.Info("healthy again: watchdog pings resumed")
				state += "\nSTATUS=running"
			}
			wasHealthy = herr == nil
			if err := n.Notify(state); err != nil {
				n.log.Warn("systemd notify", "err", err)
			}
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
