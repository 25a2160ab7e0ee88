// Package systemd holds the gateway's systemd unit; its tests check the unit
// with systemd's own verifier and hold it to the service contract.
package systemd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/jusha-ean/edge/internal/testbed"
)

const unitFile = "jusha-edge.service"

// TestUnitVerifies runs `systemd-analyze verify` on the unit. The verifier
// insists that ExecStart's program exists, and /usr/bin/edge is only there
// once the package is installed, so the copy it checks points at a stand-in
// executable; every other line is verified as shipped.
func TestUnitVerifies(t *testing.T) {
	analyze := testbed.Need(t, "systemd-analyze")
	src, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "edge")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if !strings.Contains(text, "ExecStart=/usr/bin/edge ") {
		t.Fatal("ExecStart does not run /usr/bin/edge")
	}
	text = strings.ReplaceAll(text, "/usr/bin/edge ", stand+" ")
	path := filepath.Join(dir, unitFile)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitSecurityExposure asks systemd how exposed the service is; the
// hardening must keep it in the "OK" band (below 2.0 of 10).
func TestUnitSecurityExposure(t *testing.T) {
	analyze := testbed.Need(t, "systemd-analyze")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "security", "--offline=true", "--threshold=20", "--no-pager", unitFile).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "Unknown option") || strings.Contains(string(out), "unrecognized option") {
			t.Skipf("this systemd-analyze cannot check offline: %s", out)
		}
		t.Fatalf("systemd-analyze security: exposure above 2.0 or error: %v\n%s", err, out)
	}
	t.Logf("%s", lastLine(string(out)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestUnitSettings holds the unit to what the daemon and the package rely
// on: notify with watchdog, the dedicated user, its directories, serial
// access, and the hardening that matters most.
func TestUnitSettings(t *testing.T) {
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts, err := unit.Deserialize(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, o := range opts {
		got[o.Section+"."+o.Name] = append(got[o.Section+"."+o.Name], o.Value)
	}
	tests := []struct{ key, want string }{
		{"Service.Type", "notify"},
		{"Service.WatchdogSec", "30"},
		{"Service.Restart", "on-failure"},
		{"Service.User", "jusha-edge"},
		{"Service.StateDirectory", "jusha-edge"},
		{"Service.ConfigurationDirectory", "jusha-edge"},
		{"Service.SupplementaryGroups", "dialout"},
		{"Service.ExecStart", "/usr/bin/edge run -c /etc/jusha-edge/edge.yaml"},
		{"Service.ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Service.NoNewPrivileges", "yes"},
		{"Service.ProtectSystem", "strict"},
		{"Service.ProtectHome", "yes"},
		{"Service.PrivateTmp", "yes"},
		{"Service.CapabilityBoundingSet", ""},
		{"Service.RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"Service.DeviceAllow", "char-ttyUSB rw"},
		{"Service.DeviceAllow", "char-ttyS rw"},
		{"Service.DeviceAllow", "char-ttyAMA rw"},
		{"Install.WantedBy", "multi-user.target"},
	}
	for _, tt := range tests {
		found := false
		for _, v := range got[tt.key] {
			found = found || v == tt.want
		}
		if !found {
			t.Errorf("%s = %q, want %q among them", tt.key, got[tt.key], tt.want)
		}
	}
	// PrivateDevices would hide the serial ports the gateway polls.
	if v := got["Service.PrivateDevices"]; len(v) > 0 && v[len(v)-1] == "yes" {
		t.Error("PrivateDevices=yes hides /dev/ttyUSB*")
	}
}
