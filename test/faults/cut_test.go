package faults_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// postDenials makes n access decisions through the local API (unknown QR
// codes at door), with a few clients at once; each answer comes only once
// its event is durable in the outbox.
func (s *site) postDenials(t *testing.T, door string, n int) {
	t.Helper()
	addr := s.gw.HTTPAddr(5 * time.Second)
	if addr == "" {
		t.Fatal("the local API does not listen")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var failed atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				body := fmt.Sprintf(`{"device":%q,"type":"qr","value":"%d"}`, door, 90000000+i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/access", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.token)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d access API calls failed", f, n)
	}
}

// TestUplinkCutMidDrain: a backlog of a thousand decisions is held while
// the broker cannot be reached; the link comes back and is cut again while
// the backlog drains (hundreds of events in flight, some PUBACKs lost),
// then comes back for good. The platform, subscribed all along, gets every
// event in order; what was in flight at the cut may come twice.
func TestUplinkCutMidDrain(t *testing.T) {
	t.Parallel()
	fp := newFaultPort(t, "")
	s := newSite(t, siteOptions{kinds: []string{configs.KindDoor}, upstreamBroker: fp.URL(), api: true})
	fp.target = s.broker.Addr
	fp.set(portForward)
	s.start()
	s.waitStarted()

	fp.set(portClosed)
	t0 := time.Now()
	const n = 1000
	s.postDenials(t, s.ids[0], n)
	held := s.gw.Stats()
	t.Logf("%d decisions through the API in %v with the broker unreachable; outbox depth %d",
		n, time.Since(t0).Round(time.Millisecond), held.OutboxDepth)
	if held.OutboxDepth < n {
		t.Errorf("outbox holds %d events after %d decisions with the broker unreachable", held.OutboxDepth, n)
	}

	fp.set(portForward)
	start := len(s.plat.Events())
	if !waitFor(60*time.Second, func() bool { return len(s.plat.Events()) > start+50 }) {
		t.Fatalf("nothing delivered within 60 s of the link coming back: %+v", s.gw.Stats())
	}
	fp.set(portClosed)
	atCut, depthAtCut := len(s.plat.Events()), s.gw.Stats().OutboxDepth
	t.Logf("link cut with %d of %d events at the platform, outbox depth %d", atCut, held.LastSeq, depthAtCut)
	time.Sleep(500 * time.Millisecond)
	fp.set(portForward)
	back := time.Now()
	if !waitFor(45*time.Second, func() bool {
		st := s.gw.Stats()
		return st.OutboxDepth == 0 && uint64(len(s.plat.Events())) >= st.LastSeq
	}) {
		t.Fatalf("not delivered 45 s after the link came back: stats %+v, platform has %d", s.gw.Stats(), len(s.plat.Events()))
	}
	t.Logf("delivered %v after the link came back", time.Since(back).Round(time.Millisecond))
	checkInOrder(t, s.plat, s.gw.Stats().LastSeq)
}
