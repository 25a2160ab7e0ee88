package faults_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
)

// decideDenied presents n unknown credentials at door, one at a time, and
// checks that each is decided and its event stored (Appended grows),
// whatever the state of the uplink.
func (s *site) decideDenied(t *testing.T, door string, n int) {
	t.Helper()
	for i := range n {
		before := s.gw.Stats().Appended
		if err := s.sims[door].Present(strconv.Itoa(70000000 + i)); err != nil {
			t.Fatal(err)
		}
		if !waitFor(5*time.Second, func() bool { return s.gw.Stats().Appended > before }) {
			t.Fatalf("credential %d at %s: no decision stored within 5 s (stats %+v)", i, door, s.gw.Stats())
		}
	}
}

// TestBrokerRestart stops the broker while the gateway runs, keeps the site
// busy, and starts the broker again on the same port: the outbox holds what
// was decided meanwhile, and every event arrives once the link is back,
// sequences 1..N in order. The subscriber keeps a persistent session at a
// broker with persistence, so that it misses nothing across the restart.
func TestBrokerRestart(t *testing.T) {
	t.Parallel()
	s := newSite(t, siteOptions{
		kinds:      []string{configs.KindDoor, configs.KindGate},
		mosquitto:  testbed.MosquittoOptions{Persistence: true},
		noPlatform: true,
	})
	col := newCollector(t, s.broker.URL(), s.cfg.Prefix())
	s.start()
	if !waitFor(15*time.Second, func() bool { return col.count() >= 1 }) {
		t.Fatal("no event at the collector")
	}
	s.waitPolled(15 * time.Second)
	door := s.ids[0]
	s.decideDenied(t, door, 2)
	if !waitFor(10*time.Second, func() bool { return s.gw.Stats().OutboxDepth == 0 }) {
		t.Fatalf("outbox not drained with the broker up: %+v", s.gw.Stats())
	}

	s.broker.Stop()
	down := time.Now()
	polls0 := s.devices()[s.ids[1]].Polls
	s.decideDenied(t, door, 6)
	before := s.gw.Stats().Appended
	if err := s.sims[door].Force(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return s.gw.Stats().Appended > before }) {
		t.Fatal("forced door not raised with the broker down")
	}
	time.Sleep(2 * time.Second)
	held := s.gw.Stats()
	if held.OutboxDepth < 7 {
		t.Errorf("outbox holds %d events after 7 were raised with the broker down", held.OutboxDepth)
	}
	if polls := s.devices()[s.ids[1]].Polls - polls0; polls < 10 {
		t.Errorf("the gate was polled %d times in %v with the broker down", polls, time.Since(down).Round(time.Millisecond))
	}
	t.Logf("broker down %v: outbox depth %d, last sequence %d",
		time.Since(down).Round(time.Millisecond), held.OutboxDepth, held.LastSeq)

	s.broker.Restart()
	up := time.Now()
	if !waitFor(40*time.Second, func() bool {
		st := s.gw.Stats()
		return st.OutboxDepth == 0 && uint64(col.count()) >= st.LastSeq
	}) {
		t.Fatalf("not delivered 40 s after the broker came back: stats %+v, collector has %d: %v",
			s.gw.Stats(), col.count(), col.types())
	}
	t.Logf("outbox drained %v after the broker came back", time.Since(up).Round(time.Millisecond))
	last := s.gw.Stats().LastSeq
	s.stopGW()
	// The gateway's last events (none expected on stop) would follow: check
	// what it had stored when drained.
	dups, err := col.check(max(last, uint64(col.count())))
	if err != nil {
		t.Error(err)
	}
	t.Logf("collector: %d distinct events, %d duplicates (at least once)", col.count(), dups)
}

// brokerOutage runs a site whose uplink points at a faultPort that goes
// through phases, keeps the site deciding meanwhile, then lets the real broker answer on that
// port and checks that every event is delivered in order. It returns the
// times of the uplink's failed connects and of the connections accepted
// during the outage.
func brokerOutage(t *testing.T, phases []outagePhase) (failed, accepted []time.Time) {
	fp := newFaultPort(t, "")
	s := newSite(t, siteOptions{kinds: []string{configs.KindDoor, configs.KindGate}, upstreamBroker: fp.URL()})
	fp.target = s.broker.Addr
	fp.set(phases[0].mode)
	start := time.Now()
	s.start()
	s.waitPolled(15 * time.Second)
	door, gate := s.ids[0], s.ids[1]
	depth0 := s.gw.Stats().OutboxDepth
	polls0 := s.devices()[gate].Polls
	decided := 0
	for _, ph := range phases {
		fp.set(ph.mode)
		end := time.Now().Add(ph.hold)
		s.decideDenied(t, door, 2)
		decided += 2
		time.Sleep(time.Until(end))
	}
	outage := time.Since(start)
	st := s.gw.Stats()
	if st.OutboxDepth < depth0+decided {
		t.Errorf("outbox holds %d events after %d decisions with no broker (was %d)", st.OutboxDepth, decided, depth0)
	}
	if polls := s.devices()[gate].Polls - polls0; polls < 20 {
		t.Errorf("the gate was polled %d times in %v of outage", polls, outage.Round(time.Millisecond))
	}
	for _, ln := range s.logs.Matching("connect failed") {
		failed = append(failed, ln.at)
	}
	accepted = fp.accepted()
	t.Logf("outage %v: outbox depth %d, %d failed connects, %d connections accepted", outage.Round(time.Millisecond),
		st.OutboxDepth, len(failed), len(accepted))

	fp.set(portForward)
	back := time.Now()
	if !waitFor(45*time.Second, func() bool {
		st := s.gw.Stats()
		return st.OutboxDepth == 0 && uint64(len(s.plat.Events())) >= st.LastSeq
	}) {
		t.Fatalf("not delivered 45 s after the broker came back: stats %+v, platform has %v", s.gw.Stats(), s.eventsOf(0))
	}
	t.Logf("delivered %v after the broker came back", time.Since(back).Round(time.Millisecond))
	checkInOrder(t, s.plat, s.gw.Stats().LastSeq)
	return failed, accepted
}

