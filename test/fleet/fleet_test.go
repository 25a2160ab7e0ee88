// Package fleet runs many gateways in one process, each with its own
// simulated site, state dir, names and MQTT client id, into one Mosquitto
// read by one central consumer, and checks that every event of every
// gateway arrives, in order, without gaps. The default run is short (10
// gateways x 5 devices x 10 s; skipped with -short); `make fleet` runs 50
// gateways x 10 devices for FLEET_DURATION (60s).
package fleet

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/test/soak/simsite"
)

// member is one gateway of the fleet with its site.
type member struct {
	name  string // site/gateway
	site  *simsite.Site
	gw    *gateway.Gateway
	led   *simsite.Ledger
	logs  *simsite.LogTail
	chaos *simsite.Chaos
	done  chan error
}

const fleetRules = `door.held_open: { after: 3s }
elevator.trapped: { after: 2s }
gate.stuck_open: { after: 3s }`

func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("fleet: skipped with -short (make fleet runs the full fleet)")
	}
	gateways := testbed.EnvInt(t, "FLEET_GATEWAYS", 10)
	devices := testbed.EnvInt(t, "FLEET_DEVICES", 5)
	dur := testbed.EnvDuration(t, "FLEET_DURATION", 10*time.Second)
	const riders = 20

	broker := testbed.Mosquitto(t, testbed.MosquittoOptions{})
	idle := simsite.Measure()
	simCtx, stopSims := context.WithCancel(context.Background())
	defer stopSims()

	members := make([]*member, gateways)
	byName := map[string]*member{}
	for i := range members {
		site := simsite.New(simCtx, t, simsite.Options{
			Site: fmt.Sprintf("site-%02d", i+1), Gateway: "gw-01", Broker: broker.URL(),
			Devices: devices, PerAddress: 5, Poll: 500 * time.Millisecond, Timeout: 300 * time.Millisecond,
			AckTimeout: 5 * time.Second, Rules: fleetRules,
		})
		m := &member{name: site.Config.Site + "/" + site.Config.Gateway, site: site, led: simsite.NewLedger(),
			logs: &simsite.LogTail{Max: 64 << 10}, done: make(chan error, 1)}
		members[i], byName[m.name] = m, m
	}
	var central *consumer
	for i, m := range members {
		m.chaos = simsite.NewChaos(m.site, simsite.ChaosOptions{Every: 200 * time.Millisecond, Riders: riders,
			Seed: uint64(time.Now().UnixNano()) + uint64(i), Ack: func(id string) error { return central.ack(m.name, id) }})
	}
	var err error
	central, err = newConsumer(broker.URL(), "jusha/v1", func(gw, alarmID string) {
		// The platform signs for about half the alarms; the others escalate.
		h := fnv.New32a()
		h.Write([]byte(alarmID))
		if m := byName[gw]; m != nil && h.Sum32()%2 == 0 {
			m.chaos.QueueAck(alarmID)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer central.close()
	simsUp := simsite.Measure()

	for _, m := range members {
		m.gw, err = gateway.New(m.site.Config, gateway.Options{Log: m.logs.Logger(slog.LevelWarn), Version: "fleet",
			DisableHTTP: true, DrainTimeout: 10 * time.Second, OnEvent: m.led.Add})
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	gwCtx, stopGWs := context.WithCancel(context.Background())
	defer stopGWs()
	for _, m := range members {
		go func() { m.done <- m.gw.Run(gwCtx) }()
	}
	defer func() {
		if t.Failed() {
			for _, m := range members {
				if s := m.logs.String(); s != "" {
					t.Logf("%s log tail:\n%s", m.name, tailOf(s, 3000))
				}
			}
		}
	}()
	waitAll(t, members, 60*time.Second, "gateway.started", func(m *member) bool {
		return central.view(m.name).Types["gateway.started"] > 0
	})
	for _, m := range members {
		if err := central.publish(m.name, "whitelist", m.site.Sign(t, m.site.Snapshot(1, riders, 0))); err != nil {
			t.Fatal(err)
		}
	}
	waitAll(t, members, 60*time.Second, "whitelist.applied", func(m *member) bool {
		return central.view(m.name).Types["whitelist.applied"] > 0
	})
	running := simsite.Measure()

	t.Logf("fleet: %d gateways x %d devices for %v", gateways, devices, dur)
	chaosCtx, stopChaos := context.WithTimeout(context.Background(), dur)
	defer stopChaos()
	cpu0, t0 := simsite.CPUTime(), time.Now()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() { defer wg.Done(); m.chaos.Run(chaosCtx) }()
	}
	wg.Wait()
	cpu, elapsed := simsite.CPUTime()-cpu0, time.Since(t0)
	loaded := simsite.Measure()

	// Quiet: each gateway's events all at the consumer, nothing new for 3 s.
	quiet := waitQuiet(members, central, 3*time.Second, 90*time.Second)
	stopGWs()
	for _, m := range members {
		select {
		case err := <-m.done:
			if err != nil {
				t.Errorf("%s: run: %v", m.name, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop within 30 s", m.name)
		}
	}
	waitAll(t, members, 10*time.Second, "the last events", func(m *member) bool { return central.count(m.name) >= m.led.Len() })

	total, lostTotal := 0, 0
	for _, m := range members {
		st := m.gw.Stats()
		appended := m.led.Seqs()
		v := central.view(m.name)
		total += len(appended)
		var lost []uint64
		for seq := range appended {
			if !v.Seqs[seq] {
				lost = append(lost, seq)
			}
		}
		lostTotal += len(lost)
		if len(lost) > 0 {
			t.Errorf("%s: %d of %d appended events never reached the central consumer (sequences %v)",
				m.name, len(lost), len(appended), lost[:min(len(lost), 10)])
		}
		if uint64(len(appended)) != st.LastSeq || st.AppendErrors > 0 {
			t.Errorf("%s: %d events appended, last sequence %d, %d append errors", m.name, len(appended), st.LastSeq, st.AppendErrors)
		}
		if len(v.Gaps) > 0 || v.Reorders > 0 {
			t.Errorf("%s: sequence gaps %v, %d out of order", m.name, v.Gaps, v.Reorders)
		}
		if v.Count < 3 {
			t.Errorf("%s: only %d events: its chaos did not reach the platform", m.name, v.Count)
		}
	}
	for _, p := range central.problems() {
		t.Errorf("central consumer: %s", p)
	}

	stopSims()
	for _, m := range members {
		m.site.Wait()
	}
	lat := central.latencies()
	n := uint64(gateways)
	perCore := float64(cpu) / float64(elapsed) / float64(gateways) * 100
	t.Logf("fleet summary (%d gateways x %d devices, %v of events, quiet before stop %v):", gateways, devices, elapsed.Round(time.Millisecond), quiet)
	t.Logf("  events appended %d, received %d distinct, LOST %d; %.0f events/s over the fleet", total, total-lostTotal, lostTotal, float64(total)/elapsed.Seconds())
	if len(lat) > 0 {
		t.Logf("  event time -> central consumer: p50 %v, p99 %v, max %v", lat[len(lat)/2].Round(time.Microsecond),
			lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	}
	t.Logf("  idle:                        %s", idle)
	t.Logf("  simulators + consumer:       %s", simsUp)
	t.Logf("  gateways running:            %s", running)
	t.Logf("  after the events:            %s", loaded)
	t.Logf("  per gateway: CPU %.2f%% of one core (process CPU %v over %v, simulators and consumer included: an upper bound)",
		perCore, cpu.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	t.Logf("  per gateway: heap %s at start, %s after load; RSS %s at start, %s after load (process deltas over the simulators, / %d)",
		perGW(running.HeapAlloc, simsUp.HeapAlloc, n), perGW(loaded.HeapAlloc, simsUp.HeapAlloc, n),
		perGW(running.RSS, simsUp.RSS, n), perGW(loaded.RSS, simsUp.RSS, n), n)
}

func perGW(v, base, n uint64) string {
	if v < base {
		return "0"
	}
	return fmt.Sprintf("%.2fMiB", float64(v-base)/float64(n)/(1<<20))
}

// waitAll waits until cond holds for every member, failing the test with
// those for which it does not after timeout.
func waitAll(t *testing.T, members []*member, timeout time.Duration, what string, cond func(*member) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var missing []string
		for _, m := range members {
			if !cond(m) {
				missing = append(missing, m.name)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen for %d gateways after %v: %v", what, len(missing), timeout, missing[:min(len(missing), 10)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitQuiet waits until the consumer has every event each gateway appended
// and no gateway appended anything for quiet; false on timeout.
func waitQuiet(members []*member, c *consumer, quiet, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) {
		total, behind := 0, false
		for _, m := range members {
			n := m.led.Len()
			total += n
			behind = behind || c.count(m.name) < n
		}
		if total != last {
			last, since = total, time.Now()
		}
		if !behind && time.Since(since) >= quiet {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
