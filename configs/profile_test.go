package configs

import (
	"errors"
	"testing"
)

func TestBuiltinProfiles(t *testing.T) {
	for _, kind := range []string{KindDoor, KindElevator, KindGate} {
		t.Run(kind, func(t *testing.T) {
			p, err := Builtin(kind)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != kind || p.File != "builtin/"+kind || len(p.Points) == 0 {
				t.Fatalf("got kind %q file %q with %d points", p.Kind, p.File, len(p.Points))
			}
			for _, need := range needs(kind) {
				if !need.required {
					continue
				}
				if _, ok := p.Point(need.name); !ok {
					t.Errorf("missing %s", need.name)
				}
			}
		})
	}
}

func TestBuiltinUnknown(t *testing.T) {
	if _, err := Builtin("turnstile"); err == nil {
		t.Fatal("want an error for an unknown kind")
	}
	if _, err := LoadProfile("builtin/turnstile", "."); err == nil {
		t.Fatal("want an error for an unknown built-in")
	}
	var list ErrorList
	if _, err := ParseProfile("x.yaml", []byte("kind: door\npoints: []\n")); !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %v", err)
	}
}
