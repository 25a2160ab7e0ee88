package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/web"
)

// stateJSON is the retained P/state/{device} payload: online, quality, the
// time of the reading and every point.
func stateJSON(r drivers.Reading) []byte {
	points := make(map[string]any, len(r.Values))
	for k, v := range r.Values {
		points[k] = v.Plain()
	}
	b, _ := json.Marshal(struct {
		Device  string         `json:"device"`
		Online  bool           `json:"online"`
		Quality string         `json:"quality"`
		Time    string         `json:"time"`
		Points  map[string]any `json:"points"`
	}{r.Device, r.Online, r.Quality.String(), r.Time.UTC().Format(time.RFC3339Nano), web.RedactPoints(points)})
	return b
}

// statusSource adapts the gateway's parts to the status page's interfaces.
type statusSource struct{ g *Gateway }

// Stats lists every device in config order with its latest reading.
func (s statusSource) Stats() []web.DeviceStatus {
	byID := map[string]drivers.DeviceStats{}
	for _, st := range s.g.links.Stats() {
		byID[st.ID] = st
	}
	devices := s.g.pipe.Load().cfg.Devices
	out := make([]web.DeviceStatus, 0, len(devices))
	for _, d := range devices {
		st := byID[d.ID]
		ds := web.DeviceStatus{ID: d.ID, Kind: d.Kind, Location: d.Location, Online: st.Online,
			LastPoll: st.LastPoll, Latency: st.LastLatency, Polls: st.Polls, Errors: st.Failures,
			Requests: st.Requests, RequestErrors: st.RequestErrors,
			LastError: st.LastError, Points: map[string]any{}}
		if r, ok := s.g.last.get(d.ID); ok {
			for k, v := range r.Values {
				ds.Points[k] = v.Plain()
			}
		}
		out = append(out, ds)
	}
	return out
}

// OpenAlarms lists the alarms not yet cleared.
func (s statusSource) OpenAlarms() []web.AlarmStatus {
	alarms := s.g.pipe.Load().rules.OpenAlarms()
	out := make([]web.AlarmStatus, 0, len(alarms))
	for _, a := range alarms {
		out = append(out, web.AlarmStatus{ID: a.ID, Type: a.Type, Device: a.Device, Location: a.Location,
			Severity: string(a.Severity), Route: string(a.Route), Since: a.RaisedAt, Acked: a.Acked, Escalated: a.Escalated})
	}
	return out
}

type outboxSource struct{ g *Gateway }

func (o outboxSource) Depth() int               { return o.g.ob.Stats().Depth }
func (o outboxSource) Bytes() int64             { return o.g.ob.Stats().Bytes }
func (o outboxSource) OldestAge() time.Duration { return o.g.ob.Stats().OldestAge }
func (o outboxSource) Evictions() uint64        { return o.g.ob.Stats().Evictions }

type whitelistSource struct{ g *Gateway }

func (w whitelistSource) Version() uint64 { return w.g.wl.Version() }
func (w whitelistSource) Entries() int    { return w.g.wl.Len() }

func (g *Gateway) newWeb() (*web.Server, error) {
	token := ""
	if g.cfg.HTTP.TokenFile != "" {
		b, err := readToken(g.cfg.HTTP.TokenFile)
		if err != nil {
			return nil, err
		}
		token = b
	}
	apiLog := g.log.With("part", "api")
	opts := web.Options{
		Config: g.cfg, Token: token, Version: g.opts.Version,
		Devices: statusSource{g}, Alarms: statusSource{g}, Outbox: outboxSource{g},
		Uplink: &uplinkSource{g: g, lastSeen: time.Now()}, Whitelist: whitelistSource{g},
		// The controller may be replaced by a reload: look it up per request.
		AccessAPI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			access.NewAPIHandler(g.pipe.Load().ctrl, token, g.emitDurable, apiLog).ServeHTTP(w, r)
		}),
	}
	if g.tel != nil {
		opts.Telemetry = telemetrySource{g}
	}
	srv, err := web.New(opts, g.log.With("part", "http"))
	if err != nil {
		return nil, err
	}
	srv.Metrics().Registry().MustRegister(newAccessCollector(g))
	return srv, nil
}

// uplinkReadyBudget is how long the uplink may be down before /readyz fails:
// two of its longest reconnect delays.
const uplinkReadyBudget = 2 * time.Minute

type uplinkSource struct {
	g *Gateway

	mu       sync.Mutex
	lastSeen time.Time // last time the link was seen up, or the start
}

func (u *uplinkSource) Connected() bool    { return u.g.up.Connected() }
func (u *uplinkSource) Reconnects() uint64 { return u.g.up.Stats().Reconnects }

// Ready is true while the link is up, or down for less than the budget.
func (u *uplinkSource) Ready() (bool, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if u.g.up.Connected() {
		u.lastSeen = now
		return true, ""
	}
	down := now.Sub(u.lastSeen)
	if down < uplinkReadyBudget {
		return true, fmt.Sprintf("uplink down for %v, reconnecting", down.Round(time.Second))
	}
	return false, fmt.Sprintf("uplink down for %v (budget %v)", down.Round(time.Second), uplinkReadyBudget)
}

type telemetrySource struct{ g *Gateway }

func (t telemetrySource) Dropped() uint64 { return t.g.tel.Stats().Dropped }

// Devices returns every configured device with its polling record and its
// latest points, as the status page shows them.
func (g *Gateway) Devices() []web.DeviceStatus { return statusSource{g}.Stats() }
