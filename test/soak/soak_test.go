// Package soak runs one gateway against 200 simulated controllers with
// random Modbus faults, physical events and rider presentations, on real
// Mosquitto with the stand-in platform as the consumer, and checks that
// nothing is lost and nothing leaks. 30 s in the default test run (skipped
// with -short); `make soak` runs it for SOAK_DURATION (5m).
package soak

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/test/soak/simsite"
)

const soakRules = `door.held_open: { after: 3s }
elevator.trapped: { after: 2s }
elevator.stopped_outside_zone: { after: 2s }
gate.stuck_open: { after: 3s }`

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short (make soak runs it for SOAK_DURATION)")
	}
	dur := testbed.EnvDuration(t, "SOAK_DURATION", 30*time.Second)
	poll, timeout := 250*time.Millisecond, 300*time.Millisecond
	if raceOn {
		poll, timeout = time.Second, time.Second
	}
	poll = testbed.EnvDuration(t, "SOAK_POLL", poll)
	const devices, riders = 200, 100

	broker := testbed.Mosquitto(t, testbed.MosquittoOptions{})
	idle := simsite.Measure() // before any simulator, platform or gateway
	simCtx, stopSims := context.WithCancel(context.Background())
	defer stopSims()

	var chaos atomic.Pointer[simsite.Chaos]
	var prefix string
	site := simsite.New(simCtx, t, simsite.Options{
		Site: "soak", Gateway: "gw-soak", Broker: broker.URL(), Devices: devices, PerAddress: 4, Mixed: true,
		Poll: poll, Timeout: timeout, AckTimeout: 5 * time.Second, Rules: soakRules,
	})
	prefix = site.Config.Prefix()
	plat, err := platform.Connect(platform.Options{Broker: broker.URL(), Prefix: prefix, OnEvent: func(r platform.Received) {
		// The platform signs for every other alarm it sees raised; the
		// rest are escalated by the gateway.
		if c := chaos.Load(); c != nil && r.Event.Phase == events.Raised && r.Event.AlarmID != "" && len(r.Event.AlarmID)%2 == 0 {
			c.QueueAck(r.Event.AlarmID)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer plat.Close()
	base := simsite.Measure()

	logs := &simsite.LogTail{Max: 1 << 20}
	if path := os.Getenv("SOAK_LOG"); path != "" { // the whole gateway log, for a failing run
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		logs.Tee = f
	}
	led := simsite.NewLedger()
	gw, err := gateway.New(site.Config, gateway.Options{Log: logs.Logger(slog.LevelInfo), Version: "soak",
		DisableHTTP: true, DrainTimeout: 10 * time.Second, OnEvent: led.Add})
	if err != nil {
		t.Fatal(err)
	}
	gwCtx, stopGW := context.WithCancel(context.Background())
	defer stopGW()
	runDone := make(chan error, 1)
	go func() { runDone <- gw.Run(gwCtx) }()
	defer func() {
		if t.Failed() {
			t.Logf("gateway log tail:\n%s", tail(logs.String(), 8000))
		}
	}()

	if _, ok := plat.WaitType(20*time.Second, "gateway.started", "", ""); !ok {
		t.Fatal("no gateway.started at the platform")
	}
	n := len(plat.Events())
	if err := plat.Command("whitelist", site.Sign(t, site.Snapshot(1, riders, 0))); err != nil {
		t.Fatal(err)
	}
	if !plat.Wait(20*time.Second, func(evs []platform.Received) bool {
		return slices.ContainsFunc(evs[n:], func(r platform.Received) bool { return r.Event.Type == "whitelist.applied" })
	}) {
		t.Fatal("whitelist not applied")
	}
	if off := waitRecovered(gw, 30*time.Second); len(off) > 0 {
		t.Fatalf("devices never online before the soak: %v", off)
	}
	start := simsite.Measure()

	c := simsite.NewChaos(site, simsite.ChaosOptions{Every: 50 * time.Millisecond, Faults: true, Timeout: timeout,
		Riders: riders, Seed: uint64(time.Now().UnixNano()), Ack: func(id string) error { return plat.Ack(id, "soak-platform") }})
	chaos.Store(c)
	chaosCtx, stopChaos := context.WithTimeout(context.Background(), dur)
	defer stopChaos()
	t.Logf("soak: %d devices on %d addresses, poll %v, for %v", devices, len(site.Addresses()), poll, dur)
	c.Run(chaosCtx) // returns after dur, with every fault and condition undone
	chaos.Store(nil)

	// Every device recovers once its fault heals: each is seen online
	// (on a busy machine a poll may still time out now and then).
	if off := waitRecovered(gw, 40*time.Second); len(off) > 0 {
		t.Errorf("devices never seen online in the 40 s after every fault healed: %v", off)
	}
	// Quiet: the platform has every event the gateway appended, and
	// nothing new for 3 s (alarms clearing, escalations).
	quiet := waitQuiet(gw, plat, 3*time.Second, 90*time.Second)
	end := simsite.Measure()

	stopGW()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("gateway run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not stop within 30 s")
	}
	st := gw.Stats()
	appended := led.Seqs()
	plat.Wait(10*time.Second, func(evs []platform.Received) bool { return len(evs) >= len(appended) })

	received := map[uint64]bool{}
	for _, r := range plat.Events() {
		seq, _ := strconv.ParseUint(r.Event.Sequence, 10, 64)
		received[seq] = true
	}
	var lost []uint64
	for seq := range appended {
		if !received[seq] {
			lost = append(lost, seq)
		}
	}
	slices.Sort(lost)
	var missingSeq []uint64 // holes in 1..LastSeq among what was appended
	for seq := uint64(1); seq <= st.LastSeq; seq++ {
		if _, ok := appended[seq]; !ok {
			missingSeq = append(missingSeq, seq)
		}
	}
	dups, gaps, reorders := plat.Stats()

	var polls, pollErrs uint64
	for _, d := range gw.Devices() {
		polls += d.Polls
		pollErrs += d.Errors
	}
	lines, warns, errs := logs.Counts()

	stopSims()
	site.Wait()
	// The platform's MQTT client still runs: allow for its few goroutines.
	after := waitGoroutines(idle.Goroutines+15, 10*time.Second)

	t.Logf("soak summary (%v, %d devices, %d addresses, poll %v):", dur, devices, len(site.Addresses()), poll)
	t.Logf("  chaos: %s", c.Summary())
	t.Logf("  polls %d, failed %d; log lines %d (warn %d, error %d)", polls, pollErrs, lines, warns, errs)
	t.Logf("  events: appended %d (stats.Appended %d, append errors %d, last sequence %d, outbox depth at stop %d)",
		len(appended), st.Appended, st.AppendErrors, st.LastSeq, st.OutboxDepth)
	t.Logf("  received by the platform %d; LOST %d; duplicates %d; gaps %v; out of order %d; quiet before stop: %v",
		len(received), len(lost), dups, gaps, reorders, quiet)
	t.Logf("  idle:           %s", idle)
	t.Logf("  simulators up:  %s", base)
	t.Logf("  soak start:     %s", start)
	t.Logf("  soak end:       %s", end)
	t.Logf("  all stopped:    goroutines=%d", after)

	if len(lost) > 0 {
		t.Errorf("%d events appended by the gateway never reached the platform; first sequences %v", len(lost), lost[:min(len(lost), 20)])
	}
	if len(missingSeq) > 0 {
		t.Errorf("sequences %v below the last (%d) were never appended", missingSeq[:min(len(missingSeq), 20)], st.LastSeq)
	}
	if len(gaps) > 0 || reorders > 0 {
		t.Errorf("the platform saw sequence gaps %v and %d out of order", gaps, reorders)
	}
	if st.AppendErrors > 0 {
		t.Errorf("%d events could not be stored", st.AppendErrors)
	}
	if uint64(len(appended)) != st.Appended {
		t.Errorf("OnEvent saw %d events, Stats().Appended says %d", len(appended), st.Appended)
	}
	if len(appended) < int(dur/time.Second) {
		t.Errorf("only %d events in %v: the chaos did not reach the gateway", len(appended), dur)
	}
	if limit := start.Goroutines + start.Goroutines/4 + 50; end.Goroutines > limit {
		t.Errorf("goroutines grew from %d to %d during the soak (limit %d)", start.Goroutines, end.Goroutines, limit)
	}
	if after > idle.Goroutines+15 {
		t.Errorf("%d goroutines left after the gateway and simulators stopped, %d before they started", after, idle.Goroutines)
	}
	for _, e := range c.Errors() {
		t.Errorf("simulator: %s", e)
	}
}

// waitRecovered waits until every device has been seen online at least
// once since the call and returns those never seen online within timeout.
func waitRecovered(gw *gateway.Gateway, timeout time.Duration) []string {
	seen := map[string]bool{}
	deadline := time.Now().Add(timeout)
	for {
		var off []string
		for _, d := range gw.Devices() {
			seen[d.ID] = seen[d.ID] || d.Online
			if !seen[d.ID] {
				off = append(off, d.ID)
			}
		}
		if len(off) == 0 || time.Now().After(deadline) {
			return off
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitQuiet waits until the platform has received every sequence up to the
// gateway's last and the last has not moved for quiet; false on timeout.
func waitQuiet(gw *gateway.Gateway, plat *platform.Platform, quiet, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	var last uint64
	since := time.Now()
	for time.Now().Before(deadline) {
		st := gw.Stats()
		if st.LastSeq != last {
			last, since = st.LastSeq, time.Now()
		}
		got := uint64(len(plat.Events()))
		if got >= st.Appended && st.OutboxDepth == 0 && time.Since(since) >= quiet {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// waitGoroutines waits until at most n goroutines run and returns the count.
func waitGoroutines(n int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		g := runtime.NumGoroutine()
		if g <= n || time.Now().After(deadline) {
			return g
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("...%s", s[len(s)-n:])
}
