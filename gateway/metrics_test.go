package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jusha-ean/edge/configs"
)

// scrape returns the gateway's /metrics, parsed.
func (r *rig) scrape() map[string]*dto.MetricFamily {
	r.t.Helper()
	resp, err := http.Get("http://" + r.gw.HTTPAddr(5*time.Second) + "/metrics")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return fams
}

// counter is the value of the family's series with label=value; -1 if none.
func counter(fams map[string]*dto.MetricFamily, family, label, value string) float64 {
	for _, m := range fams[family].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// Reads a poll never saw are counted per device on /metrics, and the
// count survives a reload that replaces the access controller.
func TestMetricsMissedReads(t *testing.T) {
	r := newRig(t, rigOptions{kinds: []string{configs.KindDoor}})
	r.start()
	r.waitStarted()
	const missed = "jusha_edge_access_missed_reads_total"
	wait := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := counter(r.scrape(), missed, "device", doorID)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s{device=%q} = %v, want %v", missed, doorID, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// pollTwice waits for two polls: the controller has seen one.
	pollTwice := func() {
		before := polls(r.gw.Devices(), doorID)
		for polls(r.gw.Devices(), doorID) < before+2 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The reader's counter jumps by three between two polls: the poll sees
	// the last read, two are missed.
	presentThree := func() {
		pollTwice() // a controller's first poll sets its baseline
		seq, err := r.door.Get("credential_seq")
		if err != nil {
			t.Fatal(err)
		}
		seq.Uint += 3
		seq.Int, seq.Num = int64(seq.Uint), float64(seq.Uint)
		if err := r.door.Set("credential_seq", seq); err != nil {
			t.Fatal(err)
		}
		pollTwice()
	}
	presentThree()
	wait(2)
	fams := r.scrape()
	for _, e := range []string{"queue_full", "actuate_failed", "api_rejected", "open_rejected", "emit_failed"} {
		if got := counter(fams, "jusha_edge_access_errors_total", "error", e); got != 0 {
			t.Errorf("access_errors_total{error=%q} = %v, want 0", e, got)
		}
	}

	next, err := configs.Load(r.cfg.File)
	if err != nil {
		t.Fatal(err)
	}
	next.Access.UnlockTime = configs.Duration(2 * time.Second) // rebuilds the controller
	if err := r.gw.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	wait(2)
	presentThree()
	wait(4)
}
