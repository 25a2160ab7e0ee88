package gateway_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

// TestStatusPageOfRunningGateway loads the status page of a gateway polling
// two simulated devices, with a forced door open, in headless Chromium:
// both devices and the alarm must be on the rendered page. A screenshot is
// kept under $ARTIFACT_DIR (or the test's temp dir).
func TestStatusPageOfRunningGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := testbed.Need(t, "chromium")
	r := newRig(t, rigOptions{kinds: []string{configs.KindDoor, configs.KindGate}})
	r.start()
	r.waitStarted()
	n := len(r.plat.Events())
	if err := r.door.Force(); err != nil {
		t.Fatal(err)
	}
	r.waitAfter(n, 10*time.Second, "door.forced_open", events.Raised, doorID)
	addr := r.gw.HTTPAddr(5 * time.Second)
	if addr == "" {
		t.Fatal("the status page does not listen")
	}
	url := "http://" + addr + "/"
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append(flags, args...)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return string(out)
	}
	dom := run("--virtual-time-budget=3000", "--dump-dom", url)
	for _, want := range []string{doorID, gateID, "door.forced_open", "Block A1 lobby"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	dir := os.Getenv("ARTIFACT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "status-page-running-gateway.png")
	run("--window-size=1280,1000", "--virtual-time-budget=3000", "--screenshot="+shot, url)
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
	t.Logf("screenshot: %s", shot)
}
