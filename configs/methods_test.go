package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRuleFor(t *testing.T) {
	cfg := &Config{
		Rules: map[string]RuleConfig{
			"door.held_open":   {After: Duration(30 * time.Second), Severity: "high", Route: "community"},
			"elevator.trapped": {Disabled: true},
		},
		Devices: []Device{
			{ID: "door-1", Rules: map[string]RuleConfig{
				"door.held_open": {After: Duration(time.Minute), Route: "record"},
				"door.tamper":    {Severity: "critical"},
			}},
			{ID: "lift-1", Rules: map[string]RuleConfig{"elevator.trapped": {After: Duration(time.Second)}}},
		},
	}
	tests := []struct {
		device, event string
		want          RuleConfig
	}{
		{"door-1", "door.held_open", RuleConfig{After: Duration(time.Minute), Severity: "high", Route: "record"}},
		{"door-2", "door.held_open", RuleConfig{After: Duration(30 * time.Second), Severity: "high", Route: "community"}},
		{"door-1", "door.tamper", RuleConfig{Severity: "critical"}},
		{"door-1", "door.sos", RuleConfig{}},
		{"lift-1", "elevator.trapped", RuleConfig{Disabled: true, After: Duration(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.device+"/"+tt.event, func(t *testing.T) {
			if got := cfg.RuleFor(tt.device, tt.event); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("secret\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"owner only", write("ok.key", 0o600), ""},
		{"owner read only", write("ro.key", 0o400), ""},
		{"group readable", write("group.key", 0o640), "group.key: mode 0640"},
		{"world readable", write("world.key", 0o604), "world.key: mode 0604"},
		{"missing", filepath.Join(dir, "none.key"), "none.key"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSecretFile(tt.path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	cfg := &Config{
		Access:    Access{KeyFile: "/k"},
		HTTP:      HTTP{TokenFile: "/h"},
		Upstream:  Upstream{TLS: TLS{KeyFile: "/tls"}},
		Telemetry: &Telemetry{Influx: Influx{TokenFile: "/i"}},
	}
	got := strings.Join(cfg.SecretFiles(), ",")
	if got != "/k,/h,/tls,/i" {
		t.Fatalf("got %s", got)
	}
}

// A config built in code, as `edge demo` does, gets the same defaults and
// checks as a file.
func TestCodeBuiltConfig(t *testing.T) {
	cfg := &Config{
		Site: "demo", Gateway: "gw-demo",
		Devices: []Device{{ID: "door-1", Kind: KindDoor, Modbus: Modbus{URL: "tcp://127.0.0.1:1502"}}},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := cfg.Devices[0]
	if d.Resolved == nil || d.Profile != "builtin/door" || d.Modbus.UnitID != 1 || d.Poll.D() != DefaultPoll {
		t.Fatalf("defaults not applied: %+v", d)
	}
	if cfg.Upstream.ClientID != "jusha-edge-demo-gw-demo" || cfg.Prefix() != "jusha/v1/demo/gw-demo" {
		t.Fatalf("client id %q, prefix %q", cfg.Upstream.ClientID, cfg.Prefix())
	}

	cfg.Devices[0].Kind = "turnstile"
	err := cfg.Validate()
	if err == nil || err.Error() != `<config>: device "door-1": unknown kind "turnstile": want door, elevator or gate` {
		t.Fatalf("got %v", err)
	}
}
