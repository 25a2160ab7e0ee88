package uplink

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

// checkStream checks what the platform received: sequences from 1 without
// gaps, new ones in order, a duplicate only within maxBack of the highest
// seen so far. It returns the highest sequence and the duplicates count.
func checkStream(t *testing.T, got []events.Event, maxBack uint64) (uint64, int) {
	t.Helper()
	var high uint64
	dups := 0
	for i, e := range got {
		s := seqOf(t, e)
		switch {
		case s == high+1:
			high = s
		case s <= high:
			dups++
			if high-s >= maxBack {
				t.Fatalf("message %d: sequence %d resent after %d: beyond the window", i, s, high)
			}
		default:
			t.Fatalf("message %d: sequence %d after %d: a gap or out of order", i, s, high)
		}
	}
	return high, dups
}

// TestBrokerOutage stops the broker for 30 s while events flow at 100/s;
// after its restart every event arrives, in order.
func TestBrokerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 40 s")
	}
	b := mosquitto(t, testbed.MosquittoOptions{Persistence: true})
	sub := subscribe(t, b.URL(), "platform-outage", testPrefix+"/events/#", true)
	ob := openOutbox(t, "")
	u := startUplink(t, testConfig(b.URL()), ob, nil, WithBackoff(200*time.Millisecond, 2*time.Second))
	eventually(t, 10*time.Second, "connected", u.Connected)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var appended []uint64
	var appendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond) // 100 events/s
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			e, err := ob.Append(context.Background(), events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord))
			mu.Lock()
			if err != nil {
				appendErr = err
				mu.Unlock()
				return
			}
			appended = append(appended, seqOf(t, e))
			mu.Unlock()
		}
	}()
	time.Sleep(2 * time.Second)
	b.Stop()
	eventually(t, 10*time.Second, "the link to notice", func() bool { return !u.Connected() })
	mu.Lock()
	atStop := len(appended)
	mu.Unlock()
	time.Sleep(30 * time.Second)
	// Everything appended while the broker was away is held. (How many
	// that is depends on how fast this machine appends, not on the link.)
	mu.Lock()
	during := len(appended) - atStop
	mu.Unlock()
	if d := ob.Stats().Depth; during == 0 || d < during {
		t.Errorf("%d events held after %d were appended during the outage", d, during)
	}
	b.Restart()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if appendErr != nil {
		t.Fatalf("append: %v", appendErr)
	}
	n := uint64(len(appended))
	eventually(t, 30*time.Second, "the backlog to drain", func() bool {
		return ob.Stats().Depth == 0 && uniqueSeqs(t, sub.events(t)) >= int(n)
	})
	high, dups := checkStream(t, sub.events(t), uint64(DefaultWindow)+ackBatch)
	if high != n {
		t.Fatalf("highest sequence %d, appended %d", high, n)
	}
	s := u.Stats()
	if s.Reconnects == 0 || s.ConnectFailures == 0 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("%d events, %d duplicates, %d reconnects, %d failed connects", n, dups, s.Reconnects, s.ConnectFailures)
}

func uniqueSeqs(t *testing.T, evs []events.Event) int {
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Sequence] = true
	}
	return len(seen)
}

// TestFullOutboxDeliversEveryAlarm floods a small outbox with info events
// while the broker is away, then raises alarms: all of them, and the
// pressure event, reach the platform; the evictions are counted.
func TestFullOutboxDeliversEveryAlarm(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	sub := subscribe(t, b.URL(), "platform", testPrefix+"/events/#", false)
	ob, err := openSmall(t, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				if _, err := ob.Append(context.Background(), events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord)); err != nil {
					t.Errorf("append info: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	alarms := appendN(t, ob, 40, "elevator.trapped", events.Critical)
	st := ob.Stats()
	if st.Evictions == 0 || !st.Pressure {
		t.Fatalf("outbox stats %+v", st)
	}
	startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 20*time.Second, "drained", func() bool { return ob.Stats().Depth == 0 })
	// Acknowledged by the broker is not yet delivered to the subscriber.
	eventually(t, 10*time.Second, "every alarm at the platform", func() bool {
		seen := map[string]bool{}
		for _, e := range sub.events(t) {
			seen[e.ID] = true
		}
		for _, a := range alarms {
			if !seen[a.ID] {
				return false
			}
		}
		return true
	})
	got := map[string]events.Event{}
	pressure := 0
	for _, e := range sub.events(t) {
		got[e.ID] = e
		if e.Type == "gateway.outbox_pressure" && e.Phase == events.Raised {
			pressure++
			validate(t, "event.schema.json", mustJSON(t, e))
		}
	}
	for _, a := range alarms {
		if _, ok := got[a.ID]; !ok {
			t.Fatalf("alarm %s lost", a.Sequence)
		}
	}
	if pressure != 1 {
		t.Fatalf("%d pressure events received", pressure)
	}
	t.Logf("delivered %d of %d appended; %d evicted", len(got), st.LastSeq, st.Evictions)
}
