package web

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics and parses it with the Prometheus text parser.
func scrape(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	rec := get(t, s.Handler(), "/metrics", map[string]string{"Accept": "text/plain"})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, rec.Body)
	}
	return fams
}

// value returns the value of the sample of family name whose labels include
// all of want, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	s, err := New(siteOptions("127.0.0.1:0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct {
		typ    string
		reason string
	}{
		{"access.granted", ""}, {"access.granted", ""}, {"access.denied", "expired"},
		{"access.denied", "made-up-reason"}, {"door.forced_open", ""},
	} {
		data := map[string]any{}
		if ev.reason != "" {
			data["reason"] = ev.reason
		}
		s.Observe(testEvent(ev.typ, "door-a1-lobby", "info", data))
	}
	fams := scrape(t, s)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
		typ    dto.MetricType
	}{
		{"jusha_edge_device_online", map[string]string{"device": "door-a1-lobby", "kind": "door"}, 1, dto.MetricType_GAUGE},
		{"jusha_edge_device_online", map[string]string{"device": "lift-a1", "kind": "elevator"}, 0, dto.MetricType_GAUGE},
		{"jusha_edge_device_polls_total", map[string]string{"device": "door-a1-lobby"}, 1200, dto.MetricType_COUNTER},
		{"jusha_edge_device_poll_errors_total", map[string]string{"device": "lift-a1"}, 40, dto.MetricType_COUNTER},
		{"jusha_edge_device_requests_total", map[string]string{"device": "door-a1-lobby"}, 3600, dto.MetricType_COUNTER},
		{"jusha_edge_device_request_errors_total", map[string]string{"device": "door-a1-lobby"}, 3, dto.MetricType_COUNTER},
		{"jusha_edge_device_poll_latency_seconds", map[string]string{"device": "door-a1-lobby"}, 0.0042, dto.MetricType_GAUGE},
		{"jusha_edge_device_last_poll_timestamp_seconds", map[string]string{"device": "lift-a1"}, float64(testNow.Unix() - 5), dto.MetricType_GAUGE},
		{"jusha_edge_alarms_open", map[string]string{"severity": "critical"}, 1, dto.MetricType_GAUGE},
		{"jusha_edge_alarms_open", map[string]string{"severity": "high"}, 0, dto.MetricType_GAUGE},
		{"jusha_edge_outbox_events", nil, 3, dto.MetricType_GAUGE},
		{"jusha_edge_outbox_bytes", nil, 2048, dto.MetricType_GAUGE},
		{"jusha_edge_outbox_oldest_age_seconds", nil, 12, dto.MetricType_GAUGE},
		{"jusha_edge_outbox_evictions_total", nil, 1, dto.MetricType_COUNTER},
		{"jusha_edge_mqtt_connected", nil, 1, dto.MetricType_GAUGE},
		{"jusha_edge_mqtt_reconnects_total", nil, 2, dto.MetricType_COUNTER},
		{"jusha_edge_whitelist_version", nil, 42, dto.MetricType_GAUGE},
		{"jusha_edge_whitelist_entries", nil, 1500, dto.MetricType_GAUGE},
		{"jusha_edge_telemetry_dropped_total", nil, 5, dto.MetricType_COUNTER},
		{"jusha_edge_events_total", map[string]string{"type": "access.granted"}, 2, dto.MetricType_COUNTER},
		{"jusha_edge_events_total", map[string]string{"type": "door.forced_open"}, 1, dto.MetricType_COUNTER},
		{"jusha_edge_access_decisions_total", map[string]string{"result": "granted", "reason": "ok"}, 2, dto.MetricType_COUNTER},
		{"jusha_edge_access_decisions_total", map[string]string{"result": "denied", "reason": "expired"}, 1, dto.MetricType_COUNTER},
		{"jusha_edge_access_decisions_total", map[string]string{"result": "denied", "reason": "other"}, 1, dto.MetricType_COUNTER},
		{"jusha_edge_build_info", map[string]string{"version": "1.2.3"}, 1, dto.MetricType_GAUGE},
	}
	for _, tt := range tests {
		got, ok := value(fams, tt.name, tt.labels)
		if !ok {
			t.Errorf("%s%v missing", tt.name, tt.labels)
			continue
		}
		if got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
		if typ := fams[tt.name].GetType(); typ != tt.typ {
			t.Errorf("%s is a %v, want %v", tt.name, typ, tt.typ)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
}

// TestMetricsReadAtScrapeTime checks that the collector reads the sources
// on every scrape instead of keeping a copy.
func TestMetricsReadAtScrapeTime(t *testing.T) {
	opts := siteOptions("127.0.0.1:0")
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	devs := opts.Devices.(*fakeDevices)
	list := devs.Stats()
	list[1].Online, list[1].Polls = true, 950
	devs.set(list)
	fams := scrape(t, s)
	if v, _ := value(fams, "jusha_edge_device_online", map[string]string{"device": "lift-a1"}); v != 1 {
		t.Errorf("lift online = %v after it came back", v)
	}
	if v, _ := value(fams, "jusha_edge_device_polls_total", map[string]string{"device": "lift-a1"}); v != 950 {
		t.Errorf("lift polls = %v, want 950", v)
	}
}

// TestMetricsWithoutSources checks that a gateway part not yet started
// leaves its metrics out instead of breaking the scrape.
func TestMetricsWithoutSources(t *testing.T) {
	s, err := New(Options{Config: testConfig("127.0.0.1:0"),
		Devices: &fakeDevices{list: []DeviceStatus{{ID: "a", Kind: "door"}, {ID: "a", Kind: "door"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, s)
	if _, ok := fams["jusha_edge_outbox_events"]; ok {
		t.Error("outbox metric without an outbox")
	}
	if n := len(fams["jusha_edge_device_online"].GetMetric()); n != 1 {
		t.Errorf("duplicate device id gave %d series, want 1", n)
	}
	if _, ok := fams["jusha_edge_device_last_poll_timestamp_seconds"]; ok {
		t.Error("last poll timestamp for a device never polled")
	}
}
