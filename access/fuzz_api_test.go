package access_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/events"
)

const fzToken = "s3cret-token-for-readers"

// durableRecorder is a DurableEmit that stores nothing but counts and
// gives each event an id, as the outbox does.
type durableRecorder struct {
	mu   sync.Mutex
	n    int
	last events.Event
}

func (d *durableRecorder) emit(_ context.Context, ev events.Event) (events.Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	ev.ID = fmt.Sprintf("ev-%d", d.n)
	d.last = ev
	return ev, nil
}

func (d *durableRecorder) count() (int, events.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n, d.last
}

// FuzzAPIBody sends arbitrary requests to the local API handler: bodies of
// any shape and size (up to several times the limit), with the right token,
// none or a wrong one, and with other methods. It must answer 4xx for
// anything it refuses, never 5xx, with an error that says what is wrong,
// and emit no event for a refused request; a 200 answers the decision of
// exactly one stored event.
func FuzzAPIBody(f *testing.F) {
	for _, s := range []string{
		`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"}`,
		`{"device":"door-a1-lobby","type":"qr","value":"Q-unknown"}`,
		`{"device":"lift-a1","type":"qr","value":"Q-r2"}`,
		`{"device":"gate-north","type":"card","value":"12345678"}`,
		`{"device":"door-zz","type":"qr","value":"Q-r1"}`,
		`{"device":"door-a1-lobby","type":"face","value":"Q-r1"}`,
		`{"device":"door-a1-lobby","type":"qr","value":""}`,
		`{"device":"door-a1-lobby","type":"qr","value":42}`,
		`{"device":["door-a1-lobby"],"type":"qr","value":"Q-r1"}`,
		`{"device":"door-a1-lobby","type":"qr","value":"Q-r1","admin":true}`,
		`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"} {"device":"x"}`,
		`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"`,
		`{"DEVICE":"door-a1-lobby","Type":"qr","value":"Q-r1"}`,
		`null`, `[]`, `""`, ``, "\xff\xfe",
		`{"device":"door-a1-lobby","type":"qr","value":"` + strings.Repeat("9", 300) + `"}`,
	} {
		f.Add(uint8(0), uint8(0), uint8(0), []byte(s))
	}
	f.Add(uint8(0), uint8(0), uint8(255), []byte(`{"device":"door-a1-lobby","type":"qr","value":"`+strings.Repeat("x", 400)+`"}`))
	f.Add(uint8(0), uint8(0), uint8(250), []byte(strings.Repeat(" ", 300)))
	f.Add(uint8(1), uint8(0), uint8(0), []byte(`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"}`))
	f.Add(uint8(2), uint8(0), uint8(0), []byte(`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"}`))
	f.Add(uint8(3), uint8(0), uint8(0), []byte(`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"}`))
	f.Add(uint8(0), uint8(1), uint8(0), []byte(`{"device":"door-a1-lobby","type":"qr","value":"Q-r1"}`))

	store := openFzStore(f, f.TempDir())
	f.Cleanup(func() { _ = store.Close() })
	if _, err := store.ApplySigned(context.Background(), fzCentral.sign(f, fzDoc(5, access.KindSnapshot, 0, "r1", "r2", "r3"))); err != nil {
		f.Fatal(err)
	}
	ctrlEvents := &fzEvents{}
	c, err := access.NewController(store, fzDevices(f), &fzActuator{}, access.ControllerOptions{
		Emit: ctrlEvents.emit, Now: func() time.Time { return fzNow }, QueueSize: 1,
	})
	if err != nil {
		f.Fatal(err)
	}
	rec := &durableRecorder{}
	h := access.NewAPIHandler(c, fzToken, rec.emit, nil)
	methods := []string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete}
	f.Fuzz(func(t *testing.T, auth, method, rep uint8, body []byte) {
		if rep > 0 && len(body) > 0 {
			body = bytes.Repeat(body, 1+int(rep))
		}
		if len(body) > maxFuzzInput {
			t.Skip("bounded input")
		}
		m := methods[int(method)%len(methods)]
		req := httptest.NewRequest(m, "/api/v1/access", bytes.NewReader(body))
		switch auth % 4 {
		case 0:
			req.Header.Set("Authorization", "Bearer "+fzToken)
		case 2:
			req.Header.Set("Authorization", "Bearer "+fzToken+"x")
		case 3:
			req.Header.Set("Authorization", "Basic "+fzToken)
		}
		req.Header.Set("Content-Type", "application/json")
		before, _ := rec.count()
		rejectedBefore := c.Stats().APIRejected
		w := httptest.NewRecorder()
		within(t, "the API handler", func() { h.ServeHTTP(w, req) })
		after, last := rec.count()
		code := w.Code
		if code >= 500 {
			t.Fatalf("status %d for %s %q: %s", code, m, body, w.Body)
		}
		switch {
		case m != http.MethodPost && code != http.StatusMethodNotAllowed:
			t.Fatalf("%s answered %d, want 405", m, code)
		case m == http.MethodPost && auth%4 != 0 && code != http.StatusUnauthorized:
			t.Fatalf("request without the token answered %d, want 401", code)
		}
		if code != http.StatusOK {
			if after != before {
				t.Fatalf("refused request (%d) emitted %d events", code, after-before)
			}
			if c.Stats().APIRejected != rejectedBefore+1 {
				t.Fatalf("refused request (%d) not counted", code)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || strings.TrimSpace(e.Error) == "" {
				t.Fatalf("refusal %d without an error message: %q (%v)", code, w.Body, err)
			}
			return
		}
		if after != before+1 {
			t.Fatalf("a 200 emitted %d events, want 1", after-before)
		}
		var resp struct {
			Granted bool   `json:"granted"`
			Reason  string `json:"reason"`
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.EventID != last.ID || resp.Reason == "" {
			t.Fatalf("200 body %q (%v), last event %s", w.Body, err, last.ID)
		}
		wantType := access.EventDenied
		if resp.Granted {
			wantType = access.EventGranted
		}
		if last.Type != wantType || last.Data["reason"] != resp.Reason {
			t.Fatalf("answered granted=%v reason %q, event %s %v", resp.Granted, resp.Reason, last.Type, last.Data)
		}
		if bytes.Contains(w.Body.Bytes(), []byte("Q-r")) {
			t.Fatalf("the answer echoes the credential: %q", w.Body)
		}
	})
}
