// Package footprint measures what `edge run` costs on a box (issue 8): the
// resident memory of the daemon polling 200 simulated controllers with a
// 100,000-entry whitelist, the stripped binary size per architecture, and
// the time from exec to the first Modbus request. It builds the binary and
// runs it as a child process. Set FOOTPRINT=1 (`make footprint`) to run it.
package footprint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/test/soak/simsite"
)

// Targets of issue 8.
const (
	targetRSS      = 40 << 20
	targetBinary   = 25 << 20
	targetFirstReq = 300 * time.Millisecond
)

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

func TestFootprint(t *testing.T) {
	if os.Getenv("FOOTPRINT") == "" {
		t.Skip("footprint: set FOOTPRINT=1 to measure (make footprint)")
	}
	devices := envInt(t, "FOOTPRINT_DEVICES", 200)
	entries := envInt(t, "FOOTPRINT_ENTRIES", 100_000)
	settle := time.Duration(envInt(t, "FOOTPRINT_SECONDS", 20)) * time.Second
	reads := envInt(t, "FOOTPRINT_READS", 2000)
	dir := t.TempDir()

	t.Run("binary size", func(t *testing.T) {
		for _, arch := range []struct{ goarch, goarm string }{{"amd64", ""}, {"arm64", ""}, {"arm", "7"}} {
			out := filepath.Join(dir, "edge-linux-"+arch.goarch+arch.goarm)
			env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch.goarch}
			if arch.goarm != "" {
				env = append(env, "GOARM="+arch.goarm)
			}
			simsite.BuildEdge(t, out, env, "-trimpath", "-ldflags=-s -w")
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("binary %-18s %6.2f MiB (%d bytes): %v go build -trimpath -ldflags='-s -w'", filepath.Base(out),
				float64(fi.Size())/(1<<20), fi.Size(), env)
			if fi.Size() > targetBinary {
				t.Errorf("%s is %d bytes, over the 25 MB target", out, fi.Size())
			}
		}
	})

	bin := filepath.Join(dir, "edge")
	simsite.BuildEdge(t, bin, nil)
	broker := testbed.Mosquitto(t, testbed.MosquittoOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first firstByte
	site := simsite.New(ctx, t, simsite.Options{
		Site: "footprint", Gateway: "gw-01", Broker: broker.URL(), Dir: filepath.Join(dir, "site"),
		Devices: devices, PerAddress: 5, Poll: 200 * time.Millisecond, Timeout: time.Second,
		HTTP:  fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t)),
		Front: func(addr string) string { return relay(ctx, t, addr, &first) },
	})
	if err := os.MkdirAll(filepath.Join(site.Dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}

	for _, run := range []struct {
		name    string
		entries int
	}{{"empty whitelist", 0}, {fmt.Sprintf("%d whitelist entries", entries), entries}} {
		if run.entries > 0 {
			buildWhitelist(t, site, run.entries)
		}
		first.reset()
		measureRun(t, bin, site, &first, run.name, run.entries, reads, settle)
	}
}

