package gateway_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
)

// rig is one gateway on real parts: Mosquitto, simulated controllers on
// Modbus TCP, and a stand-in platform subscribed to the gateway's topics.
type rig struct {
	t      *testing.T
	dir    string
	cfg    *configs.Config
	door   *sim.Sim
	lift   *sim.Sim
	gate   *sim.Sim
	broker *testbed.Broker
	plat   *platform.Platform
	signer ed25519.PrivateKey
	key    []byte
	logs   *testbed.Buffer
	gw     *gateway.Gateway
	stop   func()
}

type rigOptions struct {
	// kinds of the simulated devices: door-a1-lobby, lift-a1, gate-north.
	kinds []string
	// extra is YAML appended at the top level (rules:, upstream tweaks).
	upstream string
	rules    string
	http     string
	// unlock is access.unlock_time; default 1s.
	unlock string
	// poll is every device's poll interval; default 50ms.
	poll string
}

const (
	doorID = "door-a1-lobby"
	liftID = "lift-a1"
	gateID = "gate-north"
)

func newRig(t *testing.T, opts ...rigOptions) *rig {
	t.Helper()
	o := rigOptions{kinds: []string{configs.KindDoor}}
	if len(opts) > 0 {
		o = opts[0]
	}
	r := &rig{t: t, dir: t.TempDir(), logs: &testbed.Buffer{}}
	r.broker = testbed.Mosquitto(t, testbed.MosquittoOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r.signer = priv
	r.key = make([]byte, 32)
	_, _ = rand.Read(r.key)
	keyFile := filepath.Join(r.dir, "site.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(r.key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	devices := ""
	for _, kind := range o.kinds {
		p, err := configs.Builtin(kind)
		if err != nil {
			t.Fatal(err)
		}
		sm, err := sim.New(kind, p, 1)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := sm.Serve(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		switch kind {
		case configs.KindDoor:
			r.door = sm
			devices += fmt.Sprintf(deviceYAML, doorID, kind, addr, "Block A1 lobby", "a1", "qr", "")
		case configs.KindElevator:
			r.lift = sm
			if err := sm.SetFloors(1, 18); err != nil {
				t.Fatal(err)
			}
			devices += fmt.Sprintf(deviceYAML, liftID, kind, addr, "Block A1 lift", "a1", "card", "    lowest_floor: 1\n")
		case configs.KindGate:
			r.gate = sm
			devices += fmt.Sprintf(deviceYAML, gateID, kind, addr, "North gate", "north", "card", "")
		}
	}
	if o.http == "" {
		o.http = "127.0.0.1:0"
	}
	if o.unlock == "" {
		o.unlock = "1s"
	}
	if o.poll != "" {
		devices = strings.ReplaceAll(devices, "poll: 50ms", "poll: "+o.poll)
	}
	cfgFile := filepath.Join(r.dir, "edge.yaml")
	yaml := fmt.Sprintf(`site: wannan
gateway: gw-01
state_dir: %s
upstream:
  broker: %s
%s
http: { listen: %q }
access:
  key_file: %s
  signers: [{ id: central-2026, public_key: %q }]
  unlock_time: %s
%s
devices:
%s`, filepath.Join(r.dir, "state"), r.broker.URL(), o.upstream, o.http, keyFile, base64.StdEncoding.EncodeToString(pub), o.unlock, o.rules, devices)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.cfg, err = configs.Load(cfgFile); err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	if r.plat, err = platform.Connect(platform.Options{Broker: r.broker.URL(), Prefix: r.cfg.Prefix()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.plat.Close)
	return r
}

const deviceYAML = `  - id: %s
    kind: %s
    modbus: { url: "tcp://%s", unit_id: 1, timeout: 300ms, offline_after: 2, max_backoff: 1s }
    poll: 50ms
    location: %s
    zone: %s
    credential_type: %s
%s`

// start runs the gateway in-process until the returned stop is called.
func (r *rig) start() {
	r.t.Helper()
	gw, err := gateway.New(r.cfg, gateway.Options{Log: slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{r.t}, r.logs), nil)), DrainTimeout: 2 * time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	r.gw = gw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	r.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				r.t.Errorf("gateway run: %v", err)
			}
		case <-time.After(15 * time.Second):
			r.t.Errorf("gateway did not stop within 15 s")
		}
	}
	r.t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stop()
		}
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

func count(evs []platform.Received, typ string, phase events.Phase) int {
	n := 0
	for _, r := range evs {
		if r.Event.Type == typ && r.Event.Phase == phase {
			n++
		}
	}
	return n
}

