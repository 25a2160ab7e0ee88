package configs

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// bigConfig is a config of n devices written out in full, as a large site.
func bigConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("site: s\ngateway: g\ndevices:\n")
	for i := range n {
		fmt.Fprintf(&b, `  - id: door-%d
    kind: door
    modbus: { url: "tcp://10.0.%d.%d:502", unit_id: 1, timeout: 1s, retries: 1, max_backoff: 30s, offline_after: 3, max_gap: 10 }
    poll: 200ms
    location: Block %d
    zone: z%d
    credential_type: card
    rules: { door.held_open: { after: 60s } }
`, i, i/250, i%250, i, i%10)
	}
	return []byte(b.String())
}

// A large site stays well inside the decode budget.
func TestBigConfigWithinBudget(t *testing.T) {
	p := newProblems("big.yaml")
	root := parseDocument(p, bigConfig(1000))
	d := newDecoder(p)
	var cfg Config
	d.decode(root, reflect.ValueOf(&cfg).Elem(), "")
	if d.exhausted() || len(p.list) > 0 {
		t.Fatalf("1,000 devices: %d steps, problems %v", d.steps, p.list)
	}
	t.Logf("1,000 devices: %d decode steps", d.steps)
	if d.steps*3 > maxDecodeSteps {
		t.Fatalf("1,000 devices take %d steps, too close to the budget %d", d.steps, maxDecodeSteps)
	}
}

func BenchmarkLoadExample(b *testing.B) {
	data, err := os.ReadFile("edge.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("edge.example.yaml", data, "."); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad1000Devices(b *testing.B) {
	data := bigConfig(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("big.yaml", data, "."); err != nil {
			b.Fatal(err)
		}
	}
}
