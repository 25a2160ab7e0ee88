package access

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
)

func TestKeysSignListCheck(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := GenerateKeys(&out, dir, "central-2026"); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{SigningKeyFile: 0o600, SiteKeyFile: 0o600, SigningPubFile: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v mode %v", name, err, st.Mode())
		}
	}
	if err := GenerateKeys(&out, dir, "central-2026"); err == nil {
		t.Fatal("keys gen overwrote existing keys")
	}
	pub, _ := os.ReadFile(filepath.Join(dir, SigningPubFile))
	if !strings.Contains(out.String(), strings.TrimSpace(string(pub))) {
		t.Errorf("output lacks the public key for the config:\n%s", out.String())
	}
	priv, err := LoadSigningKey(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	siteKey, err := LoadSiteKey(filepath.Join(dir, SiteKeyFile))
	if err != nil {
		t.Fatal(err)
	}

	// The platform side: a plain document with hashes made from the site key.
	h := HashCredential(siteKey, TypeQR, "QR-PLAIN-42")
	doc := Document{Site: "wannan", Version: 7, Kind: KindSnapshot, IssuedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC),
		Upsert: []Entry{{ID: "rider-8812", Label: "rider 138****1234",
			Credentials: []Credential{{Type: TypeQR, Hash: hex.EncodeToString(h[:])}},
			Doors:       []string{door.ID}, Floors: map[string][]int{lift.ID: {1, 12}},
			Schedule: []Window{{Days: "mon-sun", From: "07:00", To: "23:30"}}, MaxUsesPerDay: 50}}}
	plain, _ := json.Marshal(doc)
	var env bytes.Buffer
	if err := SignDocument(&env, priv, "central-2026", plain); err != nil {
		t.Fatal(err)
	}
	if err := SignDocument(&bytes.Buffer{}, priv, "central-2026", []byte(`{"site":"wannan"}`)); err == nil {
		t.Error("signed an invalid document")
	}

	// The gateway side, from its config.
	state := t.TempDir()
	cfg := &configs.Config{Site: "wannan", StateDir: state, Timezone: "Asia/Shanghai",
		Access: configs.Access{KeyFile: filepath.Join(dir, SiteKeyFile),
			Signers: []configs.Signer{{ID: "central-2026", PublicKey: strings.TrimSpace(string(pub))}}}}
	s, err := OpenConfigured(cfg, false, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySigned(t.Context(), env.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenConfigured(cfg, true, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()

	var list bytes.Buffer
	if err := ListWhitelist(&list, ro); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"version 7", "entries 1", "rider-8812", "rider 138****1234", "qr", "lift-a1 floors 1 12", "mon-sun 07:00-23:30", "50"} {
		if !strings.Contains(list.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, list.String())
		}
	}
	if strings.Contains(list.String(), hex.EncodeToString(h[:4])) {
		t.Errorf("list reveals a hash:\n%s", list.String())
	}

	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	for _, tc := range []struct {
		dev   Device
		value string
		at    time.Time
		want  []string
	}{
		{lift, "QR-PLAIN-42", time.Date(2026, 11, 27, 12, 0, 0, 0, shanghai), []string{"GRANTED (granted)", "rider-8812", "floors 1 12"}},
		{door, "QR-PLAIN-42", time.Date(2026, 11, 27, 23, 45, 0, 0, shanghai), []string{"DENIED (schedule)", "Fri 23:45 is outside its schedule (mon-sun 07:00-23:30"}},
		{gate, "QR-PLAIN-42", time.Date(2026, 11, 27, 12, 0, 0, 0, shanghai), []string{"DENIED (scope)", "gate-north is not in its scope"}},
		{door, "QR-WRONG", time.Date(2026, 11, 27, 12, 0, 0, 0, shanghai), []string{"DENIED (unknown)", "no entry of whitelist version 7"}},
	} {
		var b bytes.Buffer
		if err := CheckCredential(&b, ro, tc.dev, TypeQR, tc.value, tc.at); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("check %s %s lacks %q:\n%s", tc.dev.ID, tc.value, w, b.String())
			}
		}
		if strings.Contains(b.String(), tc.value) {
			t.Errorf("check prints the raw value:\n%s", b.String())
		}
	}
}

func TestLoadSigningKeyRefusesOpenFile(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateKeys(&bytes.Buffer{}, dir, "k"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, SigningKeyFile)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigningKey(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("LoadSigningKey on a 0644 file: %v", err)
	}
}

func TestParseAtAndDevice(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-27T23:45:00+08:00", time.Date(2026, 11, 27, 15, 45, 0, 0, time.UTC)},
		{"2026-11-27 23:45", time.Date(2026, 11, 27, 23, 45, 0, 0, shanghai)},
		{"2026-11-27 23:45:30", time.Date(2026, 11, 27, 23, 45, 30, 0, shanghai)},
	} {
		got, err := ParseAt(tc.in, shanghai)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseAt(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseAt("tomorrow", shanghai); err == nil {
		t.Error("ParseAt accepted tomorrow")
	}
	cfg := &configs.Config{Devices: testDevices}
	if d, err := ConfiguredDevice(cfg, lift.ID); err != nil || d.FloorCount != 8 || d.LowestFloor != -1 {
		t.Errorf("ConfiguredDevice = %+v, %v", d, err)
	}
	if _, err := ConfiguredDevice(cfg, "nope"); err == nil {
		t.Error("unknown device found")
	}
}
