package web

import (
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jusha-ean/edge/events"
)

// Metrics is the gateway's Prometheus registry. Most values are read from
// the sources at scrape time (see stateCollector), so nothing is counted
// twice; what no source keeps, such as events by type, the gateway reports
// through ObserveEvent. It uses its own registry, never the global one.
type Metrics struct {
	registry  *prometheus.Registry
	events    *prometheus.CounterVec
	decisions *prometheus.CounterVec
}

func newMetrics(opts Options) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_total",
			Help: "Events raised by the gateway, by type.",
		}, []string{"type"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "access_decisions_total",
			Help: "Access decisions, by result (granted, denied) and reason.",
		}, []string{"result", "reason"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the version label names the running build.",
		ConstLabels: prometheus.Labels{"version": opts.Version},
	})
	build.Set(1)
	m.registry.MustRegister(
		m.events, m.decisions, build,
		newStateCollector(opts),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, so the gateway can add its own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// ObserveEvent counts an event by type, and access.granted and
// access.denied events also as access decisions by result and reason
// (data.reason), so the gateway reports each event once.
func (m *Metrics) ObserveEvent(ev events.Event) {
	m.events.WithLabelValues(labelValue(ev.Type)).Inc()
	switch ev.Type {
	case "access.granted":
		m.decisions.WithLabelValues("granted", decisionReason(ev, "ok")).Inc()
	case "access.denied":
		m.decisions.WithLabelValues("denied", decisionReason(ev, "unknown")).Inc()
	}
}

// Observe feeds one durable event to the status page's recent events and to
// the metrics: the single call the gateway makes per event.
func (s *Server) Observe(ev events.Event) {
	s.events.Add(ev)
	s.metrics.ObserveEvent(ev)
}

// decisionReasons is the closed set of reasons (CONTRACT section 5), so that
// a bad event cannot blow up the label space.
var decisionReasons = map[string]bool{
	"ok": true, "unknown": true, "expired": true, "not_yet_valid": true, "schedule": true,
	"scope": true, "revoked": true, "usage_limit": true, "remote": true,
}

func decisionReason(ev events.Event, def string) string {
	r, _ := ev.Data["reason"].(string)
	switch {
	case r == "":
		return def
	case decisionReasons[r]:
		return r
	default:
		return "other"
	}
}

// labelValue bounds a label taken from an event: event types are a closed
// set, but a label must not grow without bound if a bug says otherwise.
func labelValue(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

// slogPromLogger sends promhttp's errors to the gateway's logger.
type slogPromLogger struct{ log *slog.Logger }

// Println logs one promhttp error as a warning.
func (l slogPromLogger) Println(v ...any) {
	parts := make([]string, 0, len(v))
	for _, x := range v {
		if s, ok := x.(string); ok {
			parts = append(parts, s)
		} else if e, ok := x.(error); ok {
			parts = append(parts, e.Error())
		}
	}
	l.log.Warn("metrics", "error", strings.Join(parts, " "))
}
