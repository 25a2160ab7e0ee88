package gateway

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jusha-ean/edge/access"
)

// retiredAccess keeps the counts of the access controllers a reload
// replaced, so that the access counters on /metrics never go back.
type retiredAccess struct {
	mu     sync.Mutex
	stats  access.Stats
	missed map[string]uint64
}

// retire adds old's counts and makes next the pipeline, in one step as
// the collector sees it.
func (g *Gateway) retire(old, next *pipeline) {
	r := &g.retired
	r.mu.Lock()
	defer r.mu.Unlock()
	if old.ctrl != next.ctrl {
		r.stats = r.stats.Plus(old.ctrl.Stats())
		if r.missed == nil {
			r.missed = map[string]uint64{}
		}
		for id, n := range old.ctrl.MissedReadsByDevice() {
			r.missed[id] += n
		}
	}
	g.pipe.Store(next)
}

// accessCollector exports what the access controller counts and no event
// carries: reads the gateway missed, and grants or requests that failed.
// (Decisions by result are counted from their events, in package web.)
type accessCollector struct {
	g              *Gateway
	missed, errors *prometheus.Desc
}

func newAccessCollector(g *Gateway) *accessCollector {
	return &accessCollector{
		g: g,
		missed: prometheus.NewDesc("jusha_edge_access_missed_reads_total",
			"Credentials the device's reader read that no poll saw (credential_seq skipped them); the device needs a shorter poll.",
			[]string{"device"}, nil),
		errors: prometheus.NewDesc("jusha_edge_access_errors_total",
			"Access requests or grants that failed, by error: queue_full (grant not actuated, device queue full), actuate_failed (device write failed), "+
				"api_rejected (local API request refused), open_rejected (remote open refused), emit_failed (decision not stored).",
			[]string{"error"}, nil),
	}
}

func (c *accessCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.missed
	ch <- c.errors
}

func (c *accessCollector) Collect(ch chan<- prometheus.Metric) {
	r := &c.g.retired
	r.mu.Lock()
	ctrl := c.g.pipe.Load().ctrl
	st := r.stats.Plus(ctrl.Stats())
	missed := ctrl.MissedReadsByDevice()
	for id, n := range r.missed {
		missed[id] += n
	}
	r.mu.Unlock()
	for id, n := range missed {
		ch <- prometheus.MustNewConstMetric(c.missed, prometheus.CounterValue, float64(n), id)
	}
	for name, n := range map[string]uint64{
		"queue_full": st.QueueFull, "actuate_failed": st.ActuateFailed, "api_rejected": st.APIRejected,
		"open_rejected": st.OpenRejected, "emit_failed": st.EmitFailed,
	} {
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(n), name)
	}
}
