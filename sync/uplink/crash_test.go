package uplink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/jusha-ean/edge/sync/outbox"
)

const (
	crashEnvOutbox = "JUSHA_UPLINK_CRASH_OUTBOX"
	crashEnvBroker = "JUSHA_UPLINK_CRASH_BROKER"
)

// TestCrashChild is the child of TestCrashRecovery, not a test of its own:
// it runs the outbox and the uplink, appends events at full speed from
// several goroutines and prints each durable sequence, until it is killed.
func TestCrashChild(t *testing.T) {
	path, broker := os.Getenv(crashEnvOutbox), os.Getenv(crashEnvBroker)
	if path == "" {
		t.Skip("the child of TestCrashRecovery")
	}
	ob, err := outbox.Open(path, outbox.Options{Source: "/jusha/" + testSite + "/" + testGateway, MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	u, err := New(testConfig(broker), ob, nil, WithBackoff(100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // killed long before
	defer cancel()
	go func() { _ = u.Run(ctx) }()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				e, err := ob.Append(ctx, events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord))
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Fprintln(out, e.Sequence)
				_ = out.Flush() // reported only once written out
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashRecovery kills a gateway appending at full speed with SIGKILL at
// a random moment, 10 times over; afterwards every event it reported as
// durable reaches the platform, sequences without gaps, in order,
// duplicates only within the in-flight window.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashEnvOutbox) != "" {
		t.Skip("in the child")
	}
	b := mosquitto(t, testbed.MosquittoOptions{})
	sub := subscribe(t, b.URL(), "platform", testPrefix+"/#", false)
	path := filepath.Join(t.TempDir(), "outbox.db")
	var mu sync.Mutex
	reported := map[uint64]bool{}
	var maxReported uint64
	for round := 0; round < 10; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnvOutbox+"="+path, crashEnvBroker+"="+b.URL())
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		first := make(chan struct{})
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(stdout)
			once := sync.Once{}
			for sc.Scan() {
				s, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64)
				if err != nil || len(sc.Text()) != 20 {
					continue // the test framework's own lines
				}
				mu.Lock()
				reported[s] = true
				maxReported = max(maxReported, s)
				mu.Unlock()
				once.Do(func() { close(first) })
			}
		}()
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("round %d: the child reported nothing", round)
		}
		time.Sleep(time.Duration(100+rand.IntN(900)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		<-readDone
	}
	mu.Lock()
	n := len(reported)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no event reported")
	}

	// Restart once more, cleanly, and drain.
	ob := openOutbox(t, path)
	left := ob.Stats().Depth
	startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 60*time.Second, "the backlog to drain", func() bool { return ob.Stats().Depth == 0 })
	// Every sequence assigned, reported or not, must arrive: nothing is evicted.
	last := int(ob.Stats().LastSeq)
	eventually(t, 10*time.Second, "every event", func() bool { return uniqueSeqs(t, sub.events(t)) >= last })

	got := sub.events(t)
	received := map[uint64]bool{}
	for _, e := range got {
		received[seqOf(t, e)] = true
	}
	for s := range reported {
		if !received[s] {
			t.Fatalf("event %d was reported durable but never arrived", s)
		}
	}
	high, dups := checkStream(t, got, 2*DefaultWindow)
	if high < maxReported || high != ob.Stats().LastSeq {
		t.Fatalf("highest received %d, highest reported %d, last assigned %d", high, maxReported, ob.Stats().LastSeq)
	}
	wills := 0
	for _, m := range sub.on(testPrefix + "/status") {
		var st map[string]any
		if json.Unmarshal(m.Payload, &st) == nil && st["status"] == "offline" {
			wills++
		}
	}
	if wills == 0 {
		t.Error("no offline will seen after a kill")
	}
	t.Logf("10 kills: %d events reported, %d assigned, %d left at the end, %d received with %d duplicates, %d offline wills",
		n, high, left, len(got), dups, wills)
}
