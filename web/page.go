package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"sort"
	"time"
)

//go:embed templates/status.html
var templateFS embed.FS

// pageTemplate is parsed once per server: html/template escapes every value,
// so device names and locations from the config cannot inject markup.
func parsePage() (*template.Template, error) {
	return template.New("status.html").Funcs(template.FuncMap{
		"ago":   ago,
		"ms":    millis,
		"dur":   func(d time.Duration) string { return d.Round(time.Second).String() },
		"bytes": humanBytes,
		"value": formatValue,
		"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
	}).ParseFS(templateFS, "templates/status.html")
}

// RefreshInterval is how often the status page reloads its live part.
const RefreshInterval = 2 * time.Second

// MaxPageEvents bounds the recent events the page lists.
const MaxPageEvents = 50

type pageView struct {
	Site, Gateway, Version string
	Now                    time.Time
	RefreshMS              int64
	Ready                  bool
	Checks                 []Check
	Devices                []deviceView
	Online                 int
	Alarms                 []AlarmStatus
	Events                 []eventView
	HasOutbox              bool
	Outbox                 outboxView
	HasUplink              bool
	Uplink                 uplinkView
	HasWhitelist           bool
	Whitelist              whitelistView
}

type deviceView struct {
	DeviceStatus
	Points []pointView
}

type pointView struct{ Name, Value string }

type eventView struct {
	Time                                   time.Time
	Type, Subject, Severity, Phase, Detail string
}

type outboxView struct {
	Depth     int
	Bytes     int64
	Oldest    time.Duration
	Evictions uint64
}

type uplinkView struct {
	Connected  bool
	Ready      bool
	Reason     string
	Reconnects uint64
}

type whitelistView struct {
	Version uint64
	Entries int
}

func (s *Server) view() pageView {
	now := s.now()
	v := pageView{
		Site: s.opts.Config.Site, Gateway: s.opts.Config.Gateway, Version: s.opts.Version,
		Now: now, RefreshMS: RefreshInterval.Milliseconds(),
	}
	v.Ready, v.Checks = s.Ready()
	if s.opts.Devices != nil {
		for _, d := range s.opts.Devices.Stats() {
			dv := deviceView{DeviceStatus: d}
			names := make([]string, 0, len(d.Points))
			for name := range d.Points {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				dv.Points = append(dv.Points, pointView{Name: name, Value: formatPoint(name, d.Points[name])})
			}
			if d.Online {
				v.Online++
			}
			v.Devices = append(v.Devices, dv)
		}
	}
	if s.opts.Alarms != nil {
		v.Alarms = s.opts.Alarms.OpenAlarms()
		sort.SliceStable(v.Alarms, func(i, j int) bool {
			ri, rj := severityRank(v.Alarms[i].Severity), severityRank(v.Alarms[j].Severity)
			if ri != rj {
				return ri > rj
			}
			return v.Alarms[i].Since.Before(v.Alarms[j].Since)
		})
	}
	for _, ev := range s.events.Recent(MaxPageEvents) {
		v.Events = append(v.Events, eventView{
			Time: ev.Time, Type: ev.Type, Subject: ev.Subject,
			Severity: string(ev.Severity), Phase: string(ev.Phase), Detail: eventDetail(ev.Data),
		})
	}
	if o := s.opts.Outbox; o != nil {
		v.HasOutbox = true
		v.Outbox = outboxView{Depth: o.Depth(), Bytes: o.Bytes(), Oldest: o.OldestAge(), Evictions: o.Evictions()}
	}
	if u := s.opts.Uplink; u != nil {
		v.HasUplink = true
		ok, why := u.Ready()
		v.Uplink = uplinkView{Connected: u.Connected(), Ready: ok, Reason: why, Reconnects: u.Reconnects()}
	}
	if w := s.opts.Whitelist; w != nil {
		v.HasWhitelist = true
		v.Whitelist = whitelistView{Version: w.Version(), Entries: w.Entries()}
	}
	return v
}

func (s *Server) render(w http.ResponseWriter, name string) {
	var buf bytes.Buffer
	if err := s.page.ExecuteTemplate(&buf, name, s.view()); err != nil {
		s.log.Error("status page", "err", err)
		http.Error(w, "status page failed; see the gateway log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// statusPage serves GET /: the whole page.
func (s *Server) statusPage(w http.ResponseWriter, _ *http.Request) { s.render(w, "status.html") }

// live serves GET /live: the page's live part, which its script swaps in
// every RefreshInterval, so the page refreshes with one rendering path.
func (s *Server) live(w http.ResponseWriter, _ *http.Request) { s.render(w, "live") }

func severityRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	case "info":
		return 0
	}
	return -1
}
