package telemetry

import (
	"compress/gzip"
	"context"
	"github.com/jusha-ean/edge/internal/testbed"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStore answers writes with a scripted list of statuses (the last one
// repeats) and records what it received.
type fakeStore struct {
	mu       sync.Mutex
	statuses []int
	bodies   []string
	headers  []http.Header
	queries  []string
}

func (f *fakeStore) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body := r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	f.mu.Lock()
	n := len(f.bodies)
	f.bodies = append(f.bodies, string(b))
	f.headers = append(f.headers, r.Header.Clone())
	f.queries = append(f.queries, r.URL.Path+"?"+r.URL.RawQuery)
	status := f.statuses[min(n, len(f.statuses)-1)]
	f.mu.Unlock()
	switch status {
	case http.StatusNoContent:
		rw.WriteHeader(status)
	case http.StatusTooManyRequests:
		rw.Header().Set("Retry-After", "0")
		rw.WriteHeader(status)
	default:
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_, _ = io.WriteString(rw, `{"code":"invalid","message":"partial write: field type conflict: input field \"floor\" is type integer"}`)
	}
}

func (f *fakeStore) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func TestSendOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		requests int
		written  uint64
		rejected uint64
		errors   uint64
		logged   string
	}{
		{"accepted", []int{204}, 1, 10, 0, 0, ""},
		{"400 is not retried", []int{400, 204}, 1, 0, 10, 1, "field type conflict"},
		{"401 is not retried", []int{401, 204}, 1, 0, 10, 1, "not retried"},
		{"503 is retried", []int{503, 503, 204}, 3, 10, 0, 2, "retrying with backoff"},
		{"500 is retried", []int{500, 204}, 2, 10, 0, 1, "retrying with backoff"},
		{"429 is retried", []int{429, 204}, 2, 10, 0, 1, "retrying with backoff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := &fakeStore{statuses: c.statuses}
			srv := httptest.NewServer(store)
			defer srv.Close()
			logs := &testbed.Buffer{}
			w := newTestWriter(t, testConfig(srv.URL), logs)
			w.buf.push(lines(0, 10)...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, ok := w.send(ctx, ctx, nil)
			if !ok {
				t.Fatal("send gave up with a live context")
			}
			s := w.Stats()
			if store.requests() != c.requests || s.Written != c.written || s.Rejected != c.rejected || s.WriteErrors != c.errors || s.Buffered != 0 {
				t.Errorf("requests %d, stats %+v; want requests %d written %d rejected %d errors %d",
					store.requests(), s, c.requests, c.written, c.rejected, c.errors)
			}
			if c.logged != "" && !strings.Contains(logs.String(), c.logged) {
				t.Errorf("log lacks %q:\n%s", c.logged, logs.String())
			}
			if c.errors > 0 && s.LastError == "" {
				t.Error("LastError empty after a failed write")
			}
		})
	}
}

// TestWireFormat checks what reaches the server: gzip, the token, the org,
// bucket and precision, and the lines themselves, in order.
func TestWireFormat(t *testing.T) {
	store := &fakeStore{statuses: []int{204}}
	srv := httptest.NewServer(store)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	tokenFile := filepath.Join(t.TempDir(), "influx.token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Telemetry.Influx.TokenFile = tokenFile
	cfg.Telemetry.BatchSize = 4
	w := newTestWriter(t, cfg, nil)
	w.buf.push(lines(0, 10)...)
	for w.buf.len() > 0 {
		if _, ok := w.send(context.Background(), context.Background(), nil); !ok {
			t.Fatal("send gave up")
		}
	}
	if store.requests() != 3 {
		t.Fatalf("%d requests for 10 points in batches of 4, want 3", store.requests())
	}
	if got := strings.Join(store.bodies, "\n"); got != strings.Join(lines(0, 10), "\n") {
		t.Errorf("bodies %q", store.bodies)
	}
	h := store.headers[0]
	if h.Get("Content-Encoding") != "gzip" || h.Get("Authorization") != "Token s3cret-token" {
		t.Errorf("headers %v", h)
	}
	q := store.queries[0]
	for _, want := range []string{"/api/v2/write?", "bucket=edge", "org=jusha", "precision=ms"} {
		if !strings.Contains(q, want) {
			t.Errorf("request %q lacks %q", q, want)
		}
	}
}

// TestSendStopsWithContext: a store that never recovers does not hold the
// sender once its context ends, and the points stay buffered.
func TestSendStopsWithContext(t *testing.T) {
	store := &fakeStore{statuses: []int{503}}
	srv := httptest.NewServer(store)
	defer srv.Close()
	w := newTestWriter(t, testConfig(srv.URL), nil)
	w.buf.push(lines(0, 5)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() {
		_, ok := w.send(ctx, ctx, nil)
		done <- ok
	}()
	waitFor(t, "two failed attempts", 10*time.Second, func() bool { return store.requests() >= 2 })
	cancel()
	if ok := <-done; ok {
		t.Error("send reported success after its context ended")
	}
	if s := w.Stats(); s.Buffered != 5 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 5 buffered and none dropped", s)
	}
}

// TestShutdownFinishesWriteInFlight: a batch the store is still answering
// when the writer is stopped is let finish, not cut off and sent again by
// the shutdown drain. A store that keeps duplicates (VictoriaMetrics) would
// otherwise count those points twice; seen in CI as 68 polls of 60.
func TestShutdownFinishesWriteInFlight(t *testing.T) {
	store := &fakeStore{statuses: []int{204}}
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(arrived)
			<-release
		}
		store.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	defer close(release) // unblocks the handler if the test fails early; runs first
	cfg := testConfig(srv.URL)
	w := newTestWriter(t, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	w.buf.push(lines(0, 10)...)
	w.wake()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no write reached the store")
	}
	cancel()
	time.Sleep(50 * time.Millisecond) // the writer sees the cancel while the request waits
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	srv.Close() // waits for the handlers: a cut-off request is still delivered
	got := map[string]int{}
	store.mu.Lock()
	defer store.mu.Unlock()
	for _, b := range store.bodies {
		for _, l := range strings.Split(b, "\n") {
			got[l]++
		}
	}
	for _, l := range lines(0, 10) {
		if got[l] != 1 {
			t.Errorf("line %q reached the store %d times, want once", l, got[l])
		}
	}
	if s := w.Stats(); s.Written < 10 || s.Dropped != 0 || s.Buffered != 0 {
		t.Errorf("stats %+v", s)
	}
}
