package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr     string
		hasToken bool
		wantErr  bool
	}{
		{"127.0.0.1:8080", false, false},
		{"127.0.0.2:8080", false, false},
		{"[::1]:8080", false, false},
		{"localhost:8080", false, false},
		{"0.0.0.0:8080", false, true},
		{":8080", false, true},
		{"[::]:8080", false, true},
		{"192.168.1.10:8080", false, true},
		{"gateway.local:8080", false, true},
		{"0.0.0.0:8080", true, false},
		{":8080", true, false},
		{"", true, true},
		{"127.0.0.1", false, true}, // no port
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := CheckListen(tt.addr, tt.hasToken)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckListen(%q, %v) = %v, want error %v", tt.addr, tt.hasToken, err, tt.wantErr)
			}
		})
	}
	if err := CheckListen("0.0.0.0:8080", false); !errors.Is(err, ErrTokenRequired) {
		t.Errorf("error %v does not wrap ErrTokenRequired", err)
	}
}

func TestNewRefusesBeyondLoopbackWithoutToken(t *testing.T) {
	for _, listen := range []string{":8080", "0.0.0.0:8080", "10.0.0.5:80"} {
		_, err := New(Options{Config: testConfig(listen)}, nil)
		if !errors.Is(err, ErrTokenRequired) {
			t.Errorf("New with listen %q: err = %v, want ErrTokenRequired", listen, err)
		} else if !strings.Contains(err.Error(), "http.token_file") {
			t.Errorf("error %q does not say which setting is missing", err)
		}
	}
	if _, err := New(Options{Config: testConfig(":8080"), Token: "s3cret"}, nil); err != nil {
		t.Errorf("New with a token: %v", err)
	}
}

