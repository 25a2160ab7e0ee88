package simsite

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jusha-ean/edge/internal/testbed"
)

// BuildEdge builds cmd/edge into out, from a test package two levels below
// the module root (test/NAME), with env added to the go command's and args
// given to go build.
func BuildEdge(t testing.TB, out string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", out, "../../cmd/edge")...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", env, err, b)
	}
}

// Daemon is `edge run` as a child process of a test.
type Daemon struct {
	Cmd *exec.Cmd
	// Out is what it printed, for failure messages.
	Out    *testbed.Buffer
	exited chan error
}

// StartDaemon runs `bin run -c config --log-level warn` in its own process
// group, killed if the test process dies.
func StartDaemon(t testing.TB, bin, config string) *Daemon {
	t.Helper()
	d := &Daemon{Out: &testbed.Buffer{}, exited: make(chan error, 1)}
	d.Cmd = exec.Command(bin, "run", "-c", config, "--log-level", "warn")
	d.Cmd.Stdout, d.Cmd.Stderr = d.Out, d.Out
	d.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.Cmd.Wait() }()
	return d
}

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.Cmd.Process.Pid }

// Stop sends SIGTERM and waits up to 20 s; an exit with an error, or none,
// fails the test.
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("edge run exited: %v\n%s", err, d.Out.String())
		}
	case <-time.After(20 * time.Second):
		_ = d.Cmd.Process.Kill()
		t.Errorf("edge run did not stop within 20 s of SIGTERM")
	}
}

// LoadAvg is the first field of /proc/loadavg, to print beside wall times
// that a busy machine stretches; "?" where there is none.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
