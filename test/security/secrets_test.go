package security

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/gateway"
)

// A secret file readable or writable by group or others is refused by
// configs.CheckSecretFile, naming the file and its mode.
func TestCheckSecretFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o700, true},
		{0o640, false}, {0o644, false}, {0o604, false}, {0o620, false}, {0o602, false}, {0o666, false},
	} {
		path := filepath.Join(dir, "secret-"+tc.mode.String())
		writeFile(t, path, "x\n", tc.mode)
		err := configs.CheckSecretFile(path)
		if tc.ok != (err == nil) {
			t.Errorf("mode %04o: %v", tc.mode, err)
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("mode %04o: error %q does not name the file", tc.mode, err)
		}
	}
	if err := configs.CheckSecretFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing secret file accepted")
	}
	if err := configs.CheckSecretFile(dir); err == nil {
		t.Error("a directory accepted as a secret file")
	}
	// A private-looking link to a readable file is judged by the file.
	open := filepath.Join(dir, "open.key")
	writeFile(t, open, "x\n", 0o644)
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(open, link); err != nil {
		t.Fatal(err)
	}
	if err := configs.CheckSecretFile(link); err == nil {
		t.Error("a symlink to a world-readable file accepted")
	}
}

// The gateway refuses to start when any of its secret files (site key,
// API token, broker password, TLS client key) is readable by others, names
// the file, and creates nothing under state_dir.
func TestGatewayRefusesReadableSecrets(t *testing.T) {
	s := newSite(t, siteOptions{token: true})
	pw := filepath.Join(s.dir, "broker.password")
	writeFile(t, pw, "hunter2\n", 0o600)
	s.cfg.Upstream.PasswordFile = pw
	for _, tc := range []struct {
		key  string
		path string
	}{
		{"access.key_file", s.cfg.Access.KeyFile},
		{"http.token_file", s.cfg.HTTP.TokenFile},
		{"upstream.password_file", pw},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if err := os.Chmod(tc.path, 0o644); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = os.Chmod(tc.path, 0o600) }()
			_, err := gateway.New(s.cfg, gateway.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), "0644") {
				t.Fatalf("gateway.New with %s mode 0644: %v", tc.key, err)
			}
			if _, err := os.Stat(s.cfg.StateDir); !os.IsNotExist(err) {
				t.Fatalf("state_dir touched before the secrets were checked: %v", err)
			}
		})
	}
	// The TLS client key too (checked by the uplink, which reads it).
	key := filepath.Join(s.dir, "client.key")
	writeFile(t, key, "not a key", 0o644)
	if err := configs.CheckSecretFile(key); err == nil {
		t.Fatal("a 0644 TLS key passed CheckSecretFile")
	}
	if !contains(s.cfg.SecretFiles(), s.cfg.Access.KeyFile) || !contains(s.cfg.SecretFiles(), s.cfg.HTTP.TokenFile) {
		t.Fatalf("SecretFiles %v misses the key or token file", s.cfg.SecretFiles())
	}
	s.cfg.Upstream.TLS.KeyFile = key
	if !contains(s.cfg.SecretFiles(), key) {
		t.Fatalf("SecretFiles %v misses upstream.tls.key_file", s.cfg.SecretFiles())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The access package's own readers refuse readable keys as well, and the
// keys `edge keys gen` writes are private.
func TestKeyFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := access.GenerateKeys(&out, dir, "central-2027"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{access.SiteKeyFile, access.SigningKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s written with mode %04o", name, fi.Mode().Perm())
		}
	}
	if _, err := access.LoadSiteKey(filepath.Join(dir, access.SiteKeyFile)); err != nil {
		t.Fatalf("load the generated site key: %v", err)
	}
	for _, name := range []string{access.SiteKeyFile, access.SigningKeyFile} {
		path := filepath.Join(dir, name)
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := access.LoadSiteKey(filepath.Join(dir, access.SiteKeyFile)); err == nil || !strings.Contains(err.Error(), access.SiteKeyFile) {
		t.Errorf("LoadSiteKey of a 0640 file: %v", err)
	}
	if _, err := access.LoadSigningKey(filepath.Join(dir, access.SigningKeyFile)); err == nil {
		t.Error("LoadSigningKey of a 0640 file accepted")
	}
	for _, name := range []string{access.SiteKeyFile, access.SigningKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if secret := strings.TrimSpace(string(b)); secret == "" || strings.Contains(out.String(), secret) {
			t.Errorf("keys gen printed the secret of %s", name)
		}
	}
}

// Someone with the box in hand reads state_dir: it is private to the
// gateway's user, and after riders were let in it holds no raw credential.
func TestStateDirPrivateAndHashedOnly(t *testing.T) {
	s := newSite(t, siteOptions{token: true})
	s.start()
	n := len(s.plat.Events())
	s.command("whitelist", signed(t, s.signer, signerID, s.snapshot(3)))
	s.waitEvent(n, "whitelist.applied", nil)
	n = len(s.plat.Events())
	if err := s.door.Present(riderQR); err != nil {
		t.Fatal(err)
	}
	s.waitEvent(n, "access.granted", nil)
	const unknown = "77770000"
	if err := s.door.Present(unknown); err != nil {
		t.Fatal(err)
	}
	s.waitEvent(n, "access.denied", nil)
	// What the broker retains and the local pages show: the credential
	// point is redacted.
	time.Sleep(1500 * time.Millisecond) // state goes out at most once a second
	state, ok := s.plat.State(doorID)
	if !ok {
		t.Fatal("no retained state for the door")
	}
	resp, err := http.Get("http://" + s.gw.HTTPAddr(10*time.Second) + "/api/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	devices, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !bytes.Contains(state, []byte(`"credential"`)) || !bytes.Contains(devices, []byte(`"credential"`)) {
		t.Fatalf("the credential point is missing from the state (%s) or the device list: nothing was checked", state)
	}
	if !bytes.Contains(devices, []byte(doorID)) {
		t.Fatalf("/api/v1/devices does not list the door: %s", devices)
	}
	for _, raw := range []string{riderQR, unknown} {
		if bytes.Contains(state, []byte(raw)) {
			t.Errorf("retained P/state/%s carries the raw credential %s: %s", doorID, raw, state)
		}
		if bytes.Contains(devices, []byte(raw)) {
			t.Errorf("/api/v1/devices shows the raw credential %s", raw)
		}
	}
	s.stop()
	fi, err := os.Stat(s.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("state_dir mode %04o: group or others may enter", fi.Mode().Perm())
	}
	files := 0
	err = filepath.WalkDir(s.cfg.StateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, raw := range []string{riderQR, unknown} {
			if bytes.Contains(b, []byte(raw)) {
				t.Errorf("%s holds the raw credential %s", path, raw)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("state_dir is empty: nothing was checked")
	}
	for _, raw := range []string{riderQR, unknown} {
		if strings.Contains(s.logs.String(), raw) {
			t.Errorf("the log holds the raw credential %s", raw)
		}
		for _, e := range s.plat.Events() {
			if bytes.Contains(mustJSON(t, e.Event), []byte(raw)) {
				t.Errorf("event %s carries the raw credential %s", e.Event.Type, raw)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
