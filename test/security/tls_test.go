package security

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/sync/outbox"
	"github.com/jusha-ean/edge/sync/uplink"
)

// tlsBroker is Mosquitto with a TLS listener whose certificate is
// self-signed (for localhost and 127.0.0.1), made with openssl.
type tlsBroker struct {
	*testbed.Broker
	url    string // tls://127.0.0.1:PORT
	caFile string // the self-signed certificate itself
}

func startTLSBroker(t *testing.T) *tlsBroker {
	t.Helper()
	openssl := testbed.Need(t, "openssl")
	dir := t.TempDir()
	// Mosquitto drops to its own user: it must reach and read the files.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
		"-keyout", "server.key", "-out", "server.crt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	for _, f := range []string{"server.key", "server.crt"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := testbed.FreePort(t)
	crt := filepath.Join(dir, "server.crt")
	b := testbed.Mosquitto(t, testbed.MosquittoOptions{Extra: []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"cafile " + crt,
		"certfile " + crt,
		"keyfile " + filepath.Join(dir, "server.key"),
	}})
	deadline := time.Now().Add(10 * time.Second)
	for testbed.DialReady(fmt.Sprintf("127.0.0.1:%d", port))() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the TLS listener did not come up: %s", b.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &tlsBroker{Broker: b, url: fmt.Sprintf("tls://127.0.0.1:%d", port), caFile: crt}
}

// runUplink runs an uplink on tls with the given TLS settings until the
// test ends; it returns the link and its log.
func runUplink(t *testing.T, url string, tlsCfg configs.TLS) (*uplink.Uplink, *lockedBuf) {
	t.Helper()
	cfg := &configs.Config{Site: "wannan", Gateway: "gw-tls",
		Upstream: configs.Upstream{Brokers: []string{url}, TopicPrefix: "jusha/v1", TLS: tlsCfg}}
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{Source: "/jusha/wannan/gw-tls"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ob.Close() })
	logs := &lockedBuf{}
	u, err := uplink.New(cfg, ob, slog.New(slog.NewTextHandler(logs, nil)), uplink.WithBackoff(50*time.Millisecond, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("the uplink did not stop")
		}
	})
	return u, logs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const insecureWarning = "TLS certificate verification is off"

// An explicit upstream.tls.insecure_skip_verify connects to a broker whose
// certificate nobody vouches for, but it is never silent: a warning is
// logged at every connect, reconnects included.
func TestInsecureSkipVerifyWarnsAtEveryConnect(t *testing.T) {
	b := startTLSBroker(t)
	u, logs := runUplink(t, b.url, configs.TLS{InsecureSkipVerify: true})
	waitFor(t, "the first connect", u.Connected)
	if n := logs.count(insecureWarning, b.url); n < 1 {
		t.Fatalf("connected without verification and no warning; log:\n%s", logs)
	}
	for range 2 {
		b.Stop()
		waitFor(t, "the link to notice the broker is gone", func() bool { return !u.Connected() })
		b.Restart()
		waitFor(t, "a reconnect", u.Connected)
	}
	st := u.Stats()
	if st.Reconnects < 2 {
		t.Fatalf("%d reconnects, want 2", st.Reconnects)
	}
	connects := int(st.Reconnects) + 1
	if n := logs.count(insecureWarning); n < connects {
		t.Fatalf("%d warnings for %d connects; log:\n%s", n, connects, logs)
	}
}

// Without insecure_skip_verify and without the CA that signed the broker's
// certificate, the link does not come up, and the log says why.
func TestUnverifiedBrokerCertificateRefused(t *testing.T) {
	b := startTLSBroker(t)
	u, logs := runUplink(t, b.url, configs.TLS{})
	waitFor(t, "a failed connect", func() bool { return u.Stats().ConnectFailures >= 2 })
	if u.Connected() || u.Stats().Reconnects != 0 {
		t.Fatal("connected to a broker whose certificate is not trusted")
	}
	log := logs.String()
	if !strings.Contains(log, "certificate") || !strings.Contains(log, "x509") {
		t.Fatalf("the log does not say the certificate failed verification:\n%s", log)
	}
	if strings.Contains(log, insecureWarning) {
		t.Fatal("insecure warning without insecure_skip_verify")
	}
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "x509") {
			t.Logf("the log says: %s", line)
			break
		}
	}

	// The same broker with its certificate trusted: verified, no warning.
	u2, logs2 := runUplink(t, b.url, configs.TLS{CAFile: b.caFile})
	waitFor(t, "a verified connect", u2.Connected)
	if strings.Contains(logs2.String(), insecureWarning) {
		t.Fatalf("warned although verification is on:\n%s", logs2)
	}
}
