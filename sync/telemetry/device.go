package telemetry

import (
	"math"
	"strings"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// device is the telemetry state of one configured device: what persists
// across intervals (the previous state, for edge detection) and the window
// of the interval being collected.
type device struct {
	id, kind, location string
	// tags is the escaped, sorted tag set shared by every line of the
	// device: ",device=...,gateway=...,kind=...,location=...,site=...".
	tags []byte

	online  bool
	prevSet struct{ door, arm, moving, vehicles bool }
	prev    struct {
		door, arm, moving bool
		vehicles          drivers.Value
	}

	win   *window
	spare *window
}

// window is what one device did in one interval.
type window struct {
	values   map[string]*pointValue
	order    []string // point names in first-seen order, for stable lines
	polls    int64
	failures int64
	latSum   time.Duration
	latMax   time.Duration

	doorOpenings, gateCycles, liftTrips int64
	vehicles                            int64
	granted, denied                     int64
	floors                              map[int64]struct{}
}

// pointValue is the last value of one point in the window.
type pointValue struct {
	set  bool
	num  float64
	list []float64 // array points (count > 1)
}

func newWindow() *window {
	return &window{values: map[string]*pointValue{}, floors: map[int64]struct{}{}}
}

// reset empties the window for reuse, keeping its maps and point slots.
func (w *window) reset() {
	for _, p := range w.values {
		p.set = false
		p.list = p.list[:0]
	}
	clear(w.floors)
	*w = window{values: w.values, order: w.order, floors: w.floors}
}

func newDevice(site, gateway string, d configs.Device) *device {
	tags := appendTags(nil, []tag{
		{"site", site}, {"gateway", gateway}, {"device", d.ID},
		{"kind", d.Kind}, {"location", d.Location},
	})
	return &device{id: d.ID, kind: d.Kind, location: d.Location, tags: tags, win: newWindow(), spare: newWindow()}
}

// observe folds one poll into the window. The caller holds the lock.
func (d *device) observe(r drivers.Reading) {
	w := d.win
	w.polls++
	if r.Err != nil || r.Quality != drivers.Good {
		w.failures++
	}
	w.latSum += r.Latency
	w.latMax = max(w.latMax, r.Latency)
	d.online = r.Online
	if r.Quality != drivers.Good {
		// Stale values repeat the last good poll: nothing new to record.
		return
	}
	for name, v := range r.Values {
		if v.Type == configs.TypeString || name == "" || secret(name) {
			continue
		}
		p := w.values[name]
		if p == nil {
			p = &pointValue{}
			w.values[name] = p
			w.order = append(w.order, name)
		}
		p.set = true
		p.num = v.Num
		p.list = p.list[:0]
		for _, e := range v.List {
			p.list = append(p.list, e.Num)
		}
	}
	d.edges(r)
}

// secret reports whether a point holds what a credential reader read (a
// card number, QR code or PIN), which must never leave the gateway raw:
// `credential` and any other `credential...` point but the read counter
// `credential_seq`.
func secret(name string) bool {
	return strings.HasPrefix(name, "credential") && name != "credential_seq"
}

// edges derives the counters from state changes between polls.
func (d *device) edges(r drivers.Reading) {
	w := d.win
	if v, ok := r.Get("door_open"); ok {
		open := v.Bool()
		if d.prevSet.door && !d.prev.door && open {
			w.doorOpenings++
			if f, ok := r.Get("floor"); ok && d.kind == configs.KindElevator {
				w.floors[int64(math.Round(f.Num))] = struct{}{}
			}
		}
		d.prev.door, d.prevSet.door = open, true
	}
	if v, ok := r.Get("arm_open"); ok {
		open := v.Bool()
		if d.prevSet.arm && !d.prev.arm && open {
			w.gateCycles++
		}
		d.prev.arm, d.prevSet.arm = open, true
	}
	if v, ok := r.Get("moving"); ok {
		moving := v.Bool()
		if d.prevSet.moving && !d.prev.moving && moving {
			w.liftTrips++
		}
		d.prev.moving, d.prevSet.moving = moving, true
	}
	if v, ok := r.Get("vehicle_count"); ok {
		if d.prevSet.vehicles {
			w.vehicles += counterDelta(d.prev.vehicles, v)
		}
		d.prev.vehicles, d.prevSet.vehicles = v, true
	}
}

// counterDelta is how far a vehicle counter moved from prev to cur. A
// counter that went down either wrapped around its register width (it was
// in the top quarter of its range and is now in the bottom quarter) or was
// reset, in which case it counted cur vehicles since the reset.
func counterDelta(prev, cur drivers.Value) int64 {
	p, c := prev.Num, cur.Num
	if c >= p {
		return int64(math.Round(c - p))
	}
	var span float64
	switch cur.Type {
	case configs.TypeUint16:
		span = 1 << 16
	case configs.TypeUint32:
		span = 1 << 32
	}
	if span > 0 && prev.Uint >= uint64(span*3/4) && cur.Uint < uint64(span/4) {
		return int64(span) - int64(prev.Uint) + int64(cur.Uint)
	}
	return int64(math.Round(c))
}
