// Package security holds the gateway's security checks (docs/security.md):
// they run whole gateways on real parts (Mosquitto, simulated controllers on
// Modbus TCP, the local HTTP API) and check what an attacker on the site LAN,
// on the broker or with the box in hand can and cannot do. Every listener is
// on 127.0.0.1 with a free port.
package security

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
)

const (
	doorID   = "door-a1-lobby"
	liftID   = "lift-a1"
	signerID = "central-2026"
	riderQR  = "80018812"
	apiToken = "reader-token-7f3a9c"
)

// site is one gateway on real parts.
type site struct {
	t      *testing.T
	dir    string
	cfg    *configs.Config
	door   *sim.Sim
	lift   *sim.Sim
	broker *testbed.Broker
	plat   *platform.Platform
	signer ed25519.PrivateKey
	key    []byte
	logs   *lockedBuf
	gw     *gateway.Gateway
	cancel context.CancelFunc
	done   chan error
}

type siteOptions struct {
	listen     string // http.listen; default 127.0.0.1:0
	token      bool   // write http.token_file
	ackTimeout string // upstream.ack_timeout; default the config's
}

func newSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	s := &site{t: t, dir: t.TempDir(), logs: &lockedBuf{}}
	s.broker = testbed.Mosquitto(t, testbed.MosquittoOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	s.signer = ed25519.NewKeyFromSeed(seed)
	s.key = bytes.Repeat([]byte{0x42}, access.SiteKeySize)
	keyFile := filepath.Join(s.dir, "site.key")
	writeFile(t, keyFile, hex.EncodeToString(s.key)+"\n", 0o600)
	tokenLine := ""
	if o.token {
		tf := filepath.Join(s.dir, "api.token")
		writeFile(t, tf, apiToken+"\n", 0o600)
		tokenLine = fmt.Sprintf("\n  token_file: %s", tf)
	}
	ackLine := ""
	if o.ackTimeout != "" {
		ackLine = "\n  ack_timeout: " + o.ackTimeout
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	devices := ""
	for _, kind := range []string{configs.KindDoor, configs.KindElevator} {
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
		id, extra := doorID, ""
		if kind == configs.KindElevator {
			s.lift, id, extra = sm, liftID, "    lowest_floor: 1\n"
			if err := sm.SetFloors(1, 18); err != nil {
				t.Fatal(err)
			}
		} else {
			s.door = sm
		}
		devices += fmt.Sprintf(`  - id: %s
    kind: %s
    modbus: { url: "tcp://%s", unit_id: 1, timeout: 300ms }
    poll: 50ms
    location: test %s
    credential_type: qr
%s`, id, kind, addr, id, extra)
	}
	pub := s.signer.Public().(ed25519.PublicKey)
	yaml := fmt.Sprintf(`site: wannan
gateway: gw-sec
state_dir: %s
upstream:
  broker: %s%s
http:
  listen: %q%s
access:
  key_file: %s
  signers: [{ id: %s, public_key: %q }]
  unlock_time: 1s
devices:
%s`, filepath.Join(s.dir, "state"), s.broker.URL(), ackLine, o.listen, tokenLine, keyFile, signerID,
		base64.StdEncoding.EncodeToString(pub), devices)
	cfgFile := filepath.Join(s.dir, "edge.yaml")
	writeFile(t, cfgFile, yaml, 0o600)
	var err error
	if s.cfg, err = configs.Load(cfgFile); err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	if s.plat, err = platform.Connect(platform.Options{Broker: s.broker.URL(), Prefix: s.cfg.Prefix(), ClientID: "platform-sec"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.plat.Close)
	return s
}

// start builds and runs the gateway until the test ends.
func (s *site) start() {
	s.t.Helper()
	gw, err := gateway.New(s.cfg, gateway.Options{Log: slog.New(slog.NewTextHandler(s.logs, nil)), DrainTimeout: time.Second})
	if err != nil {
		s.t.Fatal(err)
	}
	s.gw = gw
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	n := len(s.plat.Events())
	go func() { s.done <- gw.Run(ctx) }()
	s.t.Cleanup(s.stop)
	ok := s.plat.Wait(15*time.Second, func(evs []platform.Received) bool {
		for _, e := range evs[min(n, len(evs)):] {
			if e.Event.Type == "gateway.started" {
				return true
			}
		}
		return false
	})
	if !ok {
		s.t.Fatalf("no gateway.started; log:\n%s", s.logs)
	}
	// Let the first polls set the readers' baselines.
	time.Sleep(300 * time.Millisecond)
}

// stop ends the gateway and waits for it (idempotent).
func (s *site) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("gateway run: %v", err)
		}
	case <-time.After(15 * time.Second):
		s.t.Errorf("gateway did not stop within 15 s")
	}
}

// signed wraps v (marshalled to JSON) in an envelope signed by key.
func signed(t *testing.T, key ed25519.PrivateKey, keyID string, v any) []byte {
	t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	env, err := access.SignEnvelope(key, keyID, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (s *site) hash(typ, value string) string {
	h := access.HashCredential(s.key, typ, value)
	return hex.EncodeToString(h[:])
}

// snapshot is a whitelist with one rider allowed at the door.
func (s *site) snapshot(version uint64) access.Document {
	return access.Document{Site: "wannan", Version: version, Kind: access.KindSnapshot, IssuedAt: time.Now(),
		Upsert: []access.Entry{{ID: "rider-8812", Label: "rider 138****8812",
			Credentials: []access.Credential{{Type: access.TypeQR, Hash: s.hash(access.TypeQR, riderQR)}},
			Doors:       []string{doorID}, Floors: map[string][]int{liftID: {3}}}}}
}

// command sends a command on P/cmd/{name}.
func (s *site) command(name string, payload []byte) {
	s.t.Helper()
	if err := s.plat.Command(name, payload); err != nil {
		s.t.Fatal(err)
	}
}

// waitEvent waits for an event of typ among those after the first n.
func (s *site) waitEvent(n int, typ string, match func(events.Event) bool) events.Event {
	s.t.Helper()
	var found events.Event
	ok := s.plat.Wait(10*time.Second, func(evs []platform.Received) bool {
		for _, e := range evs[min(n, len(evs)):] {
			if e.Event.Type == typ && (match == nil || match(e.Event)) {
				found = e.Event
				return true
			}
		}
		return false
	})
	if !ok {
		s.t.Fatalf("no %s within 10 s; log:\n%s", typ, s.logs)
	}
	return found
}

// waitReply waits for the n-th reply (counting from 1) and returns it.
func (s *site) waitReply(n int) platform.Reply {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if reps := s.plat.Replies(); len(reps) >= n {
			return reps[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no reply #%d within 10 s; replies %+v", n, s.plat.Replies())
	return platform.Reply{}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// lockedBuf collects log output from several goroutines.
type lockedBuf struct{ testbed.Buffer }

// count returns how many lines of the log contain every one of subs.
func (l *lockedBuf) count(subs ...string) int {
	n := 0
	for line := range strings.SplitSeq(l.String(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all && line != "" {
			n++
		}
	}
	return n
}