func TestForcedDoorReachesPlatform(t *testing.T) {
	r := newRig(t)
	r.start()
	if _, ok := r.plat.WaitType(10*time.Second, "gateway.started", "", ""); !ok {
		t.Fatal("no gateway.started")
	}
	// Let the gateway see the door closed before it is forced.
	time.Sleep(300 * time.Millisecond)
	if err := r.door.Force(); err != nil {
		t.Fatal(err)
	}
	ev, ok := r.plat.WaitType(10*time.Second, "door.forced_open", events.Raised, "door-a1-lobby")
	if !ok {
		t.Fatalf("no door.forced_open at the broker; got %v", r.plat.Events())
	}
	// Every CloudEvents field of the contract.
	if ev.SpecVersion != "1.0" || ev.ID == "" || ev.Source != "/jusha/wannan/gw-01" || ev.Subject != "door-a1-lobby" ||
		ev.DataContentType != "application/json" || ev.Severity != events.High || ev.Route != events.RoutePolice ||
		ev.AlarmID == "" || ev.Phase != events.Raised || ev.Time.IsZero() || len(ev.Sequence) != 20 {
		t.Errorf("forced_open envelope incomplete: %+v", ev)
	}
	if ev.Data["location"] != "Block A1 lobby" {
		t.Errorf("data.location = %v", ev.Data["location"])
	}
	// Holding the door open does not repeat the alarm.
	time.Sleep(time.Second)
	if err := r.door.CloseDoor(); err != nil {
		t.Fatal(err)
	}
	cleared, ok := r.plat.WaitType(15*time.Second, "door.forced_open", events.Cleared, "door-a1-lobby")
	if !ok {
		t.Fatal("no cleared event")
	}
	if cleared.AlarmID != ev.AlarmID {
		t.Errorf("cleared alarmid %q, raised %q", cleared.AlarmID, ev.AlarmID)
	}
	time.Sleep(500 * time.Millisecond)
	evs := r.plat.Events()
	if n := count(evs, "door.forced_open", events.Raised); n != 1 {
		t.Errorf("%d door.forced_open raised events, want exactly 1", n)
	}
	if n := count(evs, "door.forced_open", events.Cleared); n != 1 {
		t.Errorf("%d door.forced_open cleared events, want exactly 1", n)
	}
	// The raw payload on the wire is a structured CloudEvent on the alarm topic.
	for _, rc := range evs {
		if rc.Event.ID == ev.ID && rc.Topic != r.cfg.Prefix()+"/events/alarm" {
			t.Errorf("forced_open on topic %q", rc.Topic)
		}
	}
	if b, err := json.Marshal(ev); err != nil || !json.Valid(b) {
		t.Errorf("re-marshal: %v", err)
	}
}

func TestRestartKeepsSequenceAndResendsNothing(t *testing.T) {
	r := newRig(t)
	r.start()
	if _, ok := r.plat.WaitType(10*time.Second, "gateway.started", "", ""); !ok {
		t.Fatal("no gateway.started")
	}
	time.Sleep(300 * time.Millisecond)
	if err := r.door.Force(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.plat.WaitType(10*time.Second, "door.forced_open", events.Raised, ""); !ok {
		t.Fatal("no forced_open")
	}
	r.stop()
	before := r.plat.Events()
	maxSeq := uint64(0)
	for _, e := range before {
		s, _ := strconv.ParseUint(e.Event.Sequence, 10, 64)
		maxSeq = max(maxSeq, s)
	}

	r.start()
	ok := r.plat.Wait(10*time.Second, func(evs []platform.Received) bool {
		return count(evs, "gateway.started", "") == 2
	})
	if !ok {
		t.Fatal("no second gateway.started")
	}
	time.Sleep(time.Second)
	after := r.plat.Events()[len(before):]
	dups, gaps, reorders := r.plat.Stats()
	if dups != 0 {
		t.Errorf("%d events resent after restart", dups)
	}
	if len(gaps) != 0 || reorders != 0 {
		t.Errorf("sequence gaps %v, out of order %d", gaps, reorders)
	}
	for _, e := range after {
		s, _ := strconv.ParseUint(e.Event.Sequence, 10, 64)
		if s <= maxSeq {
			t.Errorf("sequence %d reused after restart (max before %d): %s", s, maxSeq, e.Event.Type)
		}
	}
	if len(after) == 0 || after[0].Event.Sequence != fmt.Sprintf("%020d", maxSeq+1) {
		t.Errorf("first event after restart %v, want sequence %d", after, maxSeq+1)
	}
}
