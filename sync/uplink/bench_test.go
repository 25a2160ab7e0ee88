package uplink

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/sync/outbox"
)

// benchAppenders is how many goroutines append at once in the durable
// benchmark: events raised concurrently share one fsync.
const benchAppenders = 512

func benchEvent() events.Event {
	e := events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord)
	e.Data = map[string]any{"credential_type": "qr", "rider": "rider-8812", "reason": "whitelist", "location": "Block A1 lobby"}
	return e
}

func benchOutbox(b *testing.B) *outbox.Outbox {
	b.Helper()
	ob, err := outbox.Open(filepath.Join(b.TempDir(), "outbox.db"), outbox.Options{Source: "/jusha/" + testSite + "/" + testGateway, MaxBytes: 4 << 30})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ob.Close() })
	return ob
}

func benchUplink(b *testing.B, url string, ob *outbox.Outbox) func() {
	b.Helper()
	u, err := New(testConfig(url), ob, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = u.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !u.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return func() { cancel(); <-done }
}

func waitDrained(b *testing.B, ob *outbox.Outbox, acked uint64) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for ob.Stats().Acked < acked || ob.Stats().Depth > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("not drained: %+v", ob.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPublish compares, in one run against one Mosquitto, events made
// durable in the outbox and delivered with their PUBACK against a plain paho
// client publishing the same payloads at QoS 1 with no persistence.
func BenchmarkPublish(b *testing.B) {
	broker := testbed.Mosquitto(b, testbed.MosquittoOptions{})
	payload, err := json.Marshal(benchEvent())
	if err != nil {
		b.Fatal(err)
	}

	b.Run("plain-paho-qos1", func(b *testing.B) {
		b.ReportMetric(plainPublish(b, broker.URL(), payload, b.N), "events/s")
	})

	for _, appenders := range []int{benchAppenders, 4 * benchAppenders} {
		b.Run("durable-outbox-uplink/appenders="+itoa(appenders), func(b *testing.B) {
			benchDurable(b, broker.URL(), appenders)
		})
	}
}

// benchDurable appends b.N events from appenders goroutines while the
// uplink delivers them, and stops the clock when the last is acknowledged.
func benchDurable(b *testing.B, url string, appenders int) {
	{
		ob := benchOutbox(b)
		stop := benchUplink(b, url, ob)
		defer stop()
		ev := benchEvent()
		var next atomic.Int64
		b.ResetTimer()
		var wg sync.WaitGroup
		for w := 0; w < appenders; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if _, err := ob.Append(context.Background(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		appended := b.Elapsed()
		waitDrained(b, ob, uint64(b.N))
		b.StopTimer()
		st := ob.Stats()
		b.ReportMetric(appended.Seconds()/b.Elapsed().Seconds(), "append-share")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(st.Appended)/float64(max(st.Commits, 1)), "events/fsync")
	}
}

// plainPublish publishes n payloads with a plain paho client at QoS 1, up
// to DefaultWindow awaiting their PUBACK, and returns the rate per second.
func plainPublish(b *testing.B, url string, payload []byte, n int) float64 {
	b.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("bench-plain"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	window := make(chan mqtt.Token, DefaultWindow)
	var failed atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for tok := range window {
			tok.Wait()
			if tok.Error() != nil {
				failed.Add(1)
			}
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		window <- c.Publish(testPrefix+"/events/access", 1, false, payload)
	}
	close(window)
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	if failed.Load() > 0 {
		b.Fatalf("%d publishes failed", failed.Load())
	}
	return rate
}

// BenchmarkBacklogDrain measures how fast a backlog of b.N events (made
// while the broker was away) drains once the link is up. Run it with
// -benchtime=1000000x for the 1,000,000-event figure.
func BenchmarkBacklogDrain(b *testing.B) {
	broker := testbed.Mosquitto(b, testbed.MosquittoOptions{})
	ob := benchOutbox(b)
	ev := benchEvent()
	var next atomic.Int64
	var wg sync.WaitGroup
	fill := time.Now()
	for w := 0; w < benchAppenders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := ob.Append(context.Background(), ev); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	appendRate := float64(b.N) / time.Since(fill).Seconds()
	payload, err := json.Marshal(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	plain := plainPublish(b, broker.URL(), payload, b.N) // same run, same broker
	b.ResetTimer()
	stop := benchUplink(b, broker.URL(), ob)
	defer stop()
	waitDrained(b, ob, uint64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "drained/s")
	b.ReportMetric(appendRate, "appended/s")
	b.ReportMetric(plain, "plain-qos1/s")
}
