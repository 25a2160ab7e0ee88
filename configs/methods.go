package configs

import (
	"fmt"
	"os"
)

// Prefix is the root of the gateway's MQTT topics: topic_prefix/site/gateway.
func (c *Config) Prefix() string {
	return c.Upstream.TopicPrefix + "/" + c.Site + "/" + c.Gateway
}

// Device returns the device with the given id.
func (c *Config) Device(id string) (*Device, bool) {
	for i := range c.Devices {
		if c.Devices[i].ID == id {
			return &c.Devices[i], true
		}
	}
	return nil, false
}

// RuleFor returns the tuning of an event type for a device: the device's
// override field by field over the top-level rule; a zero field falls
// through. Disabled at either level disables the rule.
func (c *Config) RuleFor(deviceID, eventType string) RuleConfig {
	r := c.Rules[eventType]
	d, ok := c.Device(deviceID)
	if !ok {
		return r
	}
	o, ok := d.Rules[eventType]
	if !ok {
		return r
	}
	r.Disabled = r.Disabled || o.Disabled
	if o.After != 0 {
		r.After = o.After
	}
	if o.Window != 0 {
		r.Window = o.Window
	}
	if o.Count != 0 {
		r.Count = o.Count
	}
	if o.Severity != "" {
		r.Severity = o.Severity
	}
	if o.Route != "" {
		r.Route = o.Route
	}
	if o.ClearAfter != 0 {
		r.ClearAfter = o.ClearAfter
	}
	return r
}

// SecretFiles lists the secret files the config names (set ones only), for
// CheckSecretFile at start.
func (c *Config) SecretFiles() []string {
	var out []string
	for _, f := range []string{c.Access.KeyFile, c.HTTP.TokenFile, c.Upstream.PasswordFile, c.Upstream.TLS.KeyFile} {
		if f != "" {
			out = append(out, f)
		}
	}
	if c.Telemetry != nil && c.Telemetry.Influx.TokenFile != "" {
		out = append(out, c.Telemetry.Influx.TokenFile)
	}
	return out
}

// CheckSecretFile refuses a secret file that is missing, not a regular file,
// or readable or writable by group or others: the gateway will not start on
// a secret others can read. Load does not call it, so that `edge validate`
// works on another machine; the gateway calls it at start.
func CheckSecretFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("secret file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("secret file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("secret file %s: mode %04o lets group or others read it: chmod 600 %s", path, perm, path)
	}
	return nil
}
