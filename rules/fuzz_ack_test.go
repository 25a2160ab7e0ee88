package rules_test

import (
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/rules"
)

// ackRig is an engine with one raised, unacknowledged door.forced_open.
type ackRig struct {
	e       *rules.Engine
	mu      sync.Mutex
	evs     []events.Event
	start   time.Time
	alarmID string
	eventID string
}

func (r *ackRig) emit(ev events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.ID == "" {
		ev.ID = "stored-" + string(ev.Phase) + "-" + ev.Type // the outbox would set it
	}
	r.evs = append(r.evs, ev)
}

func (r *ackRig) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.evs {
		out = append(out, ev.Type+"/"+string(ev.Phase))
	}
	return out
}

func newAckRig(tb testing.TB) *ackRig {
	tb.Helper()
	r := &ackRig{start: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	cfg := &configs.Config{Devices: []configs.Device{{ID: "door-a1-lobby", Kind: configs.KindDoor, Location: "Block A1 lobby"}}}
	cfg.Upstream.AckTimeout = configs.Duration(time.Minute)
	e, err := rules.NewEngine(cfg, rules.Options{Now: func() time.Time { return r.start }}, r.emit, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	r.e = e
	door := func(sec int, open bool) drivers.Reading {
		return drivers.Reading{Device: "door-a1-lobby", Time: r.start.Add(time.Duration(sec) * time.Second),
			Quality: drivers.Good, Online: true, Values: map[string]drivers.Value{
				"door_open": drivers.BoolValue(open), "lock_released": drivers.BoolValue(false)}}
	}
	e.Observe(door(0, false))
	e.Observe(door(1, true))
	alarms := e.OpenAlarms()
	if len(alarms) != 1 {
		tb.Fatalf("setup: %d open alarms, want 1", len(alarms))
	}
	r.alarmID = alarms[0].ID
	// The gateway hands every event back once the outbox stored it (with
	// its id), so that an ack may name the event instead of the alarm.
	r.mu.Lock()
	stored := append([]events.Event(nil), r.evs...)
	r.mu.Unlock()
	for _, ev := range stored {
		if ev.AlarmID == r.alarmID {
			r.eventID = ev.ID
		}
		e.Notify(ev)
	}
	return r
}

// FuzzAck acknowledges alarms with arbitrary ids, signers and times, as
// P/cmd/ack delivers them. An id that is neither the alarm's nor one of its
// events' must be refused with ErrUnknownAlarm naming the id, leave the
// open alarms exactly as they were, and must not keep the alarm from being
// escalated when the ack timeout passes; a real id must stop escalation.
func FuzzAck(f *testing.F) {
	f.Add("door-a1-lobby/door.forced_open/1", "operator-7", int64(0))
	f.Add("stored-raised-door.forced_open", "operator-7", int64(30))
	f.Add("", "", int64(0))
	f.Add("door-a1-lobby/door.forced_open/2", "x", int64(-1<<62))
	f.Add("door-a1-lobby/door.forced_open/", "x", int64(1<<62))
	f.Add("door-a1-lobby", "x", int64(5))
	f.Add("01JDX3ZZZZZZZZZZZZZZZZZZZZ", "x", int64(5))
	f.Add(strings.Repeat("a", 4096), strings.Repeat("b", 4096), int64(5))
	f.Add("\x00\xff\"'", "\n", int64(5))
	f.Fuzz(func(t *testing.T, id, by string, offset int64) {
		if len(id)+len(by) > 1<<20 {
			t.Skip("larger than the uplink accepts")
		}
		r := newAckRig(t)
		before := r.e.OpenAlarms()
		at := r.start.Add(time.Duration(offset))
		err := r.e.Ack(id, by, at)
		real := id == r.alarmID || (id == r.eventID && id != "")
		if real {
			if err != nil {
				t.Fatalf("ack of %q: %v", id, err)
			}
			got := r.e.OpenAlarms()
			if len(got) != 1 || !got[0].Acked || got[0].AckedBy != by {
				t.Fatalf("ack of %q not recorded: %+v", id, got)
			}
		} else {
			if !errors.Is(err, rules.ErrUnknownAlarm) {
				t.Fatalf("ack of unknown id %q: %v, want ErrUnknownAlarm", id, err)
			}
			if len(id) < 200 && !strings.Contains(err.Error(), strings.Trim(strconv.Quote(id), `"`)) {
				t.Fatalf("error %q does not name the id %q", err, id)
			}
			if after := r.e.OpenAlarms(); !reflect.DeepEqual(after, before) {
				t.Fatalf("refused ack changed the alarms:\nbefore %+v\nafter  %+v", before, after)
			}
		}
		// The ack timeout passes: an unacknowledged alarm is escalated.
		r.e.Tick(r.start.Add(2 * time.Minute))
		escalated := false
		for _, ty := range r.types() {
			if strings.HasPrefix(ty, "alarm.escalated/") || strings.HasSuffix(ty, "/"+string(events.Escalated)) {
				escalated = true
			}
		}
		if escalated == real {
			t.Fatalf("ack %q (real %v): escalated %v; events %v", id, real, escalated, r.types())
		}
	})
}
