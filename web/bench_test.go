package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bigSite is a site at the footprint target: 200 devices with a door's
// points each, 20 open alarms and a full ring of events.
func bigSite(b *testing.B) *Server {
	b.Helper()
	opts := siteOptions("127.0.0.1:0")
	list := make([]DeviceStatus, 200)
	for i := range list {
		list[i] = DeviceStatus{ID: fmt.Sprintf("door-%03d", i), Kind: "door", Location: fmt.Sprintf("Block %d lobby", i),
			Online: i%10 != 0, LastPoll: testNow.Add(-time.Duration(i) * time.Millisecond), Latency: 3 * time.Millisecond,
			Polls: 1000, Errors: uint64(i % 7),
			Points: map[string]any{"door_open": i%2 == 0, "lock_released": false, "exit_request": false,
				"credential_seq": float64(i), "credential": 12345678.0, "battery_volts": 12.3, "tamper": false}}
	}
	opts.Devices = &fakeDevices{list: list}
	alarms := make(fakeAlarms, 20)
	for i := range alarms {
		alarms[i] = AlarmStatus{ID: fmt.Sprintf("door-%03d/door.held_open/1", i), Type: "door.held_open",
			Device: fmt.Sprintf("door-%03d", i), Severity: "medium", Since: testNow.Add(-time.Minute)}
	}
	opts.Alarms = alarms
	s, err := New(opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < DefaultRecentEvents; i++ {
		s.Observe(testEvent("access.granted", fmt.Sprintf("door-%03d", i%200), "info", nil))
	}
	return s
}

func benchGet(b *testing.B, path string) {
	s := bigSite(b)
	h := s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// BenchmarkStatusPage renders the whole page of a 200-device site.
func BenchmarkStatusPage(b *testing.B) { benchGet(b, "/") }

// BenchmarkLive renders the live part the page fetches every 2 s.
func BenchmarkLive(b *testing.B) { benchGet(b, "/live") }

// BenchmarkDevicesAPI encodes /api/v1/devices for 200 devices.
func BenchmarkDevicesAPI(b *testing.B) { benchGet(b, "/api/v1/devices") }

// BenchmarkMetrics is one Prometheus scrape of a 200-device site.
func BenchmarkMetrics(b *testing.B) { benchGet(b, "/metrics") }

func FuzzCheckListen(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", ":8080", "[::1]:80", "localhost:1", "[::ffff:127.0.0.1]:80", "a:b:c", "[", ""} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, addr string, hasToken bool) {
		err := CheckListen(addr, hasToken)
		if err == nil && !hasToken {
			host := addr[:strings.LastIndex(addr, ":")]
			if !IsLoopback(host) {
				t.Errorf("CheckListen(%q) allowed a non-loopback host without a token", addr)
			}
		}
	})
}
