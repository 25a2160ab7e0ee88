package web

import (
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// The fakes below implement web's own consumer interfaces with fixed state,
// so that each test knows exactly what the server must show.

type fakeDevices struct {
	mu   sync.Mutex
	list []DeviceStatus
}

func (f *fakeDevices) Stats() []DeviceStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]DeviceStatus(nil), f.list...)
}

func (f *fakeDevices) set(list []DeviceStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = list
}

type fakeAlarms []AlarmStatus

func (f fakeAlarms) OpenAlarms() []AlarmStatus { return f }

type fakeOutbox struct {
	depth     int
	bytes     int64
	oldest    time.Duration
	evictions uint64
}

func (f fakeOutbox) Depth() int               { return f.depth }
func (f fakeOutbox) Bytes() int64             { return f.bytes }
func (f fakeOutbox) OldestAge() time.Duration { return f.oldest }
func (f fakeOutbox) Evictions() uint64        { return f.evictions }

type fakeUplink struct {
	connected  bool
	reconnects uint64
	ready      bool
	reason     string
}

func (f fakeUplink) Connected() bool       { return f.connected }
func (f fakeUplink) Reconnects() uint64    { return f.reconnects }
func (f fakeUplink) Ready() (bool, string) { return f.ready, f.reason }

type fakeWhitelist struct {
	version uint64
	entries int
}

func (f fakeWhitelist) Version() uint64 { return f.version }
func (f fakeWhitelist) Entries() int    { return f.entries }

type fakeTelemetry uint64

func (f fakeTelemetry) Dropped() uint64 { return uint64(f) }

var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func testConfig(listen string) *configs.Config {
	return &configs.Config{Site: "wannan", Gateway: "gw-01", File: "/etc/jusha-edge/edge.yaml",
		HTTP: configs.HTTP{Listen: listen}}
}

// siteOptions is a small site: a door online, an elevator offline, one open
// alarm, and the rest of the gateway healthy.
func siteOptions(listen string) Options {
	devs := &fakeDevices{list: []DeviceStatus{
		{ID: "door-a1-lobby", Kind: "door", Location: "Block A1 lobby", Online: true,
			LastPoll: testNow.Add(-300 * time.Millisecond), Latency: 4200 * time.Microsecond,
			Polls: 1200, Errors: 2, Requests: 3600, RequestErrors: 3,
			Points: map[string]any{"door_open": false, "lock_released": true, "credential_seq": 17.0,
				"credential": 12345678.0, "battery_volts": 12.34}},
		{ID: "lift-a1", Kind: "elevator", Location: "Block A1 lift", Online: false,
			LastPoll: testNow.Add(-5 * time.Second), Polls: 900, Errors: 40,
			LastError: "connection refused by 192.168.1.21:502",
			Points:    map[string]any{"floor": 7.0, "moving": false, "floor_enable": []any{true, false, true}}},
	}}
	return Options{
		Config:  testConfig(listen),
		Version: "1.2.3",
		Devices: devs,
		Alarms: fakeAlarms{{ID: "lift-a1/elevator.trapped/3", Type: "elevator.trapped", Device: "lift-a1",
			Location: "Block A1 lift", Severity: "critical", Route: "police", Since: testNow.Add(-70 * time.Second)}},
		Outbox:    fakeOutbox{depth: 3, bytes: 2048, oldest: 12 * time.Second, evictions: 1},
		Uplink:    fakeUplink{connected: true, reconnects: 2, ready: true},
		Whitelist: fakeWhitelist{version: 42, entries: 1500},
		Telemetry: fakeTelemetry(5),
		Now:       func() time.Time { return testNow },
	}
}

func testEvent(typ, subject string, sev events.Severity, data map[string]any) events.Event {
	ev := events.New(typ, subject, testNow, sev, events.RouteRecord)
	ev.Data = data
	return ev
}
