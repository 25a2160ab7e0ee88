package testbed

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Python returns Debian's python3 with pymodbus importable, or skips
// (fails under CI). pymodbus is installed for /usr/bin/python3 only.
func Python(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		Need(t, "no-/usr/bin/python3")
	}
	if _, err := os.Stat("/usr/lib/python3/dist-packages/pymodbus"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-pymodbus is not installed (run `make deps`)")
		}
		t.Skipf("python3-pymodbus is not installed (run `make deps`)")
	}
	return py
}

// PythonScript writes script to a temp file and runs it with Debian's python3
// and args, waiting until ready returns nil.
func PythonScript(t testing.TB, script string, port int, ready func() error, args ...string) *Process {
	t.Helper()
	py := Python(t)
	f := filepath.Join(t.TempDir(), "peer.py")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return Start(t, port, ready, 20*time.Second, py, append([]string{"-u", f}, args...)...)
}
