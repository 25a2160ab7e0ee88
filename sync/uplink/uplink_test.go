package uplink

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/internal/testbed"
	"go.uber.org/goleak"
)

func TestEventsArriveWithEveryField(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	sub := subscribe(t, b.URL(), "platform", "jusha/v1/#", false)
	ob := openOutbox(t, "")
	e := events.New("door.forced_open", "door-a1-lobby", time.Now(), events.High, events.RoutePolice)
	e.AlarmID = "door-a1-lobby/door.forced_open/7"
	e.Phase = events.Raised
	e.Data = map[string]any{"location": "Block A1 lobby"}
	stored, err := ob.Append(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	u := startUplink(t, testConfig(b.URL()), ob, nil, WithVersion("1.2.3"))
	eventually(t, 10*time.Second, "the event", func() bool { return len(sub.on(testPrefix+"/events/alarm")) == 1 })
	eventually(t, 10*time.Second, "the outbox to empty", func() bool { return ob.Stats().Depth == 0 })

	m := sub.on(testPrefix + "/events/alarm")[0]
	validate(t, "event.schema.json", m.Payload)
	var raw map[string]any
	if err := json.Unmarshal(m.Payload, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"specversion": "1.0", "id": stored.ID, "source": "/jusha/wannan/gw-01", "subject": "door-a1-lobby",
		"type": "door.forced_open", "datacontenttype": "application/json", "sequence": "00000000000000000001",
		"severity": "high", "route": "police", "alarmid": e.AlarmID, "phase": "raised",
		"time": e.Time.UTC().Format(events.TimeFormat),
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("%s = %v, want %v", k, raw[k], v)
		}
	}
	if d, _ := raw["data"].(map[string]any); d["location"] != "Block A1 lobby" {
		t.Errorf("data = %v", raw["data"])
	}
	if m.Retained {
		t.Error("event published retained")
	}
	st := sub.on(testPrefix + "/status")
	if len(st) == 0 {
		t.Fatal("no status")
	}
	validate(t, "status.schema.json", st[0].Payload)
	var status map[string]any
	if err := json.Unmarshal(st[0].Payload, &status); err != nil {
		t.Fatal(err)
	}
	if status["status"] != "online" || status["version"] != "1.2.3" || status["boot_id"] != u.BootID() || status["time"] == "" {
		t.Errorf("status %v", status)
	}
	if s := u.Stats(); !s.Connected || s.Published != 1 || s.Acked != 1 {
		t.Errorf("stats %+v", s)
	}

	// A clean stop leaves the retained offline status.
	u.stop(t)
	late := subscribe(t, b.URL(), "late", testPrefix+"/status", false)
	eventually(t, 5*time.Second, "retained status", func() bool { return len(late.all()) > 0 })
	validate(t, "status.schema.json", late.all()[0].Payload)
	if err := json.Unmarshal(late.all()[0].Payload, &status); err != nil || status["status"] != "offline" || !late.all()[0].Retained {
		t.Errorf("retained status after stop: %s", late.all()[0].Payload)
	}
}

func TestRestartNeitherReusesSequenceNorResendsAcked(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	sub := subscribe(t, b.URL(), "platform", testPrefix+"/events/#", false)
	path := filepath.Join(t.TempDir(), "outbox.db")

	ob := openOutbox(t, path)
	appendN(t, ob, 3, "door.tamper", events.Medium)
	u := startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 10*time.Second, "3 events acked", func() bool { return ob.Stats().Depth == 0 && len(sub.events(t)) == 3 })
	u.stop(t)
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}

	ob = openOutbox(t, path)
	e := appendN(t, ob, 1, "door.tamper", events.Medium)[0]
	if e.Sequence != "00000000000000000004" {
		t.Fatalf("sequence after restart: %s", e.Sequence)
	}
	startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 10*time.Second, "the 4th event", func() bool { return len(sub.events(t)) >= 4 })
	eventually(t, 5*time.Second, "outbox empty", func() bool { return ob.Stats().Depth == 0 })
	got := sub.events(t)
	if len(got) != 4 {
		t.Fatalf("%d events received, want 4 (acked ones resent?)", len(got))
	}
	for i, e := range got {
		if seqOf(t, e) != uint64(i+1) {
			t.Fatalf("event %d has sequence %s", i, e.Sequence)
		}
	}
}

func TestFailsOverToAnotherBroker(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	dead := "tcp://127.0.0.1:" + itoa(testbed.FreePort(t))
	sub := subscribe(t, b.URL(), "platform", testPrefix+"/events/#", false)
	ob := openOutbox(t, "")
	appendN(t, ob, 5, "gate.fault", events.Medium)
	log, logs := testLogger(t)
	u := startUplink(t, testConfig(dead, b.URL()), ob, log)
	eventually(t, 10*time.Second, "5 events", func() bool { return len(sub.events(t)) == 5 })
	if s := u.Stats(); s.Broker != b.URL() || s.ConnectFailures == 0 {
		t.Fatalf("stats %+v", s)
	}
	if !contains(logs.String(), "connect failed") {
		t.Fatalf("connect failure not logged:\n%s", logs)
	}
}

func TestRunLeavesNoGoroutine(t *testing.T) {
	b := mosquitto(t, testbed.MosquittoOptions{})
	ob := openOutbox(t, "")
	appendN(t, ob, 10, "door.tamper", events.Medium)
	before := goleak.IgnoreCurrent()
	u := startUplink(t, testConfig(b.URL()), ob, nil)
	eventually(t, 10*time.Second, "drained", func() bool { return ob.Stats().Depth == 0 })
	u.PublishState("door-a1-lobby", []byte(`{"online":true}`))
	u.stop(t)
	goleak.VerifyNone(t, before)
}
