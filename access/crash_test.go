package access

import (
	"bufio"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	crashEnv     = "ACCESS_CRASH_CHILD_DB"
	crashEntries = 5000
)

// crashSnapshot is version v: every entry labelled with its version, so a
// mix of two versions shows.
func crashSnapshot(v uint64) Document {
	d := snapshot(v)
	d.Upsert = make([]Entry, crashEntries)
	for i := range d.Upsert {
		// Ids and credentials change with the version so that pages differ.
		d.Upsert[i] = Entry{
			ID: fmt.Sprintf("r%d-%06d", v%3, i), Label: fmt.Sprintf("v%d", v),
			Credentials: []Credential{cred(TypeCard, fmt.Sprintf("%d/%d", v, i))},
			Doors:       []string{door.ID},
		}
	}
	return d
}

// TestCrashChild is the child process of TestCrashMidSnapshot: it applies
// snapshots one after the other until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process of TestCrashMidSnapshot")
	}
	sg := newSigner(t, "central-2026")
	s, err := Open(path, Options{Site: "wannan", Key: testKey, Signers: map[string]ed25519.PublicKey{sg.id: sg.pub}})
	if err != nil {
		t.Fatal(err)
	}
	for v := s.Version() + 1; ; v++ {
		env := sg.sign(t, crashSnapshot(v))
		fmt.Printf("applying %d\n", v)
		start := time.Now()
		if _, err := s.ApplySigned(t.Context(), env); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("applied %d %d\n", v, time.Since(start).Microseconds())
	}
}

func TestCrashMidSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "whitelist.db")
	var lastApplied uint64
	// Each round kills the child at a different point of an apply, as a
	// fraction of how long the previous apply took.
	for round, frac := range []float64{0, 0.3, 0.6, 0.9} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var applied uint64
		var took time.Duration
		var delay time.Duration
		killed := false
		deadline := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
		for sc.Scan() {
			var v, us uint64
			if _, err := fmt.Sscanf(sc.Text(), "applied %d %d", &v, &us); err == nil {
				applied, took = v, time.Duration(us)*time.Microsecond
				continue
			}
			// Kill during the second apply of this round.
			if strings.HasPrefix(sc.Text(), "applying") && applied > lastApplied && !killed {
				delay = time.Duration(frac * float64(took))
				time.Sleep(delay) // where in the apply the kill lands
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		deadline.Stop()
		_ = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: the child ended before it was killed", round)
		}
		got := checkWhole(t, path)
		if got < applied {
			t.Fatalf("round %d: reopened at version %d, but %d was reported applied", round, got, applied)
		}
		t.Logf("round %d: killed %v into applying %d (an apply takes %v); reopened whole at version %d", round, delay, applied+1, took, got)
		lastApplied = got
	}
}

// checkWhole reopens the store and checks that it holds exactly one version.
func checkWhole(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("bbolt check: %v %v", err, cerr)
	}
	s, err := Open(path, Options{Site: "wannan", Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	v := s.Version()
	if v == 0 || s.Len() != crashEntries {
		t.Fatalf("reopened at version %d with %d entries", v, s.Len())
	}
	want := fmt.Sprintf("v%d", v)
	n := 0
	if err := s.Entries(func(e Entry) error {
		n++
		if e.Label != want {
			return fmt.Errorf("entry %s has label %s in version %d", e.ID, e.Label, v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != crashEntries {
		t.Fatalf("%d entries on disk", n)
	}
	checkCreds(t, s) // the credential lookup bucket is of the same version
	if d := s.Explain(door, TypeCard, fmt.Sprintf("%d/%d", v, crashEntries-1), time.Now()); !d.Granted {
		t.Fatalf("last entry of version %d not granted: %s", v, d.Reason)
	}
	return v
}
