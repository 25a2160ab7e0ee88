package web

import (
	"time"
)

// The interfaces below are how the server reads the gateway's state. Each is
// small and read-only, so the gateway can satisfy it with the real part or a
// thin adapter; every method must be safe to call from any goroutine, since
// the page, the API and the Prometheus collector call them concurrently.

// Devices lists the field devices with their latest state.
type Devices interface {
	// Stats returns one entry per configured device, in config order.
	Stats() []DeviceStatus
}

// DeviceStatus is one device as the status page and /api/v1/devices show it.
type DeviceStatus struct {
	ID       string
	Kind     string
	Location string
	Online   bool
	// LastPoll is the time of the latest poll, good or failed; zero before
	// the first.
	LastPoll time.Time
	// Latency is how long the latest poll took.
	Latency time.Duration
	// Polls and Errors count every poll and every failed poll since start.
	Polls  uint64
	Errors uint64
	// Requests and RequestErrors count Modbus requests and the failed ones
	// (timeouts, exceptions, garbled answers) since start.
	Requests      uint64
	RequestErrors uint64
	// LastError is the latest poll error in plain words, empty after a good
	// poll.
	LastError string
	// Points holds the latest value of every point: bool, a number, a string
	// or a list of those for array points (see PointValues).
	Points map[string]any
}

// Alarms lists the alarms raised and not yet cleared.
type Alarms interface {
	OpenAlarms() []AlarmStatus
}

// AlarmStatus is one open alarm.
type AlarmStatus struct {
	ID       string
	Type     string
	Device   string
	Location string
	Severity string
	Route    string
	Since    time.Time
	// Acked tells whether the platform has signed for the alarm; Escalated
	// whether it was escalated for want of an acknowledgement.
	Acked     bool
	Escalated bool
}

// Outbox is the durable event store between the gateway and the uplink.
type Outbox interface {
	// Depth is the number of events not yet acknowledged by the broker.
	Depth() int
	// Bytes is the space those events take.
	Bytes() int64
	// OldestAge is how long the oldest of them has waited; 0 when empty.
	OldestAge() time.Duration
	// Evictions counts events dropped to respect the size bound.
	Evictions() uint64
}

// Uplink is the MQTT link to the central platform.
type Uplink interface {
	Connected() bool
	// Reconnects counts connections made after the first.
	Reconnects() uint64
	// Ready reports whether the uplink is connected or still within its
	// retry budget, with the reason in plain words when it is not.
	Ready() (bool, string)
}

// Whitelist is the local rider whitelist.
type Whitelist interface {
	// Version is the version of the applied whitelist; 0 before the first.
	Version() uint64
	// Entries is the number of riders it holds.
	Entries() int
}

// Telemetry is the time series writer.
type Telemetry interface {
	// Dropped counts points dropped because the buffer was full.
	Dropped() uint64
}
