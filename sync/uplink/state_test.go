package uplink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
)

func TestCoalescer(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	type step struct {
		at      time.Duration // since t0
		put     string        // payload put for device "d" ("" = none)
		want    string        // payload due at this step ("" = none)
		wantNxt time.Duration // when the next is due (-1 = nothing waits)
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first state goes at once", []step{{0, "a", "a", -1}}},
		{"burst coalesces, latest wins", []step{
			{0, "a", "a", -1},
			{100 * time.Millisecond, "b", "", time.Second},
			{200 * time.Millisecond, "c", "", time.Second},
			{time.Second, "", "c", -1},
		}},
		{"no change, nothing sent", []step{{0, "a", "a", -1}, {2 * time.Second, "a", "", -1}}},
		{"change back before the interval is dropped", []step{
			{0, "a", "a", -1},
			{100 * time.Millisecond, "b", "", time.Second},
			{200 * time.Millisecond, "a", "", time.Second},
			{time.Second, "", "", -1},
		}},
		{"after a quiet second, at once", []step{{0, "a", "a", -1}, {3 * time.Second, "b", "b", -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCoalescer(time.Second)
			for i, s := range tt.steps {
				if s.put != "" {
					c.put("d", []byte(s.put))
				}
				due, next := c.due(t0.Add(s.at))
				got := ""
				if len(due) > 0 {
					got = string(due[0].payload)
				}
				if got != s.want || len(due) > 1 {
					t.Fatalf("step %d: due %q (%d), want %q", i, got, len(due), s.want)
				}
				wantNext := time.Time{}
				if s.wantNxt >= 0 {
					wantNext = t0.Add(s.wantNxt)
				}
				if !next.Equal(wantNext) {
					t.Fatalf("step %d: next %v, want %v", i, next, wantNext)
				}
			}
		})
	}
}

func TestStatePublishedRetainedLatestWins(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	ob := openOutbox(t, "")
	u := startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 10*time.Second, "connected", u.Connected)
	topic := testPrefix + "/state/door-a1-lobby"
	sub := subscribe(t, b.URL(), "platform-state", topic, false)
	for i := 0; i < 10; i++ {
		u.PublishState("door-a1-lobby", []byte(`{"online":true,"points":{"n":`+itoa(i)+`}}`))
	}
	last := `{"online":true,"points":{"n":9}}`
	eventually(t, 5*time.Second, "the latest state", func() bool {
		m := sub.on(topic)
		return len(m) > 0 && string(m[len(m)-1].Payload) == last
	})
	// The first may go at once, the rest wait for the interval and coalesce.
	n := len(sub.on(topic))
	if n < 1 || n > 2 {
		t.Fatalf("%d states published for a burst of 10, want 1 or 2", n)
	}
	for _, m := range sub.on(topic) {
		validate(t, "state.schema.json", m.Payload)
	}
	late := subscribe(t, b.URL(), "late-state", topic, false)
	eventually(t, 5*time.Second, "retained state", func() bool { return len(late.all()) == 1 })
	if m := late.all()[0]; !m.Retained || string(m.Payload) != last {
		t.Fatalf("retained %+v", m)
	}
	if s := u.Stats(); s.StatesPublished != uint64(n) || s.StatesCoalesced == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, time.Second, 1500 * time.Millisecond},
		{2, 2 * time.Second, 3 * time.Second},
		{4, 8 * time.Second, 12 * time.Second},
		{6, 32 * time.Second, 48 * time.Second},
		{7, 60 * time.Second, 60 * time.Second},
		{50, 60 * time.Second, 60 * time.Second},
	}
	for _, tt := range tests {
		for i := 0; i < 200; i++ {
			d := backoff(tt.n, DefaultMinBackoff, DefaultMaxBackoff)
			if d < tt.lo || d > tt.hi {
				t.Fatalf("attempt %d: %v outside [%v, %v]", tt.n, d, tt.lo, tt.hi)
			}
		}
	}
}

func TestSecretFilesMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "password")
	if err := os.WriteFile(open, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(dir, "password-ok")
	if err := os.WriteFile(private, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ob := openOutbox(t, "")
	tests := []struct {
		name    string
		mutate  func(c *configs.Config)
		wantErr string
	}{
		{"readable password file", func(c *configs.Config) { c.Upstream.PasswordFile = open }, "password_file " + open + ": readable by group or others"},
		{"missing password file", func(c *configs.Config) { c.Upstream.PasswordFile = filepath.Join(dir, "none") }, "no such file"},
		{"private password file", func(c *configs.Config) { c.Upstream.PasswordFile = private }, ""},
		{"bad scheme", func(c *configs.Config) { c.Upstream.Brokers = []string{"http://127.0.0.1:1883"} }, "scheme"},
		{"cert without key", func(c *configs.Config) {
			c.Upstream.Brokers = []string{"tls://127.0.0.1:8883"}
			c.Upstream.TLS.CertFile = private
		}, "go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig("tcp://127.0.0.1:1883")
			tt.mutate(c)
			u, err := New(c, ob, nil)
			if tt.wantErr == "" {
				if err != nil || u.password != "s3cret" {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSharedSubscriptionSplitsEvents(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	const filter = "$share/incident-workers/jusha/v1/+/+/events/#"
	c1 := subscribe(t, b.URL(), "worker-1", filter, false)
	c2 := subscribe(t, b.URL(), "worker-2", filter, false)
	ob := openOutbox(t, "")
	const n = 200
	sent := appendN(t, ob, n, "access.granted", events.Info)
	startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 20*time.Second, "every event at one worker", func() bool {
		return len(c1.events(t))+len(c2.events(t)) >= n && ob.Stats().Depth == 0
	})
	seen := map[string]int{}
	for _, e := range append(c1.events(t), c2.events(t)...) {
		seen[e.ID]++
	}
	for _, e := range sent {
		if seen[e.ID] != 1 {
			t.Fatalf("event %s received %d times", e.Sequence, seen[e.ID])
		}
	}
	if len(seen) != n || len(c1.events(t)) == 0 || len(c2.events(t)) == 0 {
		t.Fatalf("split %d/%d of %d", len(c1.events(t)), len(c2.events(t)), n)
	}
	t.Logf("worker-1 %d, worker-2 %d", len(c1.events(t)), len(c2.events(t)))
}
