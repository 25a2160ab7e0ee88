package access

import (
	"reflect"
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
