// Package simsite builds whole simulated sites for the long-running tests
// (soak, fleet, footprint): many simulated controllers on loopback Modbus
// TCP, a site key, a signer, a config file naming every device, signed
// whitelist snapshots, and a driver of random faults and physical events.
// It is test support: it fails the test it is given on any set-up error.
package simsite

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
)

// Options shape a site.
type Options struct {
	// Site and Gateway name the site and its gateway ([a-z0-9-]+).
	Site, Gateway string
	// Broker is the upstream MQTT URL.
	Broker string
	// Dir holds the config, the site key and state_dir; t.TempDir() if "".
	Dir string
	// Devices is how many simulated controllers; kinds alternate door,
	// elevator, door, gate (half doors, a quarter each lifts and gates).
	Devices int
	// PerAddress is how many simulators share one Modbus TCP address, each
	// with its own unit id (one link in the gateway); 1 gives each its own
	// port. Mixed puts every other group of addresses on single ports.
	PerAddress int
	Mixed      bool
	// Poll and Timeout are each device's poll interval and request timeout.
	Poll, Timeout time.Duration
	// AckTimeout is upstream.ack_timeout; 0 keeps the default.
	AckTimeout time.Duration
	// Rules is YAML for the top-level rules section (without "rules:").
	Rules string
	// HTTP is http.listen; "" gives 127.0.0.1:0.
	HTTP string
	// Front, when set, maps each served address to the one the config
	// names (a relay in front of the simulators that watches the traffic).
	Front func(addr string) string
}

// Device is one simulated controller of the site.
type Device struct {
	ID   string
	Kind string
	Sim  *sim.Sim
	// Addr is the host:port the config names for it (where it is served,
	// or its Front), Unit its unit id there.
	Addr string
	Unit uint8
}

// Site is a built site: simulators serving, a config written and loaded.
type Site struct {
	Dir        string
	Opts       Options
	Key        []byte
	Signer     ed25519.PrivateKey
	Devices    []*Device
	ConfigFile string
	Config     *configs.Config
	// YAML is the config file's text.
	YAML string

	sims []*sim.Sim
}

// SignerID is the key id of the site's whitelist signer.
const SignerID = "central-2026"

// Floors is how many floors each simulated lift serves (from floor 1).
const Floors = 12

