package configs

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // the valid configs name time zones; do not depend on the host's

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the testdata/*/*.golden files")

// TestGoldenInvalid loads each testdata/invalid/*.yaml and compares the
// error, FILE:LINE:COL lines, with its .golden file.
func TestGoldenInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			cfg, err := Load(file)
			if err == nil {
				t.Fatalf("loaded without error: %+v", cfg)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("want an ErrorList, got %T: %v", err, err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Col < 1 {
					t.Errorf("problem without a position: %v", e)
				}
			}
			compareGolden(t, file, err.Error()+"\n")
		})
	}
}

// TestGoldenValid loads each testdata/valid/*.yaml and compares the
// config with every default applied, as YAML, with its .golden file.
func TestGoldenValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			cfg, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range cfg.Devices {
				if d.Resolved == nil {
					t.Errorf("device %s: no profile resolved", d.ID)
				}
			}
			out, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, file, string(out))
		})
	}
}

func compareGolden(t *testing.T, file, got string) {
	t.Helper()
	golden := strings.TrimSuffix(file, ".yaml") + ".golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", golden, got, want)
	}
}
