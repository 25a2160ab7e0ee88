// Package nfpm holds the recipe of the jusha-edge .deb packages; its tests
// build them with scripts/package.sh and look inside with dpkg-deb.
package nfpm

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/internal/testbed"
)

const root = "../.."

func TestMaintainerScriptsParse(t *testing.T) {
	for _, name := range []string{"postinst.sh", "prerm.sh", "postrm.sh"} {
		out, err := exec.Command("sh", "-n", name).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}

// TestPackages builds the three packages and checks each one's contents,
// its control data, and that its binary is a static build for its
// architecture.
func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gateway for three architectures")
	}
	// Three cross builds and nFPM take minutes on a small machine: run under
	// CI, or when asked for with PACKAGE_TEST=1.
	if os.Getenv("CI") == "" && os.Getenv("PACKAGE_TEST") == "" {
		t.Skip("set PACKAGE_TEST=1 (or CI=true) to build and inspect the .deb packages")
	}
	if _, err := os.Stat(filepath.Join(root, "cmd/edge")); err != nil {
		t.Skip("cmd/edge is not in this tree yet: nothing to package")
	}
	dpkgDeb := testbed.Need(t, "dpkg-deb")
	dist := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./scripts/package.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION=1.2.3~test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("package.sh: %v\n%s", err, out)
	}

	arches := []struct {
		deb     string
		machine elf.Machine
		class   elf.Class
		goarch  string
		goarm   string
	}{
		{"amd64", elf.EM_X86_64, elf.ELFCLASS64, "amd64", ""},
		{"arm64", elf.EM_AARCH64, elf.ELFCLASS64, "arm64", ""},
		{"armhf", elf.EM_ARM, elf.ELFCLASS32, "arm", "7"},
	}
	for _, a := range arches {
		t.Run(a.deb, func(t *testing.T) {
			deb := filepath.Join(dist, "jusha-edge_1.2.3~test_"+a.deb+".deb")
			fields := run(t, dpkgDeb, "-f", deb, "Package", "Version", "Architecture")
			for _, want := range []string{"Package: jusha-edge", "Version: 1.2.3~test", "Architecture: " + a.deb} {
				if !strings.Contains(fields, want) {
					t.Errorf("control fields lack %q:\n%s", want, fields)
				}
			}
			tree := t.TempDir()
			run(t, dpkgDeb, "-x", deb, tree)
			control := t.TempDir()
			run(t, dpkgDeb, "-e", deb, control)

			same := map[string]string{
				"lib/systemd/system/jusha-edge.service":       "deploy/systemd/jusha-edge.service",
				"etc/jusha-edge/edge.yaml":                    "configs/edge.example.yaml",
				"usr/share/jusha-edge/profiles/door.yaml":     "configs/profiles/door.yaml",
				"usr/share/jusha-edge/profiles/elevator.yaml": "configs/profiles/elevator.yaml",
				"usr/share/jusha-edge/profiles/gate.yaml":     "configs/profiles/gate.yaml",
				"usr/share/doc/jusha-edge/installing.md":      "docs/installing.md",
				"usr/share/doc/jusha-edge/edge.example.yaml":  "configs/edge.example.yaml",
			}
			for inPkg, src := range same {
				got, err := os.ReadFile(filepath.Join(tree, inPkg))
				if err != nil {
					t.Errorf("package lacks /%s: %v", inPkg, err)
					continue
				}
				want, err := os.ReadFile(filepath.Join(root, src))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("/%s differs from %s", inPkg, src)
				}
			}

			conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
			if err != nil || !strings.Contains(string(conffiles), "/etc/jusha-edge/edge.yaml") {
				t.Errorf("edge.yaml is not a conffile: %q %v", conffiles, err)
			}
			postinst, err := os.ReadFile(filepath.Join(control, "postinst"))
			if err != nil || !strings.Contains(string(postinst), "useradd --system") {
				t.Errorf("postinst does not create the system user: %v", err)
			}

			bin := filepath.Join(tree, "usr/bin/edge")
			fi, err := os.Stat(bin)
			if err != nil {
				t.Fatalf("package lacks /usr/bin/edge: %v", err)
			}
			if fi.Mode().Perm() != 0o755 {
				t.Errorf("/usr/bin/edge mode %v", fi.Mode())
			}
			checkBinary(t, bin, a.machine, a.class, a.goarch, a.goarm)
			t.Logf("%s: /usr/bin/edge %d bytes (%.1f MiB), .deb %d bytes", a.deb, fi.Size(), float64(fi.Size())/(1<<20), sizeOf(t, deb))

			if a.goarch == runtime.GOARCH {
				out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
				if err != nil {
					t.Errorf("edge version: %v\n%s", err, out)
				}
			}
		})
	}
}

// checkBinary checks the ELF header, that there is no dynamic loader (a
// static, cgo-free build), and the build settings Go recorded.
func checkBinary(t *testing.T, path string, machine elf.Machine, class elf.Class, goarch, goarm string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Machine != machine || f.Class != class {
		t.Errorf("binary is %v %v, want %v %v", f.Machine, f.Class, machine, class)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary is dynamically linked")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("binary is not stripped")
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": goarch, "-trimpath": "true"} {
		if settings[k] != want {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], want)
		}
	}
	if goarm != "" && !strings.HasPrefix(settings["GOARM"], goarm) {
		t.Errorf("GOARM = %q, want %s", settings["GOARM"], goarm)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func sizeOf(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
