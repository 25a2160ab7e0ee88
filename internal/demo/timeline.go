package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/internal/platform"
)

// timeline prints what the platform receives, between the scenes' captions.
type timeline struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
	lat   []time.Duration
}

func newTimeline(out io.Writer) *timeline { return &timeline{out: out, start: time.Now()} }

func (t *timeline) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, format, args...)
}

func (t *timeline) banner(cfg *configs.Config, broker, httpAddr string, s *site) {
	t.printf(`Jusha Edge demo: a day on estate %q in about two minutes
  MQTT broker (embedded)   %s   topics %s/#
  status page              http://%s/
  simulated controllers    door %s, lift %s, gate %s (Modbus TCP)
  gateway config           %s
What the central platform receives:

`, cfg.Site, broker, cfg.Prefix(), httpAddr, s.addrs[doorID], s.addrs[liftID], s.addrs[gateID], s.config)
}

func (t *timeline) scene(clock, text string) {
	t.printf("\n── %s  %s\n", clock, text)
}

func (t *timeline) say(format string, args ...any) {
	t.printf(format+"\n", args...)
}

// event prints one received event as a line of the timeline.
func (t *timeline) event(r platform.Received) {
	e := r.Event
	t.mu.Lock()
	t.lat = append(t.lat, r.At.Sub(e.Time))
	t.mu.Unlock()
	tag := strings.ToUpper(e.Category())
	detail := ""
	switch {
	case e.Phase != "":
		detail = fmt.Sprintf("%-9s %-8s -> %-9s alarm %s", e.Phase, e.Severity, e.Route, e.AlarmID)
	case e.Type == "access.granted" || e.Type == "access.denied":
		detail = fmt.Sprintf("%v (%v)", field(e, "entry"), field(e, "reason"))
		if f, ok := e.Data["floors"]; ok {
			detail += fmt.Sprintf(" floors %v", f)
		}
	case strings.HasPrefix(e.Type, "whitelist."):
		detail = fmt.Sprintf("version %v entries %v", field(e, "version"), field(e, "entries"))
		if r, ok := e.Data["reason"]; ok {
			detail += fmt.Sprintf(" rejected: %v", r)
		}
	}
	t.printf("  +%6.1fs  %-7s %-26s %-14s %s\n", r.At.Sub(t.start).Seconds(), tag, e.Type, e.Subject, strings.TrimSpace(detail))
}

func field(e events.Event, k string) any {
	if v, ok := e.Data[k]; ok {
		return v
	}
	return "-"
}

// lost is how many stored events the platform has not received.
func (t *timeline) lost(p *platform.Platform, st gateway.Stats) int {
	got := uint64(len(p.Events()))
	if st.Appended > got {
		return int(st.Appended - got)
	}
	return 0
}

func (t *timeline) summary(p *platform.Platform, st gateway.Stats) {
	evs := p.Events()
	dups, gaps, reorders := p.Stats()
	byCat := map[string]int{}
	for _, r := range evs {
		byCat[r.Event.Category()]++
	}
	t.mu.Lock()
	lat := slices.Clone(t.lat)
	t.mu.Unlock()
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	t.printf(`
Summary
  events raised by the gateway   %d  (last sequence %d)
  received by the platform       %d  (alarm %d, access %d, device %d, gateway %d)
  lost                           %d
  duplicates dropped by id       %d   sequence gaps %d   out of order %d
  latency raise -> platform      p50 %v  p90 %v  max %v  (the max includes the 20 s uplink cut)
`, st.Appended, st.LastSeq, len(evs), byCat["alarm"], byCat["access"], byCat["device"], byCat["gateway"],
		t.lost(p, st), dups, len(gaps), reorders,
		pct(0.5).Round(time.Millisecond), pct(0.9).Round(time.Millisecond), pct(1).Round(time.Millisecond))
}
