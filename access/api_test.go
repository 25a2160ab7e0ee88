package access

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
)

// durableSink stands in for the outbox: it numbers what it stores, or fails.
type durableSink struct {
	mu   sync.Mutex
	evs  []events.Event
	fail bool
}

func (d *durableSink) emit(_ context.Context, ev events.Event) (events.Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return events.Event{}, errors.New("disk full")
	}
	ev.ID = events.NewID(ev.Time)
	d.evs = append(d.evs, ev)
	return ev, nil
}

// waitWrites waits (bounded) until the actuator saw n writes.
func waitWrites(t *testing.T, a *fakeActuator, n int) []write {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		got := len(a.writes)
		a.mu.Unlock()
		if got >= n {
			return a.take()
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d writes, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAPIHandler(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1,
		Entry{ID: "rider-1", Credentials: []Credential{cred(TypeQR, "QR-SECRET-1")}, Doors: []string{door.ID}},
	))
	act := &fakeActuator{}
	c, err := NewController(f.store, testDevices, act, ControllerOptions{UnlockTime: time.Hour, Emit: (&sink{}).emit})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	out := &durableSink{}
	srv := httptest.NewServer(NewAPIHandler(c, "s3cret-token", out.emit, f.store.log))
	defer srv.Close()

	for _, tc := range []struct {
		name, method, auth, body string
		failEmit                 bool
		code                     int
		granted                  bool
		reason                   string
	}{
		{"no token", "POST", "", `{"device":"door-a1-lobby","type":"qr","value":"QR-SECRET-1"}`, false, 401, false, ""},
		{"wrong token", "POST", "Bearer s3cret-tokeN", `{"device":"door-a1-lobby","type":"qr","value":"QR-SECRET-1"}`, false, 401, false, ""},
		{"basic auth", "POST", "Basic s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"QR-SECRET-1"}`, false, 401, false, ""},
		{"get", "GET", "Bearer s3cret-token", ``, false, 405, false, ""},
		{"malformed", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":`, false, 400, false, ""},
		{"unknown field", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"x","pin":"1"}`, false, 400, false, ""},
		{"trailing", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"x"} {}`, false, 400, false, ""},
		{"bad type", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"face","value":"x"}`, false, 400, false, ""},
		{"too large", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"` + strings.Repeat("x", MaxAPIBody) + `"}`, false, 413, false, ""},
		{"unknown device", "POST", "Bearer s3cret-token", `{"device":"door-zz","type":"qr","value":"QR-SECRET-1"}`, false, 404, false, ""},
		{"not stored", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"QR-SECRET-1"}`, true, 503, false, ""},
		{"denied", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"QR-OTHER"}`, false, 200, false, ReasonUnknown},
		{"granted", "POST", "Bearer s3cret-token", `{"device":"door-a1-lobby","type":"qr","value":"QR-SECRET-1"}`, false, 200, true, ReasonGranted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out.mu.Lock()
			out.fail, out.evs = tc.failEmit, nil
			out.mu.Unlock()
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+"/api/v1/access", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.code)
			}
			if tc.code != 200 {
				if strings.Contains(string(body), "QR-SECRET-1") {
					t.Errorf("error body echoes the credential: %s", body)
				}
				return
			}
			var ar accessResponse
			if err := json.Unmarshal(body, &ar); err != nil {
				t.Fatal(err)
			}
			out.mu.Lock()
			evs := out.evs
			out.mu.Unlock()
			if ar.Granted != tc.granted || ar.Reason != tc.reason || len(evs) != 1 || ar.EventID != evs[0].ID || ar.EventID == "" {
				t.Fatalf("response %+v, stored %+v", ar, evs)
			}
			if evs[0].Data["via"] != "api" || evs[0].Data["reason"] != tc.reason {
				t.Errorf("event %+v", evs[0])
			}
		})
	}
	// Only the granted request actuated (the failed-to-store one did not).
	if w := waitWrites(t, act, 1); len(w) != 1 || w[0].point != PointUnlock || w[0].value != "1" {
		t.Fatalf("writes %v", w)
	}
	if st := c.Stats(); st.Granted != 1 || st.Denied != 1 || st.APIRejected != 11 || st.EmitFailed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAPIHandlerNoTokenConfigured(t *testing.T) {
	f := newFixture(t, time.UTC)
	c, err := NewController(f.store, testDevices, &fakeActuator{}, ControllerOptions{Emit: (&sink{}).emit})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/access", strings.NewReader(`{"device":"door-a1-lobby","type":"qr","value":"x"}`))
	req.Header.Set("Authorization", "Bearer ")
	NewAPIHandler(c, "", (&durableSink{}).emit, nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d with no token configured", rec.Code)
	}
}
