// Package testbed starts the real peers the tests talk to: Mosquitto,
// VictoriaMetrics and pymodbus, each on a free loopback port, stopped when the
// test ends. `make test` installs them; a test on a machine without them is
// skipped, except under CI (CI=true), where a missing peer fails the test.
package testbed

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Need returns the path of program, or skips the test (fails it under CI)
// when the program is not installed.
func Need(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
			if _, serr := os.Stat(filepath.Join(dir, program)); serr == nil {
				return filepath.Join(dir, program)
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (run `make deps`)", program)
		}
		t.Skipf("%s is not installed (run `make deps`)", program)
	}
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a peer started for a test.
type Process struct {
	Cmd  *exec.Cmd
	Addr string // host:port it listens on
	Port int
	log  *Buffer
	done chan struct{}
}

// Log returns what the process has written to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (p *Process) Stop() {
	if p.Cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// Kill ends the process at once with SIGKILL and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start runs a program, stops it at the end of the test, and waits until
// ready returns nil (or fails the test after timeout).
func Start(t testing.TB, port int, ready func() error, timeout time.Duration, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	buf := &Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Cmd: cmd, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, log: buf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return p
		}
		if p.Exited() {
			t.Fatalf("%s exited before it was ready: %v\n%s", name, err, buf.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v: %v\n%s", name, timeout, err, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DialReady is a ready check: the TCP port accepts a connection.
func DialReady(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// HTTPReady is a ready check: GET url answers 200.
func HTTPReady(url string) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

// Buffer collects output written from several goroutines (a process's
// stdout and stderr, a test's slog handler) and reads it back whole.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
