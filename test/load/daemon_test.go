// Package load measures the CPU of the whole daemon under the polling load
// of issue 3: `edge run` (drivers, rules on every reading, outbox, uplink,
// status page) polling 200 simulated controllers every 200 ms. The
// simulators run in this test process, the daemon in its own, so the CPU
// printed is the daemon's alone. Set EDGE_LOADTEST=1 to run it:
//
//	EDGE_LOADTEST=1 go test -run TestDaemonLoad -v -count=1 ./test/load/
//
// EDGE_LOAD_DEVICES [200], EDGE_LOAD_POLL [200ms] and EDGE_LOAD_FOR [20s]
// change the load, EDGE_LOAD_BIN names a binary to run instead of building
// one; drivers/load_test.go measures the drivers alone.
package load

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/test/soak/simsite"
)

func TestDaemonLoad(t *testing.T) {
	if os.Getenv("EDGE_LOADTEST") == "" {
		t.Skip("set EDGE_LOADTEST=1 to run the load test")
	}
	devices := testbed.EnvInt(t, "EDGE_LOAD_DEVICES", 200)
	poll := testbed.EnvDuration(t, "EDGE_LOAD_POLL", 200*time.Millisecond)
	measure := testbed.EnvDuration(t, "EDGE_LOAD_FOR", 20*time.Second)
	dir := t.TempDir()
	bin := os.Getenv("EDGE_LOAD_BIN") // a binary to measure (to profile it with perf, say)
	if bin == "" {
		bin = filepath.Join(dir, "edge")
		simsite.BuildEdge(t, bin, nil)
	}
	broker := testbed.Mosquitto(t, testbed.MosquittoOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	site := simsite.New(ctx, t, simsite.Options{Site: "load", Gateway: "gw-01", Broker: broker.URL(), Dir: dir,
		Devices: devices, PerAddress: 1, Poll: poll, Timeout: time.Second, HTTP: httpAddr})

	d := simsite.StartDaemon(t, bin, site.ConfigFile)
	defer d.Stop(t)

	// Warm up until every device has answered, then some more.
	deadline := time.Now().Add(time.Minute)
	for {
		m := scrape(t, httpAddr)
		if m != nil && m.online == devices {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all %d devices online within a minute (%+v)\n%s", devices, m, d.Out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)

	m0, cpu0, wall0 := scrape(t, httpAddr), procCPU(t, d.Pid()), time.Now()
	time.Sleep(measure)
	m1, cpu1, wall := scrape(t, httpAddr), procCPU(t, d.Pid()), time.Since(wall0).Seconds()
	mem, err := simsite.ProcStatus(d.Pid())
	if err != nil {
		t.Fatal(err)
	}
	req, polls, fails := m1.requests-m0.requests, m1.polls-m0.polls, m1.pollErrors-m0.pollErrors
	cpu := (cpu1 - cpu0).Seconds()
	t.Logf("edge run: %d devices, poll %v, measured %.1fs; load average %s", devices, poll, wall, simsite.LoadAvg())
	t.Logf("requests/s=%.0f polls/s=%.0f failed_polls=%.0f", req/wall, polls/wall, fails)
	t.Logf("cpu=%.1f%% of one core (%.1f us per request) rss=%s (anon %s, file-backed %s)",
		100*cpu/wall, 1e6*cpu/max(req, 1), simsite.MiB(mem.RSS), simsite.MiB(mem.Anon), simsite.MiB(mem.File))
	if polls == 0 || req == 0 {
		t.Fatalf("no polls in %v\n%s", measure, d.Out.String())
	}
	if fails > 0 {
		t.Errorf("%.0f failed polls during the measurement", fails)
	}
}

// counts is what the daemon's /metrics says of its devices.
type counts struct {
	online                      int
	polls, pollErrors, requests float64
}

func scrape(t *testing.T, addr string) *counts {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil // not listening yet
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	var c counts
	sum := func(name string) float64 {
		var s float64
		if f := fams[name]; f != nil {
			for _, m := range f.Metric {
				if m.Counter != nil {
					s += m.Counter.GetValue()
				} else if m.Gauge != nil {
					s += m.Gauge.GetValue()
				}
			}
		}
		return s
	}
	c.online = int(sum("jusha_edge_device_online"))
	c.polls, c.pollErrors = sum("jusha_edge_device_polls_total"), sum("jusha_edge_device_poll_errors_total")
	c.requests = sum("jusha_edge_device_requests_total")
	return &c
}

func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	d, err := simsite.ProcCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
