package telemetry

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestGrafanaDashboard checks deploy/grafana/jusha-edge-site.json: it is
// valid JSON, every query uses the InfluxDB data source and names only
// measurements and fields documented in docs/telemetry.md, and the overview
// has the panels the site needs.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/jusha-edge-site.json")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../docs/telemetry.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^### `([a-z_]+)`").FindAllStringSubmatch(string(docs), -1) {
		documented[m[1]] = true
	}
	for _, m := range []string{MeasurementPoint, MeasurementHealth, MeasurementCounters, MeasurementAlarms} {
		if !documented[m] {
			t.Errorf("measurement %s has no section in docs/telemetry.md", m)
		}
	}
	if len(documented) != 4 {
		t.Errorf("docs document measurements %v, the code writes 4", documented)
	}

	type target struct {
		Query      string         `json:"query"`
		Datasource map[string]any `json:"datasource"`
	}
	type panel struct {
		Title      string         `json:"title"`
		Type       string         `json:"type"`
		Datasource map[string]any `json:"datasource"`
		Targets    []target       `json:"targets"`
		Panels     []panel        `json:"panels"`
	}
	var dash struct {
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}

	measurementRe := regexp.MustCompile(`r\._measurement == "([^"]+)"`)
	fieldRe := regexp.MustCompile(`r\._field == "([^"]+)"`)
	checkQuery := func(where, q string) {
		ms := measurementRe.FindAllStringSubmatch(q, -1)
		if len(ms) == 0 {
			t.Errorf("%s: query names no measurement:\n%s", where, q)
		}
		for _, m := range ms {
			if !documented[m[1]] {
				t.Errorf("%s: measurement %q is not documented", where, m[1])
			}
		}
		for _, f := range fieldRe.FindAllStringSubmatch(q, -1) {
			if !strings.Contains(string(docs), "`"+f[1]+"`") {
				t.Errorf("%s: field %q is not documented", where, f[1])
			}
		}
	}

	var titles []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			titles = append(titles, strings.ToLower(p.Title))
			if p.Datasource["type"] != "influxdb" {
				t.Errorf("panel %q: data source %v, want influxdb", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				checkQuery("panel "+p.Title, tg.Query)
			}
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			if !strings.Contains(q, `measurement: "`) {
				t.Errorf("variable %s: query names no measurement", v.Name)
			}
			for _, m := range regexp.MustCompile(`measurement: "([^"]+)"`).FindAllStringSubmatch(q, -1) {
				if !documented[m[1]] {
					t.Errorf("variable %s: measurement %q is not documented", v.Name, m[1])
				}
			}
		}
	}
	for _, want := range []string{"devices online", "alarms by type", "passages by hour", "lift trips"} {
		if !slices.ContainsFunc(titles, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no panel about %q in %v", want, titles)
		}
	}
}
