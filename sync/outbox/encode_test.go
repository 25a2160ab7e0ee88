package outbox

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
)

// The fast encoder must follow the envelope: a field added to events.Event
// must be added to appendEvent too.
func TestEncoderKnowsEveryEnvelopeField(t *testing.T) {
	want := []string{"SpecVersion", "ID", "Source", "Subject", "Type", "Time", "DataContentType",
		"Sequence", "Severity", "Route", "AlarmID", "Phase", "Data"}
	typ := reflect.TypeOf(events.Event{})
	var got []string
	for i := 0; i < typ.NumField(); i++ {
		got = append(got, typ.Field(i).Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events.Event has fields %v; appendEvent encodes %v: update encode.go", got, want)
	}
}

func checkEncoding(t *testing.T, ev events.Event) {
	t.Helper()
	ev.Sequence = seqPlaceholder
	want, err := ev.MarshalJSON()
	if err != nil {
		t.Skip("not encodable:", err)
	}
	got, at, err := appendEvent(nil, &ev)
	if err != nil {
		t.Fatalf("appendEvent: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs:\n got %s\nwant %s", got, want)
	}
	if string(got[at:at+20]) != seqPlaceholder {
		t.Fatalf("sequence offset %d wrong in %s", at, got)
	}
}

func TestEncoderMatchesMarshalJSON(t *testing.T) {
	base := events.New("door.forced_open", "door-a1-lobby", time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.FixedZone("CST", 8*3600)), events.High, events.RoutePolice)
	tests := []struct {
		name string
		edit func(e *events.Event)
	}{
		{"plain", func(e *events.Event) {}},
		{"alarm with data", func(e *events.Event) {
			e.AlarmID, e.Phase = "door-a1-lobby/door.forced_open/7", events.Raised
			e.Data = map[string]any{"location": "Block A1 lobby", "floor": 12, "ok": true, "list": []int{1, 2}}
		}},
		{"escapes", func(e *events.Event) {
			e.Subject = "a\"b\\c<d>e&f\n\t\r\b\f\x01 \u2028\u2029 é 电梯 \xff"
			e.ID = "<script>"
		}},
		{"empty optional fields", func(e *events.Event) { e.Subject, e.Data = "", map[string]any{} }},
		{"zero time", func(e *events.Event) { e.Time = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			tt.edit(&e)
			checkEncoding(t, e)
		})
	}
}

func FuzzEncoderMatchesMarshalJSON(f *testing.F) {
	f.Add("door-a1-lobby", "door.forced_open", "a/b/7", "Block A1", int64(1764237600123))
	f.Add("\u2028<&>", "\xff\xfe", "\"\\", "\x00\x1f", int64(-1))
	f.Fuzz(func(t *testing.T, subject, typ, alarm, loc string, ms int64) {
		e := events.New(typ, subject, time.UnixMilli(ms), events.Medium, events.RouteStreet)
		e.AlarmID = alarm
		e.Data = map[string]any{"location": loc}
		checkEncoding(t, e)
	})
}
