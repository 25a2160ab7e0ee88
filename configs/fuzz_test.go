package configs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic, and
// must either return a config or an ErrorList whose problems have positions.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, "edge.example.yaml", "profiles/door.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a, *a]\nsite: *a\n"))
	f.Add([]byte("devices: [{<<: [*x]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, "testdata/valid")
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config and nil error")
			}
			return
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("want a non-empty ErrorList, got %T %v", err, err)
		}
		// Profiles may still fail with ErrorLists of their own; all of them
		// come out with a file name.
		for _, e := range list {
			if e.File == "" || e.Msg == "" {
				t.Fatalf("problem without file or message: %#v", e)
			}
		}
	})
}

// FuzzParseProfile does the same for profile files.
func FuzzParseProfile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/profiles/*.yaml")
	files = append(files, "profiles/door.yaml", "profiles/elevator.yaml", "profiles/gate.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("fuzz.yaml", data)
		if (p == nil) == (err == nil) {
			t.Fatalf("want exactly one of profile and error, got %v and %v", p, err)
		}
	})
}
