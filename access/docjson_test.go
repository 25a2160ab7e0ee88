package access

import (
	"encoding/json"
	"reflect"
	"testing"
)

const fullDoc = `{"site":"wannan","version":42,"kind":"delta","base_version":41,"issued_at":"2026-11-27T10:00:00.123+08:00",
 "upsert":[{"id":"rider-8812","label":"rider 138****1234 \u00e9\"",
   "credentials":[{"type":"qr","hash":"0011223344556677889900112233445566778899001122334455667788990011"}],
   "doors":["door-a1-lobby"],"floors":{"lift-a1":[1,12,-2],"lift-b":[]},"gates":[],
   "valid_from":"2026-01-01T00:00:00Z","valid_until":null,
   "schedule":[{"days":"mon-sun","from":"07:00","to":"23:30"}],"max_uses_per_day":50,"revoked":false}],
 "remove":["rider-7001"]}`

func TestDecodeDocumentMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		fullDoc,
		`{"site":"s","version":1,"kind":"snapshot","upsert":[]}`,
		`{"site":null,"upsert":null,"remove":null}`,
		`{"upsert":[{"id":"a","credentials":[],"floors":{},"schedule":[],"valid_from":null,"revoked":true,"max_uses_per_day":0}]}`,
		` {} `,
	} {
		got, err := decodeDocument([]byte(in))
		if err != nil {
			t.Fatalf("decodeDocument(%s): %v", in, err)
		}
		var want Document
		if err := decodeStrict([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("decodeDocument(%s)\n got %+v\nwant %+v", in, *got, want)
		}
	}
	for _, in := range []string{
		`{"site":"s","extra":1}`,
		`{"site":"s","site":"t"}`,
		`{"Site":"s"}`,
		`{"version":-1}`,
		`{"version":1.5}`,
		`{"version":01}`,
		`{"version":"1"}`,
		`{"upsert":[null]}`,
		`{"upsert":[{"id":"a","pin":"1234"}]}`,
		`{"upsert":[{"floors":{"l":[1],"l":[2]}}]}`,
		`{"upsert":[{"floors":{"l":[1.5]}}]}`,
		`{"issued_at":"yesterday"}`,
		`{"site":"s"} {}`,
		`{"site":"s",}`,
		`{"site":"s"`,
		`null`,
		``,
	} {
		if _, err := decodeDocument([]byte(in)); err == nil {
			t.Errorf("decodeDocument(%s) accepted", in)
		}
	}
}

// FuzzDecodeDocument: whatever the hand-written decoder accepts,
// encoding/json (strict) accepts too, with the same result.
func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(fullDoc))
	f.Add([]byte(`{"site":"s","version":1,"kind":"snapshot","upsert":[]}`))
	f.Add([]byte(`{"upsert":[{"id":"a","credentials":[{"type":"pin","hash":"x"}],"floors":{"l":[-0,1e0]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeDocument(b)
		if err != nil {
			return
		}
		var want Document
		if err := decodeStrict(b, &want); err != nil {
			t.Fatalf("decodeDocument accepted %q; encoding/json: %v", b, err)
		}
		if !reflect.DeepEqual(*got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("decodeDocument(%q)\n got %s\nwant %s", b, g, w)
		}
		_ = got.validate() // must not panic
	})
}
