package uplink

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

// makeCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate with openssl. Server files are world-readable: mosquitto
// drops to its own user; the client key is private, as the gateway wants.
func makeCerts(t *testing.T) string {
	t.Helper()
	openssl := testbed.Need(t, "openssl")
	dir := t.TempDir()
	// Traversable by mosquitto's user: the test's temp dir and its parent.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ext := filepath.Join(dir, "ext.cnf")
	if err := os.WriteFile(ext, []byte("[srv]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n[cli]\nextendedKeyUsage=clientAuth\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ec := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	run := func(args ...string) {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run(append([]string{"req", "-x509", "-days", "2", "-subj", "/CN=jusha-test-ca", "-keyout", "ca.key", "-out", "ca.crt"}, ec...)...)
	for _, who := range []struct{ name, cn, ext string }{{"server", "localhost", "srv"}, {"client", "gw-01", "cli"}} {
		run(append([]string{"req", "-subj", "/CN=" + who.cn, "-keyout", who.name + ".key", "-out", who.name + ".csr"}, ec...)...)
		run("x509", "-req", "-in", who.name+".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
			"-days", "2", "-extfile", "ext.cnf", "-extensions", who.ext, "-out", who.name+".crt")
	}
	for _, f := range []string{"ca.crt", "server.crt", "server.key", "client.crt"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "client.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMutualTLS(t *testing.T) {
	dir := makeCerts(t)
	tlsPort := testbed.FreePort(t)
	b := mosquitto(t, testbed.MosquittoOptions{Extra: []string{
		"listener " + itoa(tlsPort) + " 127.0.0.1",
		"cafile " + filepath.Join(dir, "ca.crt"),
		"certfile " + filepath.Join(dir, "server.crt"),
		"keyfile " + filepath.Join(dir, "server.key"),
		"require_certificate true",
	}})
	tlsURL := "tls://127.0.0.1:" + itoa(tlsPort)
	eventually(t, 10*time.Second, "the TLS listener", func() bool { return testbed.DialReady("127.0.0.1:"+itoa(tlsPort))() == nil })
	sub := subscribe(t, b.URL(), "platform", testPrefix+"/#", false)

	t.Run("with a client certificate", func(t *testing.T) {
		cfg := testConfig(tlsURL)
		cfg.Upstream.TLS.CAFile = filepath.Join(dir, "ca.crt")
		cfg.Upstream.TLS.CertFile = filepath.Join(dir, "client.crt")
		cfg.Upstream.TLS.KeyFile = filepath.Join(dir, "client.key")
		ob := openOutbox(t, "")
		appendN(t, ob, 3, "door.sos", events.Critical)
		u := startUplink(t, cfg, ob, nil)
		eventually(t, 10*time.Second, "events over mutual TLS", func() bool { return len(sub.events(t)) == 3 })
		if !u.Connected() {
			t.Fatal("not connected")
		}
		u.stop(t)
	})

	t.Run("without a client certificate", func(t *testing.T) {
		cfg := testConfig(tlsURL)
		cfg.Upstream.TLS.CAFile = filepath.Join(dir, "ca.crt")
		ob := openOutbox(t, "")
		log, logs := testLogger(t)
		u := startUplink(t, cfg, ob, log)
		eventually(t, 10*time.Second, "a refused connect in the log", func() bool {
			return strings.Contains(logs.String(), "connect failed")
		})
		if u.Connected() || u.Stats().ConnectFailures == 0 {
			t.Fatalf("connected without a certificate: %+v", u.Stats())
		}
		if !strings.Contains(logs.String(), "requires a client certificate") {
			t.Fatalf("the log does not say why:\n%s", logs)
		}
		t.Logf("log: %s", firstLine(logs.String(), "connect failed"))
	})

	t.Run("insecure_skip_verify warns at every connect", func(t *testing.T) {
		cfg := testConfig(tlsURL)
		cfg.Upstream.TLS.InsecureSkipVerify = true
		cfg.Upstream.TLS.CertFile = filepath.Join(dir, "client.crt")
		cfg.Upstream.TLS.KeyFile = filepath.Join(dir, "client.key")
		ob := openOutbox(t, "")
		log, logs := testLogger(t)
		u := startUplink(t, cfg, ob, log)
		eventually(t, 10*time.Second, "connected", u.Connected)
		if !strings.Contains(logs.String(), "verification is off") {
			t.Fatalf("no warning:\n%s", logs)
		}
	})
}

func firstLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestUsernameAndPasswordFile(t *testing.T) {
	passwd := testbed.Need(t, "mosquitto_passwd")
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	users := filepath.Join(dir, "users")
	if out, err := exec.Command(passwd, "-c", "-b", users, "gw-01", "right-horse-battery").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	if err := os.Chmod(users, 0o644); err != nil {
		t.Fatal(err)
	}
	b := mosquitto(t, testbed.MosquittoOptions{Extra: []string{"allow_anonymous false", "password_file " + users}})
	tests := []struct {
		name, password string
		ok             bool
	}{
		{"right password", "right-horse-battery\n", true},
		{"wrong password", "wrong\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw := filepath.Join(t.TempDir(), "password")
			if err := os.WriteFile(pw, []byte(tt.password), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(b.URL())
			cfg.Upstream.Username = "gw-01"
			cfg.Upstream.PasswordFile = pw
			ob := openOutbox(t, "")
			appendN(t, ob, 2, "door.tamper", events.Medium)
			log, logs := testLogger(t)
			u := startUplink(t, cfg, ob, log)
			if tt.ok {
				eventually(t, 10*time.Second, "delivered", func() bool { return ob.Stats().Depth == 0 })
				return
			}
			eventually(t, 10*time.Second, "a refusal in the log", func() bool { return strings.Contains(logs.String(), "connect failed") })
			if u.Connected() || !strings.Contains(logs.String(), "refused the credentials") {
				t.Fatalf("connected %v, log:\n%s", u.Connected(), logs)
			}
			if strings.Contains(logs.String(), "wrong") {
				t.Fatal("the password reached the log")
			}
		})
	}
}
