package faults_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/web"
)

// siteOptions shape one site under test.
type siteOptions struct {
	// kinds of the simulated devices, one simulator (and one TCP address)
	// each; ids are door-1, lift-2, gate-3, ... by position.
	kinds []string
	// modbus is the flow-mapping tail of every device's modbus settings.
	modbus string
	// poll is every device's poll interval.
	poll time.Duration
	// upstreamBroker, when set, is the broker URL the gateway uses instead
	// of the test Mosquitto (a faulty listener in front of it).
	upstreamBroker string
	// mosquitto adds to the test broker's options (persistence).
	mosquitto testbed.MosquittoOptions
	// noPlatform skips the stand-in platform (a test that brings its own
	// subscriber).
	noPlatform bool
	// stateDir overrides DIR/state (a small tmpfs).
	stateDir string
	// api runs the local HTTP server with a token for its write calls, so
	// that a test can make access decisions quickly through the API.
	api bool
	// shared serves every simulator on one address, each as its own unit
	// id (1, 2, ...), as devices behind one Modbus TCP gateway: the
	// devices share one link.
	shared bool
}

// site is one gateway on real parts: Mosquitto, one simulator per device on
// its own address, and the stand-in platform subscribed to the gateway's
// topics.
type site struct {
	t      *testing.T
	dir    string
	cfg    *configs.Config
	ids    []string
	sims   map[string]*sim.Sim
	broker *testbed.Broker
	plat   *platform.Platform
	signer ed25519.PrivateKey
	key    []byte
	logs   *logSink
	opts   siteOptions
	token  string

	simCancel context.CancelFunc
	gw        *gateway.Gateway
	stopGW    func()
}

func deviceID(kind string, i int) string {
	name := kind
	if kind == configs.KindElevator {
		name = "lift"
	}
	return fmt.Sprintf("%s-%d", name, i+1)
}

func newSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	if o.poll == 0 {
		o.poll = 100 * time.Millisecond
	}
	if o.modbus == "" {
		o.modbus = "timeout: 500ms, offline_after: 2, max_backoff: 1s"
	}
	s := &site{t: t, dir: t.TempDir(), sims: map[string]*sim.Sim{}, logs: newLogSink(), opts: o}
	s.broker = testbed.Mosquitto(t, o.mosquitto)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last gateway log lines:\n%s", s.logs.Tail(150))
		}
	})

	simCtx, cancel := context.WithCancel(context.Background())
	s.simCancel = cancel
	t.Cleanup(s.stopSims)
	var devices strings.Builder
	var all []*sim.Sim
	for i, kind := range o.kinds {
		p, err := configs.Builtin(kind)
		if err != nil {
			t.Fatal(err)
		}
		unit := uint8(1)
		if o.shared {
			unit = uint8(i + 1)
		}
		sm, err := sim.New(kind, p, unit)
		if err != nil {
			t.Fatal(err)
		}
		if kind == configs.KindElevator {
			if err := sm.SetFloors(1, 18); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, sm)
	}
	sharedAddr := ""
	if o.shared {
		var err error
		if sharedAddr, err = sim.ServeAll(simCtx, "127.0.0.1:0", all...); err != nil {
			t.Fatal(err)
		}
	}
	for i, kind := range o.kinds {
		id, sm, addr := deviceID(kind, i), all[i], sharedAddr
		if !o.shared {
			var err error
			if addr, err = sm.Serve(simCtx, "127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
		}
		s.ids = append(s.ids, id)
		s.sims[id] = sm
		credType, extra := "card", ""
		switch kind {
		case configs.KindDoor:
			credType = "qr"
		case configs.KindElevator:
			extra = "    lowest_floor: 1\n"
		}
		fmt.Fprintf(&devices, "  - id: %s\n    kind: %s\n    modbus: { url: \"tcp://%s\", unit_id: %d, %s }\n"+
			"    poll: %s\n    location: %s site\n    zone: z%d\n    credential_type: %s\n%s",
			id, kind, addr, sm.Unit(), o.modbus, o.poll, id, i, credType, extra)
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.signer = priv
	s.key = make([]byte, 32)
	_, _ = rand.Read(s.key)
	keyFile := filepath.Join(s.dir, "site.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(s.key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stateDir := o.stateDir
	if stateDir == "" {
		stateDir = filepath.Join(s.dir, "state")
	}
	upstream := o.upstreamBroker
	if upstream == "" {
		upstream = s.broker.URL()
	}
	httpYAML := `http: { listen: "127.0.0.1:0" }`
	if o.api {
		tok := make([]byte, 16)
		_, _ = rand.Read(tok)
		s.token = hex.EncodeToString(tok)
		tokenFile := filepath.Join(s.dir, "api.token")
		if err := os.WriteFile(tokenFile, []byte(s.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		httpYAML = fmt.Sprintf(`http: { listen: "127.0.0.1:0", token_file: %s }`, tokenFile)
	}
	yaml := fmt.Sprintf(`site: wannan
gateway: gw-faults
state_dir: %s
upstream:
  broker: %s
%s
access:
  key_file: %s
  signers: [{ id: central-2026, public_key: %q }]
  unlock_time: 1s
devices:
%s`, stateDir, upstream, httpYAML, keyFile, base64.StdEncoding.EncodeToString(pub), devices.String())
	cfgFile := filepath.Join(s.dir, "edge.yaml")
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.cfg, err = configs.Load(cfgFile); err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	if !o.noPlatform {
		if s.plat, err = platform.Connect(platform.Options{Broker: s.broker.URL(), Prefix: s.cfg.Prefix()}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.plat.Close)
	}
	return s
}

// stopSims stops every simulator and waits until their ports are released.
func (s *site) stopSims() {
	s.simCancel()
	for _, sm := range s.sims {
		sm.Wait()
	}
}

// start runs the gateway in-process, without its HTTP server.
func (s *site) start() {
	s.t.Helper()
	gw, err := gateway.New(s.cfg, gateway.Options{
		Log:          slog.New(slog.NewTextHandler(s.logs, nil)),
		DisableHTTP:  !s.opts.api,
		DrainTimeout: 2 * time.Second,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.gw = gw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	stopped := false
	s.stopGW = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				s.t.Errorf("gateway run: %v", err)
			}
		case <-time.After(20 * time.Second):
			s.t.Errorf("gateway did not stop within 20 s")
		}
	}
	s.t.Cleanup(s.stopGW)
}

// waitStarted waits for gateway.started at the platform and for every
// device's first polls.
func (s *site) waitStarted() {
	s.t.Helper()
	if _, ok := s.plat.WaitType(15*time.Second, "gateway.started", "", ""); !ok {
		s.t.Fatal("no gateway.started at the platform")
	}
	s.waitPolled(15 * time.Second)
}

// waitPolled waits until every device has been polled successfully.
func (s *site) waitPolled(timeout time.Duration) {
	s.t.Helper()
	ok := waitFor(timeout, func() bool {
		for _, d := range s.gw.Devices() {
			if d.Polls == 0 || d.Errors == d.Polls {
				return false
			}
		}
		return true
	})
	if !ok {
		s.t.Fatalf("not every device polled within %v: %+v", timeout, s.gw.Devices())
	}
}

// devices returns the gateway's device records by id.
func (s *site) devices() map[string]web.DeviceStatus {
	out := map[string]web.DeviceStatus{}
	for _, d := range s.gw.Devices() {
		out[d.ID] = d
	}
	return out
}

// waitEvent waits for an event of typ about subject among those the
// platform received after the first n, and reports whether it came.
func (s *site) waitEvent(n int, timeout time.Duration, typ, subject string) bool {
	return s.plat.Wait(timeout, func(evs []platform.Received) bool {
		for _, e := range evs[min(n, len(evs)):] {
			if e.Event.Type == typ && (subject == "" || e.Event.Subject == subject) {
				return true
			}
		}
		return false
	})
}

// eventsOf lists type@subject of the platform's events after the first n.
func (s *site) eventsOf(n int) []string {
	var out []string
	evs := s.plat.Events()
	for _, e := range evs[min(n, len(evs)):] {
		out = append(out, e.Event.Type+"@"+e.Event.Subject)
	}
	return out
}

// waitFor polls cond every 20 ms until it is true or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