// outagePhase is one stretch of an outage: the port behaves as mode for hold.
type outagePhase struct {
	mode portMode
	hold time.Duration
}

// checkInOrder checks that the platform got events 1..last, each once, in
// order.
func checkInOrder(t *testing.T, p *platform.Platform, last uint64) {
	t.Helper()
	evs := p.Events()
	for i, e := range evs {
		if want := fmt.Sprintf("%020d", i+1); e.Event.Sequence != want {
			t.Errorf("event %d (%s) has sequence %s, want %s", i, e.Event.Type, e.Event.Sequence, want)
			break
		}
	}
	if uint64(len(evs)) != last {
		t.Errorf("platform has %d events, the gateway stored %d", len(evs), last)
	}
	dups, gaps, reorders := p.Stats()
	if len(gaps) > 0 || reorders > 0 {
		t.Errorf("sequence gaps %v, out of order %d", gaps, reorders)
	}
	t.Logf("platform: %d events in order, %d duplicates dropped", len(evs), dups)
}

// checkBackoff checks that connect attempts are spaced out: a handful over
// the outage, never closer than the minimum backoff, and the gaps growing
// (within jitter).
func checkBackoff(t *testing.T, attempts []time.Time, maxAttempts int) {
	t.Helper()
	var gaps []string
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].Sub(attempts[i-1])
		gaps = append(gaps, gap.Round(10*time.Millisecond).String())
		if gap < 900*time.Millisecond {
			t.Errorf("connect attempts %d and %d only %v apart", i, i+1, gap)
		}
		if i >= 2 {
			prev := attempts[i-1].Sub(attempts[i-2])
			if gap < prev*9/10 {
				t.Errorf("backoff shrank: gap %v after %v", gap, prev)
			}
		}
	}
	t.Logf("%d connect attempts, gaps %v", len(attempts), gaps)
	if len(attempts) == 0 || len(attempts) > maxAttempts {
		t.Errorf("%d connect attempts, want 1 to %d", len(attempts), maxAttempts)
	}
}

// TestBrokerRefusesConnection: first nothing listens on the broker's port,
// then a listener accepts and closes each connection at once. The gateway
// keeps polling and deciding, the outbox grows, and reconnects back off: a
// handful of attempts in 12 s, not hundreds. Then the broker answers on
// that port and everything arrives in order.
func TestBrokerRefusesConnection(t *testing.T) {
	t.Parallel()
	failed, accepted := brokerOutage(t, []outagePhase{{portClosed, 4 * time.Second}, {portReset, 8 * time.Second}})
	checkBackoff(t, failed, 8)
	if n := len(clusters(accepted)); n > len(failed) {
		t.Errorf("%d connect attempts reached the listener, but only %d connects failed", n, len(failed))
	}
}

// clusters groups connections accepted less than 500 ms apart into one
// attempt: paho opens a second connection at once when a 3.1.1 handshake
// fails, to try MQTT 3.1 (see TestUplinkSpeaksMQTT311AfterRefusal). It
// returns the time of each attempt's first connection.
func clusters(accepts []time.Time) []time.Time {
	var out []time.Time
	for i, a := range accepts {
		if i == 0 || a.Sub(accepts[i-1]) >= 500*time.Millisecond {
			out = append(out, a)
		}
	}
	return out
}

// TestBrokerNeverAnswers: the broker's port accepts TCP and never sends a
// CONNACK for 12 s. The gateway waits out its connect timeout instead of
// hammering the port, keeps deciding, and delivers everything once a real
// broker answers on that port.
func TestBrokerNeverAnswers(t *testing.T) {
	t.Parallel()
	_, accepted := brokerOutage(t, []outagePhase{{portSilent, 12 * time.Second}})
	var gaps []string
	for i := 1; i < len(accepted); i++ {
		gaps = append(gaps, accepted[i].Sub(accepted[i-1]).Round(10*time.Millisecond).String())
	}
	t.Logf("%d connections accepted in 12 s of silence, gaps %v", len(accepted), gaps)
	// One attempt waits out the 10 s connect timeout (paho's 3.1 retry
	// follows it at once), then one more after the backoff.
	if len(accepted) == 0 || len(accepted) > 4 {
		t.Errorf("%d connections in 12 s to a broker that never answers, want 1 to 4", len(accepted))
	}
	if len(accepted) >= 2 && accepted[1].Sub(accepted[0]) < 5*time.Second {
		t.Errorf("a second connection %v after the first: the uplink did not wait for its CONNACK",
			accepted[1].Sub(accepted[0]).Round(time.Millisecond))
	}
}