// New starts the site's simulators (they stop when ctx ends) and writes
// and loads its config.
func New(ctx context.Context, t testing.TB, o Options) *Site {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if o.PerAddress < 1 {
		o.PerAddress = 1
	}
	if o.HTTP == "" {
		o.HTTP = "127.0.0.1:0"
	}
	s := &Site{Dir: o.Dir, Opts: o, Key: make([]byte, 32)}
	if _, err := rand.Read(s.Key); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.Signer = priv
	keyFile := filepath.Join(o.Dir, "site.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(s.Key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.serve(ctx, t)

	var b strings.Builder
	fmt.Fprintf(&b, "site: %s\ngateway: %s\nstate_dir: %s\n", o.Site, o.Gateway, filepath.Join(o.Dir, "state"))
	fmt.Fprintf(&b, "upstream:\n  broker: %s\n", o.Broker)
	if o.AckTimeout > 0 {
		fmt.Fprintf(&b, "  ack_timeout: %s\n", o.AckTimeout)
	}
	fmt.Fprintf(&b, "http: { listen: %q }\n", o.HTTP)
	fmt.Fprintf(&b, "access:\n  key_file: %s\n  signers: [{ id: %s, public_key: %q }]\n  unlock_time: 1s\n",
		keyFile, SignerID, base64.StdEncoding.EncodeToString(pub))
	if o.Rules != "" {
		b.WriteString("rules:\n")
		for _, line := range strings.Split(strings.TrimSpace(o.Rules), "\n") {
			b.WriteString("  " + strings.TrimSpace(line) + "\n")
		}
	}
	b.WriteString("devices:\n")
	for _, d := range s.Devices {
		fmt.Fprintf(&b, "  - id: %s\n    kind: %s\n", d.ID, d.Kind)
		fmt.Fprintf(&b, "    modbus: { url: \"tcp://%s\", unit_id: %d, timeout: %s, retries: 0, offline_after: 2, max_backoff: 2s }\n",
			d.Addr, d.Unit, o.Timeout)
		fmt.Fprintf(&b, "    poll: %s\n    location: %s\n    zone: z%d\n    credential_type: card\n", o.Poll, d.ID, d.Unit)
		if d.Kind == configs.KindElevator {
			b.WriteString("    lowest_floor: 1\n")
		}
	}
	s.YAML = b.String()
	s.ConfigFile = filepath.Join(o.Dir, "edge.yaml")
	if err := os.WriteFile(s.ConfigFile, []byte(s.YAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.Config, err = configs.Load(s.ConfigFile); err != nil {
		t.Fatalf("config: %v\n%s", err, s.YAML)
	}
	return s
}

// kindOf gives device i its kind: door, elevator, door, gate, ...
func kindOf(i int) string {
	switch i % 4 {
	case 1:
		return configs.KindElevator
	case 3:
		return configs.KindGate
	}
	return configs.KindDoor
}

// serve builds the simulators and serves them, PerAddress to an address.
func (s *Site) serve(ctx context.Context, t testing.TB) {
	t.Helper()
	o := s.Opts
	group := 0
	for i := 0; i < o.Devices; group++ {
		n := o.PerAddress
		if o.Mixed && group%2 == 1 {
			n = 1
		}
		n = min(n, o.Devices-i)
		var batch []*Device
		var sims []*sim.Sim
		for u := range n {
			kind := kindOf(i)
			p, err := configs.Builtin(kind)
			if err != nil {
				t.Fatal(err)
			}
			sm, err := sim.New(kind, p, uint8(u+1))
			if err != nil {
				t.Fatal(err)
			}
			if kind == configs.KindElevator {
				if err := sm.SetFloors(1, Floors); err != nil {
					t.Fatal(err)
				}
			}
			d := &Device{ID: fmt.Sprintf("%s-%03d", kind, i), Kind: kind, Sim: sm, Unit: uint8(u + 1)}
			batch = append(batch, d)
			sims = append(sims, sm)
			i++
		}
		addr, err := sim.ServeAll(ctx, "127.0.0.1:0", sims...)
		if err != nil {
			t.Fatal(err)
		}
		if o.Front != nil {
			addr = o.Front(addr)
		}
		for _, d := range batch {
			d.Addr = addr
		}
		s.Devices = append(s.Devices, batch...)
		s.sims = append(s.sims, sims...)
	}
}

// Wait blocks until every simulator has stopped (after ctx ended).
func (s *Site) Wait() {
	for _, sm := range s.sims {
		sm.Wait()
	}
}

// Addresses returns the distinct Modbus addresses of the site.
func (s *Site) Addresses() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range s.Devices {
		if !seen[d.Addr] {
			seen[d.Addr] = true
			out = append(out, d.Addr)
		}
	}
	return out
}

// RiderCard is rider i's card number as its reader reads it.
func RiderCard(i int) string { return fmt.Sprintf("%d", 3_000_000_000+uint64(i)) }

// Snapshot is a whitelist snapshot of riders entries, rider i holding card
// RiderCard(i). With scope 0 every rider may use every device; otherwise
// rider i may use the scope devices starting at index i*scope (wrapping).
func (s *Site) Snapshot(version uint64, riders, scope int) access.Document {
	until := time.Now().Add(30 * 24 * time.Hour)
	doc := access.Document{Site: s.Opts.Site, Version: version, Kind: access.KindSnapshot, IssuedAt: time.Now(),
		Upsert: make([]access.Entry, 0, riders)}
	all := s.Devices
	for i := range riders {
		h := access.HashCredential(s.Key, access.TypeCard, RiderCard(i))
		e := access.Entry{ID: fmt.Sprintf("rider-%06d", i), Label: fmt.Sprintf("rider %06d", i),
			Credentials: []access.Credential{{Type: access.TypeCard, Hash: hex.EncodeToString(h[:])}},
			ValidUntil:  &until}
		devs := all
		if scope > 0 {
			devs = make([]*Device, 0, scope)
			for k := range scope {
				devs = append(devs, all[(i*scope+k)%len(all)])
			}
		}
		for _, d := range devs {
			switch d.Kind {
			case configs.KindDoor:
				e.Doors = append(e.Doors, d.ID)
			case configs.KindGate:
				e.Gates = append(e.Gates, d.ID)
			case configs.KindElevator:
				if e.Floors == nil {
					e.Floors = map[string][]int{}
				}
				e.Floors[d.ID] = []int{1, 1 + i%Floors}
			}
		}
		doc.Upsert = append(doc.Upsert, e)
	}
	return doc
}

// Sign signs a whitelist document as the platform does.
func (s *Site) Sign(t testing.TB, doc access.Document) []byte {
	t.Helper()
	payload, err := jsonMarshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	env, err := access.SignEnvelope(s.Signer, SignerID, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
