package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/internal/testbed"
)

func TestWrongFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{}, {"nope"}, {"run", "--bogus"}, {"validate", "extra"}, {"probe", "--json=maybe"},
		{"sim"}, {"sim", "--kind", "door"}, {"whitelist"}, {"whitelist", "frob"}, {"keys"}, {"version", "x"},
		{"demo", "--for", "soon"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != 2 {
			t.Errorf("edge %v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
		if !strings.Contains(errb.String(), "usage") {
			t.Errorf("edge %v: no usage line in %q", args, errb.String())
		}
	}
}

func TestValidateNamesLineAndColumn(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "edge.yaml")
	if err := os.WriteFile(bad, []byte("site: wannan\ngateway: gw-01\nupstream:\n  brokr: tcp://x:1\ndevices:\n  - { id: d1, kind: door, modbus: { url: \"tcp://127.0.0.1:502\" }, poll: fast }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"validate", "-c", bad}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1; %s %s", code, out.String(), errb.String())
	}
	for _, want := range []string{bad + ":4:3: unknown key \"brokr\"", bad + ":6:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := realMain([]string{"validate", "-c", "../../configs/edge.example.yaml"}, &out, &errb); code != 0 {
		t.Errorf("example config: exit %d: %s", code, out.String())
	}
}

// TestRunStopsCleanlyOnSIGTERM runs the real binary against Mosquitto and a
// simulated door: it comes online, and SIGTERM stops it with exit 0 within
// a few seconds, leaving the retained offline status.
func TestRunStopsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	broker := testbed.Mosquitto(t, testbed.MosquittoOptions{})
	dir := t.TempDir()
	bin := filepath.Join(dir, "edge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, _ := configs.Builtin(configs.KindDoor)
	door, err := sim.New(configs.KindDoor, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := door.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(dir, "site.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edge.yaml")
	yaml := fmt.Sprintf("site: wannan\ngateway: gw-01\nstate_dir: %s\nupstream: { broker: %s }\nhttp: { listen: \"127.0.0.1:0\" }\naccess: { key_file: %s }\ndevices:\n  - { id: door-a1, kind: door, modbus: { url: \"tcp://%s\" }, poll: 100ms }\n",
		filepath.Join(dir, "state"), broker.URL(), keyFile, addr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Connect(platform.Options{Broker: broker.URL(), Prefix: "jusha/v1/wannan/gw-01"})
	if err != nil {
		t.Fatal(err)
	}
	defer plat.Close()

	cmd := exec.Command(bin, "run", "-c", cfg)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if _, ok := plat.WaitType(15*time.Second, "gateway.started", "", ""); !ok {
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("no gateway.started; logs:\n%s", logs.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 10 s after SIGTERM; logs:\n%s", logs.String())
	}
	t.Logf("stopped in %v", time.Since(start))
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := plat.Statuses()
		if len(st) > 0 && st[len(st)-1] == "offline" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("statuses %v: no offline after the stop", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
