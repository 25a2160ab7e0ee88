package configs

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestErrorFormat(t *testing.T) {
	l := ErrorList{{File: "a.yaml", Line: 3, Col: 7, Msg: "bad"}, {File: "b.yaml", Msg: "no position"}}
	want := "a.yaml:3:7: bad\nb.yaml: no position"
	if l.Error() != want {
		t.Fatalf("got %q", l.Error())
	}
	if ErrorList(nil).Err() != nil {
		t.Fatal("empty list must be a nil error")
	}
}

// Alias expansion that multiplies work stops at the decode budget with one
// problem, and no validation runs over the partial result.
func TestAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("site: s\ngateway: g\nx-rules: &r {")
	for i := range 200 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "r%d: {after: 1s}", i)
	}
	b.WriteString("}\nx-dev: &d {id: d, kind: door, modbus: {url: 'tcp://127.0.0.1:502'}, rules: *r}\ndevices: [")
	for i := range 600 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*d")
	}
	b.WriteString("]\n")
	_, err := Parse("bomb.yaml", []byte(b.String()), ".")
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Msg, "too large or too deeply aliased") {
		t.Fatalf("want only the budget problem, got %d problems: %.300v", len(list), err)
	}
}

func TestMergeKeys(t *testing.T) {
	src := `
site: s
gateway: g
x-base: &base { url: "tcp://127.0.0.1:502", timeout: 300ms, unit_id: 4 }
x-more: &more { retries: 3 }
devices:
  - { id: d1, kind: door, modbus: { <<: [*base, *more], unit_id: 5 } }
`
	cfg, err := Parse("m.yaml", []byte(src), ".")
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Devices[0].Modbus
	if m.URL != "tcp://127.0.0.1:502" || m.UnitID != 5 || m.Timeout.D().String() != "300ms" || *m.Retries != 3 {
		t.Fatalf("merge gave %+v", m)
	}
}

// A valid config dumped as YAML loads back to the same config: defaults
// are stable and every field survives a round trip.
func TestRoundTrip(t *testing.T) {
	for _, file := range []string{"edge.example.yaml", "testdata/valid/anchors.yaml", "testdata/valid/minimal.yaml"} {
		t.Run(file, func(t *testing.T) {
			cfg, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			first, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(file, first, dirOf(file))
			if err != nil {
				t.Fatalf("%v\n%s", err, first)
			}
			second, err := yaml.Marshal(again)
			if err != nil {
				t.Fatal(err)
			}
			if string(first) != string(second) {
				t.Fatalf("round trip differs:\n%s\n---\n%s", first, second)
			}
		})
	}
}

func dirOf(file string) string {
	if i := strings.LastIndex(file, "/"); i >= 0 {
		return file[:i]
	}
	return "."
}

func TestSuggest(t *testing.T) {
	fields := yamlFields(reflectTypeOf[Modbus]())
	tests := []struct{ in, want string }{
		{"unitid", ` (did you mean "unit_id"?)`},
		{"timout", ` (did you mean "timeout"?)`},
		{"x", ""},
		{"baudrate", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
