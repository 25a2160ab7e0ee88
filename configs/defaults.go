package configs

import (
	"fmt"
	"time"
)

// More defaults, beside those in config.go.
const (
	DefaultUnitID         = 1
	DefaultInfluxOrg      = "jusha"
	DefaultInfluxBucket   = "edge"
	DefaultCredentialType = "card"
	DefaultLowestFloor    = 1
	// DefaultMinPoll is the shortest poll interval a device may have.
	DefaultMinPoll = 10 * time.Millisecond
	// DefaultClientIDFormat gives the MQTT client id from site and gateway.
	DefaultClientIDFormat = "jusha-edge-%s-%s"
)

// setDefaults fills every field that present reports unset. Load passes
// "the key is in the file", so that an explicit 0 is kept and validated
// rather than silently replaced.
func setDefaults(c *Config, present func(ptr any) bool) {
	setString(&c.StateDir, DefaultStateDir, present)
	u := &c.Upstream
	if len(u.Brokers) == 0 {
		u.Brokers = StringList{DefaultBroker}
	}
	setString(&u.TopicPrefix, DefaultTopicPrefix, present)
	if u.ClientID == "" {
		u.ClientID = fmtClientID(c.Site, c.Gateway)
	}
	setDuration(&u.AckTimeout, DefaultAckTimeout, present)
	if !present(&u.Outbox.MaxBytes) {
		u.Outbox.MaxBytes = DefaultOutboxBytes
	}
	if t := c.Telemetry; t != nil {
		setString(&t.Influx.Org, DefaultInfluxOrg, present)
		setString(&t.Influx.Bucket, DefaultInfluxBucket, present)
		setDuration(&t.Interval, DefaultTelemetryInt, present)
		setInt(&t.BatchSize, DefaultBatchSize, present)
		setDuration(&t.FlushInterval, DefaultFlushInterval, present)
		setInt(&t.BufferPoints, DefaultBufferPoints, present)
	}
	setString(&c.HTTP.Listen, DefaultHTTPListen, present)
	setString(&c.Access.KeyFile, DefaultKeyFile, present)
	setDuration(&c.Access.UnlockTime, DefaultUnlockTime, present)
	for i := range c.Devices {
		d := &c.Devices[i]
		if d.Profile == "" && knownKind(d.Kind) {
			d.Profile = BuiltinPrefix + d.Kind
		}
		setDuration(&d.Poll, DefaultPoll, present)
		setString(&d.CredentialType, DefaultCredentialType, present)
		if d.Kind == KindElevator {
			setInt(&d.LowestFloor, DefaultLowestFloor, present)
		}
		m := &d.Modbus
		setInt(&m.UnitID, DefaultUnitID, present)
		setDuration(&m.Timeout, DefaultTimeout, present)
		if m.Retries == nil {
			m.Retries = ptr(DefaultRetries)
		}
		setDuration(&m.MaxBackoff, DefaultMaxBackoff, present)
		setInt(&m.OfflineAfter, DefaultOfflineAfter, present)
		if m.MaxGap == nil {
			m.MaxGap = ptr(DefaultMaxGap)
		}
	}
}

func fmtClientID(site, gateway string) string {
	return fmt.Sprintf(DefaultClientIDFormat, site, gateway)
}

func ptr[T any](v T) *T { return &v }

// setString treats an empty string as unset: `key: ""` means the default.
func setString(f *string, def string, _ func(any) bool) {
	if *f == "" {
		*f = def
	}
}

func setInt(f *int, def int, present func(any) bool) {
	if !present(f) {
		*f = def
	}
}

func setDuration(f *Duration, def time.Duration, present func(any) bool) {
	if !present(f) {
		*f = Duration(def)
	}
}
