package access

import (
	"encoding/json"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Envelope
		ok   bool
	}{
		{`{"key_id":"k","payload":"cGF5","sig":"c2ln"}`, Envelope{"k", "cGF5", "c2ln"}, true},
		{" \n{ \"sig\" : \"s\" ,\"payload\":\"p\", \"key_id\":\"k\" }\n", Envelope{"k", "p", "s"}, true},
		{`{"key_id":"a\"b\\","payload":"x\/y","sig":"\u0041"}`, Envelope{`a"b\`, "x/y", "A"}, true},
		{`{}`, Envelope{}, true},
		{`{"key_id":"k","payload":"p","sig":"s","extra":"x"}`, Envelope{}, false},
		{`{"key_id":"k","key_id":"j"}`, Envelope{}, false},
		{`{"key_id":1}`, Envelope{}, false},
		{`{"key_id":"k",}`, Envelope{}, false},
		{`{"key_id":"k"} x`, Envelope{}, false},
		{`{"key_id":"k"`, Envelope{}, false},
		{`{"key_id":"k`, Envelope{}, false},
		{"{\"key_id\":\"a\tb\"}", Envelope{}, false},
		{`[]`, Envelope{}, false},
		{``, Envelope{}, false},
	} {
		got, err := parseEnvelope([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseEnvelope(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseEnvelope checks the fast parser against encoding/json: whatever
// it accepts, encoding/json decodes to the same envelope.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"key_id":"k","payload":"cGF5","sig":"c2ln"}`))
	f.Add([]byte(`{"key_id":"a\"b\\","payload":"x\/y","sig":"\u0041"}`))
	f.Add([]byte(`{"sig":"","payload":"\\\\\"","key_id":"\n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseEnvelope(b)
		if err != nil {
			return
		}
		var want Envelope
		if err := decodeStrict(b, &want); err != nil {
			t.Fatalf("parseEnvelope accepted %q, encoding/json: %v", b, err)
		}
		if got != want {
			t.Fatalf("parseEnvelope(%q) = %+v, encoding/json %+v", b, got, want)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatal(err)
		}
	})
}
