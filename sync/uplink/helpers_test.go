package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/sync/outbox"
)

const (
	testSite    = "wannan"
	testGateway = "gw-01"
	testPrefix  = "jusha/v1/wannan/gw-01"
)

func testConfig(brokers ...string) *configs.Config {
	return &configs.Config{
		Site:    testSite,
		Gateway: testGateway,
		Upstream: configs.Upstream{
			Brokers:     brokers,
			TopicPrefix: "jusha/v1",
		},
	}
}

func openOutbox(t *testing.T, path string) *outbox.Outbox {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "outbox.db")
	}
	ob, err := outbox.Open(path, outbox.Options{Source: "/jusha/" + testSite + "/" + testGateway, MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ob.Close() })
	return ob
}

func testLogger(t *testing.T) (*slog.Logger, *testbed.Buffer) {
	buf := &testbed.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// running is an uplink started by a test.
type running struct {
	*Uplink
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error
}

// stop ends Run and waits for it.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("run: %v", r.err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("run did not return")
	}
}

func startUplink(t *testing.T, cfg *configs.Config, ob *outbox.Outbox, log *slog.Logger, opts ...Option) *running {
	t.Helper()
	if log == nil {
		log, _ = testLogger(t)
	}
	opts = append([]Option{WithBackoff(100*time.Millisecond, time.Second)}, opts...)
	u, err := New(cfg, ob, log, opts...)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Uplink: u, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = u.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
		}
	})
	return r
}

// message is one MQTT message a test subscriber received.
type message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// subscriber is a plain paho client collecting what it receives.
type subscriber struct {
	c    mqtt.Client
	mu   sync.Mutex
	msgs []message
}

// subscribe connects a collector to url and subscribes filter at QoS 1.
// persistent keeps its session across a broker restart (with persistence).
func subscribe(t *testing.T, url, clientID, filter string, persistent bool) *subscriber {
	t.Helper()
	s := &subscriber{}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained()})
		s.mu.Unlock()
	}
	subscribed := make(chan mqtt.Token, 1)
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetCleanSession(!persistent).SetAutoReconnect(true).SetMaxReconnectInterval(500 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetOrderMatters(true).SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(filter, 1, handler) // again after every reconnect
			select {
			case subscribed <- tok:
			default:
			}
		})
	s.c = mqtt.NewClient(o)
	tok := s.c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	select {
	case st := <-subscribed:
		if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
			t.Fatalf("subscribe %s: %v", filter, st.Error())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("subscribe %s: not done", filter)
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

func (s *subscriber) all() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message(nil), s.msgs...)
}

// events returns the events received on P/events/#, in arrival order.
func (s *subscriber) events(t *testing.T) []events.Event {
	t.Helper()
	var out []events.Event
	for _, m := range s.all() {
		if !bytes.Contains([]byte(m.Topic), []byte("/events/")) {
			continue
		}
		var e events.Event
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatalf("event on %s: %v", m.Topic, err)
		}
		out = append(out, e)
	}
	return out
}

// on returns the messages received on topic.
func (s *subscriber) on(topic string) []message {
	var out []message
	for _, m := range s.all() {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func appendN(t *testing.T, ob *outbox.Outbox, n int, typ string, sev events.Severity) []events.Event {
	t.Helper()
	out := make([]events.Event, 0, n)
	for i := 0; i < n; i++ {
		e := events.New(typ, "door-a1-lobby", time.Now(), sev, events.RoutePolice)
		e.Data = map[string]any{"n": i}
		stored, err := ob.Append(context.Background(), e)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		out = append(out, stored)
	}
	return out
}

func seqOf(t *testing.T, e events.Event) uint64 {
	t.Helper()
	s, err := outbox.ParseSeq(e.Sequence)
	if err != nil {
		t.Fatalf("event %s: %v", e.ID, err)
	}
	return s
}

func mosquitto(t *testing.T, opts testbed.MosquittoOptions) *testbed.Broker {
	t.Helper()
	return testbed.Mosquitto(t, opts)
}

func itoa(n int) string { return fmt.Sprint(n) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func openSmall(t *testing.T, maxBytes int64) (*outbox.Outbox, error) {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Source: "/jusha/" + testSite + "/" + testGateway, MaxBytes: maxBytes})
	if err == nil {
		t.Cleanup(func() { _ = ob.Close() })
	}
	return ob, err
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
