package access

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	from := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, e := range []Entry{
		{ID: "a", Credentials: []Credential{cred(TypeCard, "1")}},
		{ID: "rider-8812", Label: "rider 138****1234", Credentials: []Credential{cred(TypeQR, "q"), cred(TypePIN, "9")},
			Doors: []string{"d1", "d2"}, Gates: []string{"g"}, Floors: map[string][]int{"l1": {-2, 1, 12}, "l2": {}},
			ValidFrom: &from, ValidUntil: tp(from.Add(time.Hour)),
			Schedule:      []Window{{Days: "mon-fri", From: "22:00", To: "06:00"}},
			MaxUsesPerDay: 50, Revoked: true},
	} {
		b := encodeEntry(nil, &e)
		got, err := decodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("round trip\n got %+v\nwant %+v", got, e)
		}
		for i := range b {
			if _, err := decodeEntry(b[:i]); err == nil {
				t.Errorf("decodeEntry accepted a record cut at %d of %d bytes", i, len(b))
			}
		}
		if _, err := decodeEntry(append(b, 0)); err == nil {
			t.Error("decodeEntry accepted trailing bytes")
		}
	}
}

// FuzzDecodeEntry: a damaged record is an error, never a panic or a huge
// allocation.
func FuzzDecodeEntry(f *testing.F) {
	e := Entry{ID: "r", Credentials: []Credential{cred(TypeQR, "q")}, Doors: []string{"d"},
		Floors: map[string][]int{"l": {1}}, Schedule: []Window{{Days: "mon", From: "01:00", To: "02:00"}}}
	f.Add(encodeEntry(nil, &e))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := decodeEntry(b); err == nil {
			_ = e.validate(nil)
		}
	})
}

// FuzzParseRecord: the decision view of a damaged record is an error or
// agrees with decodeEntry, and reading its scope and schedule never panics.
func FuzzParseRecord(f *testing.F) {
	from := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, e := range []Entry{
		{ID: "r", Credentials: []Credential{cred(TypeQR, "q")}, Doors: []string{"d"},
			Floors: map[string][]int{"l": {3, 1, 3}}, Schedule: []Window{{Days: "mon", From: "01:00", To: "02:00"}}},
		{ID: "s", Credentials: []Credential{cred(TypeCard, "1"), cred(TypePIN, "2")}, Gates: []string{"g"},
			ValidFrom: &from, ValidUntil: tp(from.Add(time.Hour)), MaxUsesPerDay: 3, Revoked: true},
	} {
		f.Add(encodeEntry(nil, &e))
	}
	var cache schedules
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := parseRecord(b)
		if err != nil {
			return
		}
		for _, dev := range []Device{{ID: "d", Kind: "door"}, {ID: "g", Kind: "gate"}, {ID: "l", Kind: "elevator"}} {
			floors, _ := rec.scopeFor(&dev)
			if !slices.IsSorted(floors) {
				t.Fatalf("floors %v not sorted", floors)
			}
		}
		_, _ = cache.get(rec.schedule)
		e, err := decodeEntry(b)
		if err != nil {
			return // decodeEntry also checks credential types, which decisions do not read
		}
		if string(rec.id) != e.ID || rec.revoked != e.Revoked || int(rec.maxUses) != e.MaxUsesPerDay {
			t.Fatalf("record %+v, entry %+v", rec, e)
		}
		for _, d := range e.Doors {
			if _, ok := rec.scopeFor(&Device{ID: d, Kind: "door"}); !ok {
				t.Fatalf("door %q of the entry not in the record's scope", d)
			}
		}
	})
}