// buildWhitelist applies a signed snapshot of n riders to the site's
// whitelist file before the daemon starts, as the platform's update would.
func buildWhitelist(t *testing.T, site *simsite.Site, n int) {
	t.Helper()
	t0 := time.Now()
	env := site.Sign(t, site.Snapshot(2, n, 3))
	signed := time.Since(t0)
	st, err := access.OpenConfigured(site.Config, false, access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	res, err := st.ApplySigned(context.Background(), env)
	if err != nil {
		t.Fatalf("apply %d entries: %v", n, err)
	}
	applied := time.Since(t1)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(site.Config.StateDir, access.StoreFile))
	t2, cpu2 := time.Now(), simsite.CPUTime()
	st, err = access.OpenConfigured(site.Config, false, access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opened, openCPU, loaded := time.Since(t2), simsite.CPUTime()-cpu2, st.Len()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("whitelist: opening the store with its %d entries (what the daemon does before it polls) takes %v (CPU %v) in this process",
		loaded, opened.Round(time.Millisecond), openCPU.Round(time.Millisecond))
	t.Logf("whitelist: %d entries, signed document %.1f MiB (built and signed in %v), applied in %v, %s on disk %.1f MiB",
		res.Entries, float64(len(env))/(1<<20), signed.Round(time.Millisecond), applied.Round(time.Millisecond),
		access.StoreFile, float64(fi.Size())/(1<<20))
}

// measureRun starts `edge run`, times exec -> first Modbus request, samples
// its RSS while it polls and riders present reads cards (over the first
// three quarters of settle, so that the last samples show what stays
// resident), checks that it polls every device, and stops it.
func measureRun(t *testing.T, bin string, site *simsite.Site, first *firstByte, name string, entries, reads int, settle time.Duration) {
	t.Helper()
	plat, err := platform.Connect(platform.Options{Broker: site.Opts.Broker, Prefix: site.Config.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	defer plat.Close()
	t0 := time.Now()
	d := simsite.StartDaemon(t, bin, site.ConfigFile)
	defer d.Stop(t)

	// The wall time depends on how busy the machine is; the CPU time the
	// daemon used until then does much less.
	var firstReq, firstCPU time.Duration
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if at := first.time(); !at.IsZero() {
			firstReq = at.Sub(t0)
			firstCPU, _ = simsite.ProcCPU(d.Pid())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no Modbus request within 2 min of exec\n%s", name, d.Out.String())
		}
		time.Sleep(time.Millisecond)
	}
	started, ok := plat.WaitType(20*time.Second, "gateway.started", "", "")
	startedAt := time.Now()
	if !ok {
		t.Fatalf("%s: no gateway.started\n%s", name, d.Out.String())
	}
	if v, _ := started.Data["whitelist_version"].(float64); entries > 0 && v != 2 {
		t.Errorf("%s: the daemon started with whitelist version %v, want 2", name, started.Data["whitelist_version"])
	}

	readCtx, stopReads := context.WithCancel(context.Background())
	presented := make(chan int, 1)
	go func() { presented <- presentReads(readCtx, t, site, entries, reads, settle*3/4) }()
	defer stopReads()

	var peak uint64
	var last simsite.Mem
	end := time.Now().Add(settle)
	for time.Now().Before(end) {
		time.Sleep(500 * time.Millisecond)
		m, err := simsite.ProcStatus(d.Pid())
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, d.Out.String())
		}
		peak, last = max(peak, m.RSS), m
	}
	stopReads()
	nRead := <-presented
	granted, denied := decisions(plat)
	online, total := devicesOnline(t, site.Opts.HTTP)
	t.Logf("%s: exec -> first Modbus request %v (daemon CPU time by then about %v), -> gateway.started at the platform %v; load average %s",
		name, firstReq.Round(time.Microsecond), firstCPU, startedAt.Sub(t0).Round(time.Millisecond), simsite.LoadAvg())
	t.Logf("%s: %d cards presented at readers, the platform got %d access.granted and %d access.denied",
		name, nRead, granted, denied)
	t.Logf("%s: after %v polling %d devices (%d online): RSS %s = anon %s + file-backed %s (bbolt mmap, binary); max sampled %s, VmHWM %s",
		name, settle, total, online, simsite.MiB(last.RSS), simsite.MiB(last.Anon), simsite.MiB(last.File), simsite.MiB(peak), simsite.MiB(last.HWM))
	if nRead > 0 && (granted+denied == 0 || (entries > 0 && granted == 0)) {
		t.Errorf("%s: %d cards presented but %d granted, %d denied: the figures do not cover decisions", name, nRead, granted, denied)
	}
	if online != len(site.Devices) {
		t.Errorf("%s: %d of %d devices online", name, online, len(site.Devices))
	}
	if last.RSS > targetRSS {
		t.Errorf("%s: RSS %s is over the 40 MB target (anonymous %s)", name, simsite.MiB(last.RSS), simsite.MiB(last.Anon))
	}
	if firstReq > targetFirstReq {
		t.Errorf("%s: first poll %v after exec, over the 300 ms target", name, firstReq)
	}
}

// devicesOnline reads the daemon's /api/v1/devices.
func devicesOnline(t *testing.T, addr string) (online, total int) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/devices")
	if err != nil {
		t.Fatalf("devices API: %v", err)
	}
	defer resp.Body.Close()
	var list struct {
		Devices []struct {
			ID     string `json:"id"`
			Online bool   `json:"online"`
		} `json:"devices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("devices API: %v", err)
	}
	for _, d := range list.Devices {
		if d.Online {
			online++
		}
	}
	return online, len(list.Devices)
}
