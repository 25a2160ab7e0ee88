package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

// publisher is the platform side sending commands.
func publisher(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("platform-cmd"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func send(t *testing.T, c mqtt.Client, topic string, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func TestCommandsAlwaysAnswered(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	replies := subscribe(t, b.URL(), "platform-replies", testPrefix+"/reply", false)
	ob := openOutbox(t, "")
	u, err := New(testConfig(b.URL()), ob, nil, WithBackoff(100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	u.Handle("ack", func(_ context.Context, p []byte) (string, error) {
		var a struct{ ID, By string }
		if err := json.Unmarshal(p, &a); err != nil {
			return "", err
		}
		acked = append(acked, a.ID) // handlers run one at a time
		return "", nil
	})
	u.Handle("whitelist", func(context.Context, []byte) (string, error) {
		return "wl-42", errors.New("signature does not verify")
	})
	u.Handle("open", func(context.Context, []byte) (string, error) { panic("bug in a handler") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, 10*time.Second, "connected", u.Connected)

	big := `{"id":"big","x":"` + strings.Repeat("a", MaxCommandBytes) + `"}`
	tests := []struct {
		name    string
		topic   string
		payload string
		want    Reply
	}{
		{"ack", "ack", `{"id":"01JDX3ALARM","by":"ops-7","time":"2026-11-27T10:00:01.000Z"}`, Reply{ID: "01JDX3ALARM", OK: true}},
		{"malformed JSON", "ack", `{"id":"x",`, Reply{Error: "malformed JSON"}},
		{"oversized", "ack", big, Reply{Error: "payload larger than 1048576 bytes: 1048595 bytes"}},
		{"unknown command", "reboot", `{"id":"r1"}`, Reply{ID: "r1", Error: `unknown command "reboot"`}},
		{"nested unknown", "ack/extra", `{"id":"n1"}`, Reply{ID: "n1", Error: `unknown command "ack/extra"`}},
		{"handler error with its id", "whitelist", `{"key_id":"central-2026","payload":"e30=","sig":"AA=="}`, Reply{ID: "wl-42", Error: "signature does not verify"}},
		{"panicking handler", "open", `{"id":"o1","device":"door-a1-lobby","expires_at":"2026-11-27T10:01:00Z","by":"ops"}`, Reply{ID: "o1", Error: "command open failed: internal error"}},
	}
	pub := publisher(t, b.URL())
	for _, tt := range tests {
		send(t, pub, testPrefix+"/cmd/"+tt.topic, []byte(tt.payload))
	}
	eventually(t, 10*time.Second, "every reply", func() bool { return len(replies.all()) >= len(tests) })
	got := replies.all()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reply
			if err := json.Unmarshal(got[i].Payload, &r); err != nil {
				t.Fatal(err)
			}
			if r != tt.want {
				t.Fatalf("reply %+v, want %+v", r, tt.want)
			}
			validate(t, "reply.schema.json", got[i].Payload)
		})
	}
	if len(acked) != 1 || acked[0] != "01JDX3ALARM" {
		t.Errorf("ack handler saw %v", acked)
	}
	s := u.Stats()
	if s.Commands != uint64(len(tests)) || s.CommandErrors != uint64(len(tests)-1) {
		t.Errorf("stats %+v", s)
	}
}

func TestSlowHandlerNeverBlocksTheLink(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	replies := subscribe(t, b.URL(), "platform-replies", testPrefix+"/reply", false)
	evs := subscribe(t, b.URL(), "platform-events", testPrefix+"/events/#", false)
	ob := openOutbox(t, "")
	u, err := New(testConfig(b.URL()), ob, nil)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	u.Handle("slow", func(ctx context.Context, _ []byte) (string, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "", nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, 10*time.Second, "connected", u.Connected)

	pub := publisher(t, b.URL())
	const n = CommandQueue + 50
	for i := 0; i < n; i++ {
		send(t, pub, testPrefix+"/cmd/slow", []byte(`{"id":"s`+itoa(i)+`"}`))
	}
	// The handler is stuck; events still flow and overflow is answered.
	appendN(t, ob, 5, "door.forced_open", events.High)
	eventually(t, 10*time.Second, "events despite a stuck handler", func() bool { return len(evs.events(t)) == 5 })
	eventually(t, 10*time.Second, "busy replies", func() bool { return u.Stats().CommandsDropped > 0 && len(replies.all()) > 0 })
	for _, m := range replies.all() {
		if !strings.Contains(string(m.Payload), "busy") {
			t.Fatalf("unexpected reply while stuck: %s", m.Payload)
		}
	}
	close(release)
	eventually(t, 20*time.Second, "a reply to every command", func() bool { return len(replies.all()) == n })
}
