package web

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "jusha_edge"

// stateCollector reads the sources at scrape time: the counters the parts
// keep themselves are exported as they are, never copied.
type stateCollector struct {
	opts Options

	deviceUp, devicePolls, devicePollErrors, deviceLatency, deviceLastPoll *prometheus.Desc
	deviceRequests, deviceReqErrors                                        *prometheus.Desc
	alarmsOpen                                                             *prometheus.Desc
	outboxDepth, outboxBytes, outboxOldest, outboxEvictions                *prometheus.Desc
	mqttConnected, mqttReconnects                                          *prometheus.Desc
	whitelistVersion, whitelistEntries                                     *prometheus.Desc
	telemetryDropped                                                       *prometheus.Desc
}

var _ prometheus.Collector = (*stateCollector)(nil)

func newStateCollector(opts Options) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &stateCollector{
		opts:             opts,
		deviceUp:         d("device_online", "1 when the device answers its polls, 0 when it is offline.", "device", "kind"),
		devicePolls:      d("device_polls_total", "Polls of the device, good or failed.", "device"),
		devicePollErrors: d("device_poll_errors_total", "Failed polls of the device.", "device"),
		deviceRequests:   d("device_requests_total", "Modbus requests to the device, answered or failed.", "device"),
		deviceReqErrors:  d("device_request_errors_total", "Modbus requests to the device that failed: timeouts, exceptions, garbled answers.", "device"),
		deviceLatency:    d("device_poll_latency_seconds", "Duration of the device's latest poll.", "device"),
		deviceLastPoll:   d("device_last_poll_timestamp_seconds", "Unix time of the device's latest poll.", "device"),
		alarmsOpen:       d("alarms_open", "Alarms raised and not yet cleared, by severity.", "severity"),
		outboxDepth:      d("outbox_events", "Events in the outbox not yet acknowledged by the broker."),
		outboxBytes:      d("outbox_bytes", "Bytes the outbox's events take."),
		outboxOldest:     d("outbox_oldest_age_seconds", "Age of the oldest event waiting in the outbox."),
		outboxEvictions:  d("outbox_evictions_total", "Events dropped from the outbox to respect its size bound."),
		mqttConnected:    d("mqtt_connected", "1 while the MQTT uplink is connected."),
		mqttReconnects:   d("mqtt_reconnects_total", "MQTT connections made after the first."),
		whitelistVersion: d("whitelist_version", "Version of the applied rider whitelist."),
		whitelistEntries: d("whitelist_entries", "Riders in the applied whitelist."),
		telemetryDropped: d("telemetry_dropped_total", "Telemetry points dropped because the buffer was full."),
	}
}

// Describe sends every descriptor.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.deviceUp, c.devicePolls, c.devicePollErrors, c.deviceRequests, c.deviceReqErrors, c.deviceLatency, c.deviceLastPoll,
		c.alarmsOpen, c.outboxDepth, c.outboxBytes, c.outboxOldest, c.outboxEvictions,
		c.mqttConnected, c.mqttReconnects, c.whitelistVersion, c.whitelistEntries, c.telemetryDropped,
	} {
		ch <- d
	}
}

// Collect reads every source once.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if c.opts.Devices != nil {
		seen := make(map[string]bool)
		for _, s := range c.opts.Devices.Stats() {
			// A duplicate would make the whole scrape fail; ids are
			// unique by config, but one bad adapter must not hide all.
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			gauge(c.deviceUp, b2f(s.Online), s.ID, s.Kind)
			counter(c.devicePolls, float64(s.Polls), s.ID)
			counter(c.devicePollErrors, float64(s.Errors), s.ID)
			counter(c.deviceRequests, float64(s.Requests), s.ID)
			counter(c.deviceReqErrors, float64(s.RequestErrors), s.ID)
			gauge(c.deviceLatency, s.Latency.Seconds(), s.ID)
			if !s.LastPoll.IsZero() {
				gauge(c.deviceLastPoll, float64(s.LastPoll.UnixMilli())/1000, s.ID)
			}
		}
	}
	if c.opts.Alarms != nil {
		bySev := map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
		for _, a := range c.opts.Alarms.OpenAlarms() {
			if _, ok := bySev[a.Severity]; ok {
				bySev[a.Severity]++
			}
		}
		for sev, n := range bySev {
			gauge(c.alarmsOpen, float64(n), sev)
		}
	}
	if o := c.opts.Outbox; o != nil {
		gauge(c.outboxDepth, float64(o.Depth()))
		gauge(c.outboxBytes, float64(o.Bytes()))
		gauge(c.outboxOldest, o.OldestAge().Seconds())
		counter(c.outboxEvictions, float64(o.Evictions()))
	}
	if u := c.opts.Uplink; u != nil {
		gauge(c.mqttConnected, b2f(u.Connected()))
		counter(c.mqttReconnects, float64(u.Reconnects()))
	}
	if w := c.opts.Whitelist; w != nil {
		gauge(c.whitelistVersion, float64(w.Version()))
		gauge(c.whitelistEntries, float64(w.Entries()))
	}
	if t := c.opts.Telemetry; t != nil {
		counter(c.telemetryDropped, float64(t.Dropped()))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
