package web

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// notifySocket stands in for systemd: a unixgram socket in NOTIFY_SOCKET,
// with the watchdog on at the given interval for this process.
func notifySocket(t *testing.T, watchdog time.Duration) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	if watchdog > 0 {
		t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
		t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	} else {
		t.Setenv("WATCHDOG_USEC", "")
	}
	return conn
}

// readUntil reads notifications until one contains want, returning all
// read so far; it fails the test after a generous bound.
func readUntil(t *testing.T, conn *net.UnixConn, want string) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 4096)
	if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %q, got %q: %v", want, got, err)
		}
		msg := string(buf[:n])
		got = append(got, msg)
		if strings.Contains(msg, want) {
			return got
		}
	}
}

func TestNotifierRun(t *testing.T) {
	conn := notifySocket(t, 100*time.Millisecond)
	if d, err := WatchdogInterval(); err != nil || d != 50*time.Millisecond {
		t.Fatalf("WatchdogInterval = %v, %v; want 50ms", d, err)
	}
	var sick atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewNotifier(nil).Run(ctx, func() error {
			if sick.Load() {
				return errors.New("outbox write failed\nsecond line")
			}
			return nil
		})
	}()
	if got := readUntil(t, conn, "READY=1"); len(got) != 1 {
		t.Errorf("before READY=1: %q", got)
	}
	readUntil(t, conn, "WATCHDOG=1")
	readUntil(t, conn, "WATCHDOG=1")
	sick.Store(true)
	// Pings stop while unhealthy; the reason shows in the unit's status.
	got := readUntil(t, conn, "STATUS=unhealthy: outbox write failed")
	if last := got[len(got)-1]; strings.Contains(last, "WATCHDOG=1") || strings.Contains(last, "second line") {
		t.Errorf("unhealthy notification %q", last)
	}
	more := readUntil(t, conn, "STATUS=unhealthy")
	if strings.Contains(strings.Join(more, "|"), "WATCHDOG=1") {
		t.Errorf("watchdog pinged while unhealthy: %q", more)
	}
	sick.Store(false)
	readUntil(t, conn, "WATCHDOG=1")
	cancel()
	readUntil(t, conn, "STOPPING=1")
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestNotifierWithoutWatchdog(t *testing.T) {
	conn := notifySocket(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	calls := atomic.Int32{}
	go func() {
		done <- NewNotifier(nil).Run(ctx, func() error { calls.Add(1); return nil })
	}()
	readUntil(t, conn, "READY=1")
	cancel()
	got := readUntil(t, conn, "STOPPING=1")
	if len(got) != 1 {
		t.Errorf("without a watchdog, got %q before STOPPING=1", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if calls.Load() != 0 {
		t.Errorf("health checked %d times without a watchdog", calls.Load())
	}
}

func TestNotifierOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewNotifier(nil).Run(ctx, func() error { return nil }); err != nil {
		t.Errorf("Run outside systemd: %v", err)
	}
	if err := NewNotifier(nil).Reloading(); err != nil {
		t.Errorf("Reloading outside systemd: %v", err)
	}
}
