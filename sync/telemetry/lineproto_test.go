package telemetry

import (
	"math"
	"strings"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// clean is what a tag value or key becomes in the store: characters line
// protocol cannot carry replaced (see appendEscaped).
func clean(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\\':
			b[i] = '/'
		case c < 0x20 || c == 0x7f:
			b[i] = ' '
		}
	}
	return string(b)
}

// FuzzLines encodes a device with arbitrary location and point name and
// parses the lines back with InfluxData's line protocol parser: every line
// must parse, and tags and fields must come back as they went in.
func FuzzLines(f *testing.F) {
	f.Add("Block A1 lobby", "door_open", 1.0)
	f.Add(`a,b=c d\`, `x y,z=`, -1e300)
	f.Add("", "floor", 3.5)
	f.Add("#1\n\"quoted\"\t", "=", 0.0)
	f.Fuzz(func(t *testing.T, location, point string, value float64) {
		cfg := testConfig("http://127.0.0.1:1")
		cfg.Devices = []configs.Device{{ID: "dev-1", Kind: configs.KindDoor, Location: location}}
		w := newTestWriter(t, cfg, nil)
		w.Observe(reading("dev-1", "door", map[string]drivers.Value{point: num(configs.TypeFloat32, value)}))
		at := time.UnixMilli(1_800_000_000_123)
		w.collect(at)
		body := strings.Join(bufferedLines(w), "\n")

		h := lp.NewMetricHandler()
		h.SetTimePrecision(time.Millisecond)
		metrics, err := lp.NewParser(h).Parse([]byte(body))
		if err != nil {
			t.Fatalf("unparsable:\n%s\n%v", body, err)
		}
		skipped := point == "" || secret(point) || math.IsNaN(value) || math.IsInf(value, 0)
		want := 3
		if skipped {
			want = 2
		}
		if len(metrics) != want {
			t.Fatalf("%d metrics from\n%s", len(metrics), body)
		}
		for _, m := range metrics {
			if !m.Time().Equal(at) {
				t.Errorf("time %v, want %v", m.Time(), at)
			}
			loc, ok := tagOf(m, "location")
			if location == "" {
				if ok {
					t.Errorf("empty location written as %q", loc)
				}
			} else if loc != clean(strings.ToValidUTF8(location, "\uFFFD")) {
				t.Errorf("location %q came back as %q", location, loc)
			}
			if m.Name() == MeasurementPoint {
				got, ok := fieldOf(m, clean(point))
				if !ok || got != value {
					t.Errorf("field %q = %v (%v), want %v in\n%s", point, got, ok, value, body)
				}
			}
		}
	})
}

func tagOf(m lp.Metric, key string) (string, bool) {
	for _, t := range m.TagList() {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

func fieldOf(m lp.Metric, key string) (any, bool) {
	for _, f := range m.FieldList() {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}
