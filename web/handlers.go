package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	guard := s.requireToken
	// Health checks stay open: supervisors and load balancers probe them
	// without credentials, and they reveal nothing about the site.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /{$}", guard(http.HandlerFunc(s.statusPage)))
	mux.Handle("GET /live", guard(http.HandlerFunc(s.live)))
	mux.Handle("GET /api/v1/devices", guard(http.HandlerFunc(s.devices)))
	mux.Handle("GET /metrics", guard(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog:      slogPromLogger{s.log},
		ErrorHandling: promhttp.ContinueOnError,
	})))
	if s.opts.AccessAPI != nil {
		mux.Handle("POST /api/v1/access", s.opts.AccessAPI)
	}
	return securityHeaders(mux), nil
}

// securityHeaders keeps the page from being framed or sniffed; the page
// loads nothing from elsewhere, which the content security policy enforces.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type healthJSON struct {
	Status  string    `json:"status"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	Uptime  string    `json:"uptime"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, healthJSON{
		Status:  "ok",
		Version: s.opts.Version,
		Started: s.started.UTC(),
		Uptime:  s.now().Sub(s.started).Truncate(time.Second).String(),
	})
}

// Check is one readiness check in /readyz.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

type readyJSON struct {
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

// Ready runs the readiness checks: config loaded, outbox open, uplink
// connected or within its retry budget.
func (s *Server) Ready() (bool, []Check) {
	checks := []Check{{Name: "config", OK: true, Detail: s.opts.Config.File}}
	if s.opts.Outbox != nil {
		checks = append(checks, Check{Name: "outbox", OK: true, Detail: "open"})
	} else {
		checks = append(checks, Check{Name: "outbox", Detail: "outbox not open"})
	}
	if s.opts.Uplink != nil {
		ok, why := s.opts.Uplink.Ready()
		if ok && why == "" {
			why = "connected"
		}
		checks = append(checks, Check{Name: "uplink", OK: ok, Detail: why})
	} else {
		checks = append(checks, Check{Name: "uplink", Detail: "uplink not started"})
	}
	ready := true
	for _, c := range checks {
		ready = ready && c.OK
	}
	return ready, checks
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	ok, checks := s.Ready()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, readyJSON{Ready: ok, Checks: checks})
}

// apiDevice is a device in GET /api/v1/devices.
type apiDevice struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Location  string         `json:"location,omitempty"`
	Online    bool           `json:"online"`
	LastPoll  *time.Time     `json:"last_poll"`
	LatencyMS float64        `json:"latency_ms"`
	Polls     uint64         `json:"polls"`
	Errors    uint64         `json:"errors"`
	LastError string         `json:"last_error,omitempty"`
	Points    map[string]any `json:"points"`
}

type apiDevices struct {
	Time    time.Time   `json:"time"`
	Devices []apiDevice `json:"devices"`
}

func (s *Server) devices(w http.ResponseWriter, _ *http.Request) {
	out := apiDevices{Time: s.now().UTC(), Devices: []apiDevice{}}
	if s.opts.Devices != nil {
		for _, d := range s.opts.Devices.Stats() {
			a := apiDevice{
				ID: d.ID, Kind: d.Kind, Location: d.Location, Online: d.Online,
				LatencyMS: float64(d.Latency.Microseconds()) / 1000,
				Polls:     d.Polls, Errors: d.Errors, LastError: d.LastError,
				Points: RedactPoints(d.Points),
			}
			if !d.LastPoll.IsZero() {
				t := d.LastPoll.UTC()
				a.LastPoll = &t
			}
			if a.Points == nil {
				a.Points = map[string]any{}
			}
			out.Devices = append(out.Devices, a)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
