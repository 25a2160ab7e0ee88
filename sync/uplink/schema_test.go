package uplink

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// schemaDir holds the published JSON Schemas (docs/schemas).
var schemaDir = filepath.Join("..", "..", "docs", "schemas")

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[name]; ok {
		return s
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.AssertContent()
	s, err := c.Compile(filepath.Join(schemaDir, name))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	schemaCache[name] = s
	return s
}

func schemaErr(t *testing.T, name string, payload []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return compileSchema(t, name).Validate(inst)
}

// validate fails the test when payload does not satisfy the schema.
func validate(t *testing.T, name string, payload []byte) {
	t.Helper()
	if err := schemaErr(t, name, payload); err != nil {
		t.Errorf("%s does not accept %s:\n%v", name, payload, err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSchemasAcceptTheContractAndRejectMistakes(t *testing.T) {
	sig := b64(strings.Repeat("s", 64))
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		schema  string
		payload string
		ok      bool
	}{
		{"event.schema.json", `{"specversion":"1.0","id":"01JDX3ABCDEFGHJKMNPQRSTVWX","source":"/jusha/wannan/gw-01","subject":"door-a1-lobby","type":"door.forced_open","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"00000000000000000042","severity":"high","route":"police","alarmid":"door-a1-lobby/door.forced_open/7","phase":"raised","data":{"location":"Block A1 lobby"}}`, true},
		{"event.schema.json", `{"specversion":"1.0","id":"x","source":"/jusha/wannan/gw-01","type":"access.denied","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"00000000000000000043","severity":"info","route":"record","data":{"reason":"expired"}}`, true},
		{"event.schema.json", `{"specversion":"1.0","id":"x","source":"/jusha/wannan/gw-01","type":"access.denied","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"00000000000000000043","severity":"info","route":"record","data":{"reason":"because"}}`, false},
		{"event.schema.json", `{"specversion":"1.0","id":"x","source":"/jusha/wannan/gw-01","type":"door.forced_open","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"42","severity":"high","route":"police"}`, false},
		{"event.schema.json", `{"specversion":"1.0","id":"x","source":"/jusha/wannan/gw-01","type":"door.forced_open","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"00000000000000000042","severity":"urgent","route":"police"}`, false},
		{"event.schema.json", `{"specversion":"1.0","id":"x","source":"/jusha/wannan/gw-01","type":"door.forced_open","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"00000000000000000042","severity":"high","route":"police","phase":"raised"}`, false},
		{"event.schema.json", `{"specversion":"1.0","id":"x","source":"/jusha/wannan/gw-01","type":"door.exploded","time":"2026-11-27T10:00:00.123Z","datacontenttype":"application/json","sequence":"00000000000000000042","severity":"high","route":"police"}`, false},
		{"status.schema.json", `{"status":"online","boot_id":"01JDX3","version":"1.0.0","time":"2026-11-27T10:00:00.000Z"}`, true},
		{"status.schema.json", `{"status":"asleep","boot_id":"01JDX3","version":"1.0.0","time":"2026-11-27T10:00:00.000Z"}`, false},
		{"reply.schema.json", `{"id":"c1","ok":true}`, true},
		{"reply.schema.json", `{"id":"c1","ok":false}`, false},
		{"reply.schema.json", `{"id":"c1","ok":true,"error":"no"}`, false},
		{"ack.schema.json", `{"id":"01JDX3","by":"ops-7","time":"2026-11-27T10:00:01Z"}`, true},
		{"ack.schema.json", `{"id":"01JDX3","time":"2026-11-27T10:00:01Z"}`, false},
		{"signed.schema.json", `{"key_id":"central-2026","payload":"` + b64(`{"site":"wannan"}`) + `","sig":"` + sig + `"}`, true},
		{"signed.schema.json", `{"key_id":"central-2026","payload":"not base64!","sig":"` + sig + `"}`, false},
		{"whitelist.schema.json", `{"site":"wannan","version":42,"kind":"snapshot","issued_at":"2026-11-27T09:00:00Z","upsert":[{"id":"rider-8812","label":"rider 138****1234","credentials":[{"type":"qr","hash":"` + hash + `"}],"doors":["door-a1-lobby"],"floors":{"lift-a1":[1,12]},"gates":["gate-north"],"valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-12-01T00:00:00Z","schedule":[{"days":"mon-sun","from":"07:00","to":"23:30"}],"max_uses_per_day":50}],"remove":["rider-7001"]}`, true},
		{"whitelist.schema.json", `{"site":"wannan","version":43,"kind":"delta","issued_at":"2026-11-27T09:00:00Z"}`, false},
		{"whitelist.schema.json", `{"site":"wannan","version":43,"kind":"snapshot","issued_at":"2026-11-27T09:00:00Z","upsert":[{"id":"r","credentials":[{"type":"qr","hash":"13812341234"}]}]}`, false},
		{"open.schema.json", `{"id":"o1","device":"door-a1-lobby","expires_at":"2026-11-27T10:01:00Z","by":"ops"}`, true},
		{"open.schema.json", `{"id":"o1","device":"lift-a1","floor":12,"by":"ops"}`, false},
		{"state.schema.json", `{"online":true,"device":"door-a1-lobby","points":{"door_open":false,"battery_volts":12.6}}`, true},
		{"state.schema.json", `{"points":{}}`, false},
	}
	for i, tt := range tests {
		t.Run(tt.schema+"/"+itoa(i), func(t *testing.T) {
			err := schemaErr(t, tt.schema, []byte(tt.payload))
			if (err == nil) != tt.ok {
				t.Fatalf("valid=%v, want %v: %v", err == nil, tt.ok, err)
			}
		})
	}
}

// TestAsyncAPIDocumentsEveryTopic checks docs/asyncapi.yaml: AsyncAPI 3.0,
// every topic of the contract, every schema it names present.
func TestAsyncAPIDocumentsEveryTopic(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "asyncapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsyncAPI string `yaml:"asyncapi"`
		Channels map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"channels"`
		Operations map[string]struct {
			Action string `yaml:"action"`
		} `yaml:"operations"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsyncAPI != "3.0.0" {
		t.Fatalf("asyncapi %q", doc.AsyncAPI)
	}
	addrs := map[string]bool{}
	for _, c := range doc.Channels {
		addrs[c.Address] = true
	}
	for _, want := range []string{"status", "events/{category}", "state/{device}", "cmd/ack", "cmd/whitelist", "cmd/open", "reply"} {
		if !addrs["{prefix}/{site}/{gateway}/"+want] {
			t.Errorf("channel %s missing (have %v)", want, addrs)
		}
	}
	for name, op := range doc.Operations {
		if op.Action != "send" && op.Action != "receive" {
			t.Errorf("operation %s: action %q", name, op.Action)
		}
	}
	for _, m := range bytes.Split(raw, []byte("\n")) {
		i := bytes.Index(m, []byte("schemas/"))
		if i < 0 || !bytes.Contains(m, []byte("$ref")) {
			continue
		}
		name := strings.Trim(string(m[i+len("schemas/"):]), `'" }`)
		compileSchema(t, name)
	}
}