// TestRunServesOnLoopback starts the real server on a free loopback port,
// talks to it, and stops it by cancelling the context.
func TestRunServesOnLoopback(t *testing.T) {
	s, err := New(siteOptions("127.0.0.1:0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Listening():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not listen")
	}
	base := "http://" + s.Addr().String()
	for _, path := range []string{"/healthz", "/readyz", "/", "/live", "/api/v1/devices", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %s, %d bytes", path, resp.Status, len(body))
		}
	}
	resp, err := http.Get(base + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %s, want 404", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunReportsBusyPort(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	s, err := New(Options{Config: testConfig(busy.Listener.Addr().String())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Run(ctx); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("Run on a busy port: %v, want a listen error", err)
	}
}

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthz(t *testing.T) {
	s, err := New(siteOptions("127.0.0.1:0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, s.Handler(), "/healthz", nil)
	var got healthJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("healthz body %q: %v", rec.Body, err)
	}
	if rec.Code != 200 || got.Status != "ok" || got.Version != "1.2.3" {
		t.Errorf("healthz = %d %+v", rec.Code, got)
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*Options)
		wantCode int
		wantFail string // name of the failing check
		wantText string
	}{
		{"all ready", func(*Options) {}, 200, "", "connected"},
		{"uplink retrying", func(o *Options) {
			o.Uplink = fakeUplink{ready: true, reason: "reconnecting, attempt 2 of budget"}
		}, 200, "", "reconnecting"},
		{"uplink out of budget", func(o *Options) {
			o.Uplink = fakeUplink{reason: "broker unreachable for 5m0s: connection refused"}
		}, 503, "uplink", "connection refused"},
		{"no outbox", func(o *Options) { o.Outbox = nil }, 503, "outbox", "outbox not open"},
		{"no uplink", func(o *Options) { o.Uplink = nil }, 503, "uplink", "not started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := siteOptions("127.0.0.1:0")
			tt.change(&opts)
			s, err := New(opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := get(t, s.Handler(), "/readyz", nil)
			if rec.Code != tt.wantCode {
				t.Errorf("code %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			}
			var got readyJSON
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if got.Ready != (tt.wantCode == 200) {
				t.Errorf("ready = %v", got.Ready)
			}
			for _, c := range got.Checks {
				if c.OK == (c.Name == tt.wantFail) {
					t.Errorf("check %+v, want failing only %q", c, tt.wantFail)
				}
			}
			if !strings.Contains(rec.Body.String(), tt.wantText) {
				t.Errorf("body %s lacks %q", rec.Body, tt.wantText)
			}
		})
	}
}

func TestDevicesAPI(t *testing.T) {
	opts := siteOptions("127.0.0.1:0")
	opts.Devices.(*fakeDevices).list = append(opts.Devices.Stats(), DeviceStatus{ID: "gate-north", Kind: "gate"})
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, s.Handler(), "/api/v1/devices", nil)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	var got apiDevices
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if len(got.Devices) != 3 {
		t.Fatalf("%d devices, want 3", len(got.Devices))
	}
	door, lift, gate := got.Devices[0], got.Devices[1], got.Devices[2]
	if door.ID != "door-a1-lobby" || !door.Online || door.LatencyMS != 4.2 || door.Polls != 1200 {
		t.Errorf("door = %+v", door)
	}
	if door.LastPoll == nil || !door.LastPoll.Equal(testNow.Add(-300*time.Millisecond)) {
		t.Errorf("door last poll = %v", door.LastPoll)
	}
	if door.Points["battery_volts"] != 12.34 || door.Points["lock_released"] != true {
		t.Errorf("door points = %v", door.Points)
	}
	if door.Points["credential"] != Redacted || strings.Contains(rec.Body.String(), "12345678") {
		t.Errorf("raw credential leaked: %v", door.Points["credential"])
	}
	if lift.Online || lift.LastError == "" {
		t.Errorf("lift = %+v", lift)
	}
	if gate.LastPoll != nil || gate.Points == nil {
		t.Errorf("never-polled gate = %+v, want null last_poll and empty points", gate)
	}
}

func TestStatusPage(t *testing.T) {
	opts := siteOptions("127.0.0.1:0")
	devs := opts.Devices.(*fakeDevices)
	list := devs.Stats()
	list[0].Location = `<script>alert(1)</script>`
	devs.set(list)
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Observe(testEvent("access.denied", "door-a1-lobby", "info", map[string]any{"reason": "expired"}))
	s.Observe(testEvent("device.offline", "lift-a1", "medium", map[string]any{"error": "connection refused"}))
	rec := get(t, s.Handler(), "/", nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		"wannan / gw-01", `data-device="door-a1-lobby"`, `data-device="lift-a1"`, "online", "offline",
		"connection refused by 192.168.1.21:502", "battery_volts", "12.34", "●○●",
		`data-alarm="lift-a1/elevator.trapped/3"`, "elevator.trapped", "1 min ago", "waiting ack",
		"access.denied", "expired", "3 waiting", "12s", "v42", "1500 riders", "connected", "1 / 2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("device location was not escaped")
	}
	if strings.Contains(body, "12345678") {
		t.Error("raw credential on the page")
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("page refers to an outside resource")
	}
	live := get(t, s.Handler(), "/live", nil).Body.String()
	if strings.Contains(live, "<html") || !strings.Contains(live, `data-device="lift-a1"`) {
		t.Errorf("/live is not the live fragment: %.200s", live)
	}
}

func TestTokenGuardBeyondLoopback(t *testing.T) {
	opts := siteOptions("0.0.0.0:8080")
	opts.Token = "s3cret-token"
	var accessCalls int
	opts.AccessAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accessCalls++
		if !TokenOK(r, "s3cret-token") {
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	basic := func(user, pw string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.SetBasicAuth(user, pw)
		return req.Header.Get("Authorization")
	}
	tests := []struct {
		path string
		auth string
		want int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/", "", 401},
		{"/live", "", 401},
		{"/metrics", "", 401},
		{"/api/v1/devices", "", 401},
		{"/", "Bearer wrong", 401},
		{"/", "Bearer s3cret-token", 200},
		{"/metrics", "bearer s3cret-token", 200},
		{"/api/v1/devices", basic("installer", "s3cret-token"), 200},
		{"/api/v1/devices", basic("installer", "nope"), 401},
	}
	for _, tt := range tests {
		rec := get(t, s.Handler(), tt.path, map[string]string{"Authorization": tt.auth})
		if rec.Code != tt.want {
			t.Errorf("GET %s with %q: %d, want %d", tt.path, tt.auth, rec.Code, tt.want)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", tt.path)
		}
	}
	for _, auth := range []string{"", "Bearer s3cret-token"} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/access", strings.NewReader(`{}`))
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		want := map[string]int{"": 401, "Bearer s3cret-token": 200}[auth]
		if rec.Code != want {
			t.Errorf("POST /api/v1/access with %q: %d, want %d", auth, rec.Code, want)
		}
	}
	if accessCalls != 2 {
		t.Errorf("access handler called %d times, want 2", accessCalls)
	}
}

func TestLoopbackNeedsNoToken(t *testing.T) {
	s, err := New(siteOptions("127.0.0.1:8080"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/metrics", "/api/v1/devices"} {
		if rec := get(t, s.Handler(), path, nil); rec.Code != 200 {
			t.Errorf("GET %s on loopback: %d", path, rec.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/access", nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /api/v1/access without an AccessAPI: %d, want 404", rec.Code)
	}
}

func TestTokenOKEmptyNeverMatches(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer ")
	if TokenOK(req, "") {
		t.Error("empty token matched")
	}
}
