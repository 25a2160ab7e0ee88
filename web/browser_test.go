package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

// chromiumFlags keep headless Chromium off the network and out of the
// user's profile (TESTBED.md).
func chromiumFlags(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
}

func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(chromiumFlags(t), args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// artifactDir is where the screenshots go: $ARTIFACT_DIR when set, so that
// CI can keep them, else the test's temporary directory.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("ARTIFACT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestStatusPageInBrowser loads the status page of a running server fed
// with two devices and an open alarm in headless Chromium, checks what the
// browser rendered, and saves screenshots at desktop and phone sizes.
func TestStatusPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := testbed.Need(t, "chromium")
	opts := siteOptions("127.0.0.1:0")
	opts.Now = nil // live clock, so that "polled ... ago" reads as in the field
	devs := opts.Devices.(*fakeDevices)
	list := devs.Stats()
	list[0].LastPoll, list[1].LastPoll = time.Now().Add(-300*time.Millisecond), time.Now().Add(-5*time.Second)
	devs.set(list)
	alarms := opts.Alarms.(fakeAlarms)
	alarms[0].Since = time.Now().Add(-70 * time.Second)
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []events.Event{
		testEvent("access.granted", "door-a1-lobby", "info", nil),
		testEvent("access.denied", "door-a1-lobby", "info", map[string]any{"reason": "expired"}),
		testEvent("device.offline", "lift-a1", "medium", map[string]any{"error": "connection refused"}),
		testEvent("elevator.trapped", "lift-a1", "critical", map[string]any{"location": "Block A1 lift"}),
	} {
		ev.Time = time.Now().Add(time.Duration(i-90) * time.Second)
		if ev.Type == "elevator.trapped" {
			ev.Phase = events.Raised
		}
		s.Observe(ev)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Listening():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not listen")
	}
	url := "http://" + s.Addr().String() + "/"

	dom := runChromium(t, bin, "--dump-dom", url)
	for _, want := range []string{
		`data-device="door-a1-lobby"`, `data-device="lift-a1"`, "Block A1 lobby",
		`data-alarm="lift-a1/elevator.trapped/3"`, "elevator.trapped", "critical",
		"battery_volts", "12.34", "offline", "connection refused by 192.168.1.21:502",
		"1 / 2", "v42", "3 waiting", "access.denied",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "12345678") {
		t.Error("raw credential in the rendered DOM")
	}

	dir := artifactDir(t)
	for _, shot := range []struct{ name, size string }{
		{"status-page-desktop.png", "1280,900"},
		{"status-page-phone.png", "390,1400"},
	} {
		path := filepath.Join(dir, shot.name)
		runChromium(t, bin, "--screenshot="+path, "--window-size="+shot.size, url)
		fi, err := os.Stat(path)
		if err != nil || fi.Size() < 10_000 {
			t.Fatalf("screenshot %s: %v (%d bytes)", path, err, sizeOf(fi))
		}
		t.Logf("screenshot: %s (%d bytes)", path, fi.Size())
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// countingDevices reports how many times it was read, so the page shows
// whether its script refreshed it.
type countingDevices struct {
	mu sync.Mutex
	n  int
}

func (c *countingDevices) Stats() []DeviceStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return []DeviceStatus{{ID: "door-1", Kind: "door", Online: true, LastPoll: time.Now(),
		Points: map[string]any{"reads": fmt.Sprintf("read-%d", c.n)}}}
}

// TestStatusPageRefreshes lets the page's script run for a few seconds of
// virtual time and checks that it swapped in a newer rendering.
func TestStatusPageRefreshes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := testbed.Need(t, "chromium")
	devs := &countingDevices{}
	s, err := New(Options{Config: testConfig("127.0.0.1:0"), Devices: devs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Listening():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not listen")
	}
	dom := runChromium(t, bin, "--virtual-time-budget=7000", "--dump-dom", "http://"+s.Addr().String()+"/")
	if !strings.Contains(dom, `data-device="door-1"`) {
		t.Fatalf("device missing from the DOM:\n%s", dom)
	}
	if strings.Contains(dom, "read-1<") {
		t.Errorf("page still shows its first rendering after 7 s: the refresh did not run")
	}
}
