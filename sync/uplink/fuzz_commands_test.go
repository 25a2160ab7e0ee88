package uplink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/broker"
	"github.com/jusha-ean/edge/sync/outbox"
	"github.com/jusha-ean/edge/sync/uplink"
)

// cmdRig is a running uplink on an embedded broker, with a platform client
// that sends commands and reads the replies.
type cmdRig struct {
	up      *uplink.Uplink
	plat    mqtt.Client
	replies chan uplink.Reply
	bad     chan []byte // replies that are not Reply JSON

	mu    sync.Mutex
	calls [][]byte // payloads the "echo" handler received
}

func (r *cmdRig) took() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// command names the fuzzer picks from: a handler that succeeds, one that
// fails, one that panics, and names nobody handles.
var cmdNames = []string{"echo", "fail", "panic", "nope", "echo/sub", "ECHO"}

const failMessage = "refused by the test handler"

func startCmdRig(f *testing.F) *cmdRig {
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	b, err := broker.Start(ctx, "127.0.0.1:0", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = b.Close() })
	cfg := &configs.Config{Site: "wannan", Gateway: "gw-fuzz",
		Upstream: configs.Upstream{Brokers: []string{b.URL()}, TopicPrefix: "jusha/v1"}}
	ob, err := outbox.Open(filepath.Join(f.TempDir(), "outbox.db"), outbox.Options{Source: "/jusha/wannan/gw-fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = ob.Close() })
	up, err := uplink.New(cfg, ob, slog.New(slog.NewTextHandler(io.Discard, nil)), uplink.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		f.Fatal(err)
	}
	r := &cmdRig{up: up, replies: make(chan uplink.Reply, 64), bad: make(chan []byte, 64)}
	up.Handle("echo", func(_ context.Context, p []byte) (string, error) {
		r.mu.Lock()
		r.calls = append(r.calls, append([]byte(nil), p...))
		r.mu.Unlock()
		return "", nil
	})
	up.Handle("fail", func(context.Context, []byte) (string, error) { return "", errors.New(failMessage) })
	up.Handle("panic", func(context.Context, []byte) (string, error) { panic("handler bug") })
	done := make(chan struct{})
	go func() { defer close(done); _ = up.Run(ctx) }()
	f.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
		}
	})
	o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("platform-fuzz").SetOrderMatters(true)
	r.plat = mqtt.NewClient(o)
	if tok := r.plat.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		f.Fatalf("platform connect: %v", tok.Error())
	}
	f.Cleanup(func() { r.plat.Disconnect(100) })
	tok := r.plat.Subscribe(up.Prefix()+"/reply", 1, func(_ mqtt.Client, m mqtt.Message) {
		var rep uplink.Reply
		if err := json.Unmarshal(m.Payload(), &rep); err != nil {
			r.bad <- append([]byte(nil), m.Payload()...)
			return
		}
		r.replies <- rep
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		f.Fatalf("subscribe replies: %v", tok.Error())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !up.Connected() {
		if time.Now().After(deadline) {
			f.Fatal("the uplink did not connect to the embedded broker")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r
}

// FuzzCommands sends arbitrary payloads on P/cmd/{name} through a real
// broker to a running uplink. Every command must get exactly one reply on
// P/reply, within a bound; a payload that is not JSON, is over
// MaxCommandBytes or names no handler is answered with an error that says
// so and never reaches a handler; a handler's error or panic is answered,
// not fatal; the "echo" handler receives the exact bytes sent, once.
func FuzzCommands(f *testing.F) {
	for i, s := range []string{
		`{"id":"alarm-1","by":"operator-7","time":"2026-11-27T10:00:00Z"}`,
		`{"key_id":"central-2026","payload":"e30=","sig":"AA=="}`,
		`{"id":42}`, `{"id":["x"]}`, `{"id":"a","id":"b"}`, `{"ID":"upper"}`,
		`[]`, `null`, `"str"`, `{`, ``, "\xff\xfe", `{"id":"x"} trailing`,
	} {
		f.Add(uint8(i), uint8(0), []byte(s))
	}
	f.Add(uint8(0), uint8(255), []byte(`{"id":"huge"}`))
	f.Add(uint8(3), uint8(255), []byte(`{"id":"huge"}`))
	r := startCmdRig(f)
	f.Fuzz(func(t *testing.T, name, size uint8, payload []byte) {
		n := cmdNames[int(name)%len(cmdNames)]
		if size == 255 {
			// Over the limit: padding after the JSON keeps it valid JSON.
			payload = append(payload, bytes.Repeat([]byte(" "), uplink.MaxCommandBytes+1-len(payload))...)
		}
		if len(payload) > uplink.MaxCommandBytes+1 {
			t.Skip("bounded input")
		}
		select {
		case extra := <-r.replies:
			t.Fatalf("a reply nobody asked for: %+v", extra)
		default:
		}
		before := r.up.Stats().Commands
		tok := r.plat.Publish(r.up.Prefix()+"/cmd/"+n, 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		var rep uplink.Reply
		select {
		case rep = <-r.replies:
		case b := <-r.bad:
			t.Fatalf("reply is not JSON: %q", b)
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply within 10 s to %s %q", n, payload)
		}
		if got := r.up.Stats().Commands; got != before+1 {
			t.Fatalf("commands counted %d -> %d", before, got)
		}
		calls := r.took()
		tooBig := len(payload) > uplink.MaxCommandBytes
		valid := !tooBig && json.Valid(payload)
		var want string // a substring of the expected error; "" means OK
		switch {
		case tooBig:
			want = "payload larger than"
		case !valid:
			want = uplink.ErrMalformed.Error()
		case n == "echo":
		case n == "fail":
			want = failMessage
		case n == "panic":
			want = "internal error"
		default:
			want = uplink.ErrUnknownCommand.Error()
		}
		if want == "" {
			if !rep.OK || rep.Error != "" {
				t.Fatalf("echo answered %+v", rep)
			}
			if len(calls) != 1 || !bytes.Equal(calls[0], payload) {
				t.Fatalf("echo handler got %d calls, want the exact payload once", len(calls))
			}
		} else {
			if rep.OK || !strings.Contains(rep.Error, want) {
				t.Fatalf("%s %q answered %+v, want an error containing %q", n, trunc(payload), rep, want)
			}
			if len(calls) != 0 {
				t.Fatalf("refused command reached the handler")
			}
		}
		var head struct {
			ID *string `json:"id"`
		}
		if valid && json.Unmarshal(payload, &head) == nil && head.ID != nil && rep.ID != *head.ID {
			t.Fatalf("reply id %q, command id %q", rep.ID, *head.ID)
		}
	})
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
