package configs

import (
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var nameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// checker validates a decoded config and resolves its devices' profiles.
type checker struct {
	cfg     *Config
	p       *problems
	d       *decoder
	root    *yaml.Node
	baseDir string
	// profiles caches each profile by reference, so that a bad profile
	// named by ten devices is reported once.
	profiles     map[string]profileResult
	profileOrder []string
}

type profileResult struct {
	prof *Profile
	err  error
}

func newChecker(cfg *Config, p *problems, d *decoder, root *yaml.Node, baseDir string) *checker {
	return &checker{cfg: cfg, p: p, d: d, root: root, baseDir: baseDir, profiles: map[string]profileResult{}}
}

// at returns the node of the first recorded field pointer, else the top.
func (c *checker) at(ptrs ...any) *yaml.Node {
	if n := c.d.node(ptrs...); n != nil {
		return n
	}
	return c.root
}

func (c *checker) errorf(n *yaml.Node, format string, args ...any) {
	c.p.check(n, format, args...)
}

// errors returns the config's problems by position, then those of each
// profile file in the order devices named them.
func (c *checker) errors() ErrorList {
	out := c.p.sorted()
	for _, ref := range c.profileOrder {
		var list ErrorList
		if errors.As(c.profiles[ref].err, &list) {
			out = append(out, list...)
		}
	}
	return out
}

func (c *checker) check() {
	cfg := c.cfg
	c.checkName(&cfg.Site, "site")
	c.checkName(&cfg.Gateway, "gateway")
	if cfg.Timezone != "" {
		if _, err := time.LoadLocation(cfg.Timezone); err != nil {
			c.errorf(c.at(&cfg.Timezone), "timezone %q: %v", cfg.Timezone, err)
		}
	}
	c.checkUpstream(&cfg.Upstream)
	if cfg.Telemetry != nil {
		c.checkTelemetry(cfg.Telemetry)
	}
	if err := checkHostPort(cfg.HTTP.Listen, true); err != nil {
		c.errorf(c.at(&cfg.HTTP.Listen, &cfg.HTTP), "http.listen: %v", err)
	}
	c.checkAccess(&cfg.Access)
	c.checkRules(cfg.Rules, &cfg.Rules, "")
	c.checkDevices()
}

func (c *checker) checkName(f *string, key string) {
	switch {
	case *f == "":
		c.errorf(c.at(f), "%s is required", key)
	case !nameRE.MatchString(*f):
		c.errorf(c.at(f), "%s %q: want lower case letters, digits and -", key, *f)
	}
}

func (c *checker) checkUpstream(u *Upstream) {
	for i, b := range u.Brokers {
		if err := checkBrokerURL(b); err != nil {
			c.errorf(c.brokerNode(u, i), "upstream.broker %q: %v", b, err)
		}
	}
	tp := u.TopicPrefix
	if tp == "" || strings.ContainsAny(tp, "+#\x00") || strings.HasPrefix(tp, "/") || strings.HasSuffix(tp, "/") || strings.Contains(tp, "//") {
		c.errorf(c.at(&u.TopicPrefix, u), "upstream.topic_prefix %q: want levels such as jusha/v1, without +, #, or a leading or trailing /", tp)
	}
	if u.TLS != (TLS{}) && !slices.ContainsFunc(u.Brokers, usesTLS) {
		c.errorf(c.at(&u.TLS, u), "upstream.tls is set but no broker URL uses TLS (tls://, ssl://, mqtts:// or wss://)")
	}
	if (u.TLS.CertFile == "") != (u.TLS.KeyFile == "") {
		c.errorf(c.at(&u.TLS.CertFile, &u.TLS.KeyFile, &u.TLS), "upstream.tls: cert_file and key_file go together (mutual TLS)")
	}
	if u.AckTimeout <= 0 {
		c.errorf(c.at(&u.AckTimeout, u), "upstream.ack_timeout must be more than 0")
	}
	if u.Outbox.MaxBytes < 1<<20 {
		c.errorf(c.at(&u.Outbox.MaxBytes, &u.Outbox, u), "upstream.outbox.max_bytes %d: want at least 1MiB", u.Outbox.MaxBytes)
	}
}

// brokerNode is the node of the i-th broker URL: a list item, or the scalar.
func (c *checker) brokerNode(u *Upstream, i int) *yaml.Node {
	n := c.at(&u.Brokers, u)
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

func (c *checker) checkTelemetry(t *Telemetry) {
	if t.Influx.URL == "" {
		c.errorf(c.at(&t.Influx.URL, &t.Influx, t), "telemetry.influx.url is required (or leave out telemetry)")
	} else if err := checkHTTPURL(t.Influx.URL); err != nil {
		c.errorf(c.at(&t.Influx.URL), "telemetry.influx.url: %v", err)
	}
	if t.Influx.Org == "" || t.Influx.Bucket == "" {
		c.errorf(c.at(&t.Influx.Org, &t.Influx.Bucket, &t.Influx, t), "telemetry.influx: org and bucket must not be empty")
	}
	if t.Interval < Duration(time.Second) {
		c.errorf(c.at(&t.Interval, t), "telemetry.interval %s: want 1s or more", t.Interval.D())
	}
	if t.FlushInterval <= 0 {
		c.errorf(c.at(&t.FlushInterval, t), "telemetry.flush_interval must be more than 0")
	}
	if t.BatchSize < 1 {
		c.errorf(c.at(&t.BatchSize, t), "telemetry.batch_size %d: want 1 or more", t.BatchSize)
	}
	if t.BufferPoints < t.BatchSize {
		c.errorf(c.at(&t.BufferPoints, t), "telemetry.buffer_points %d: want at least batch_size (%d)", t.BufferPoints, t.BatchSize)
	}
}

func (c *checker) checkAccess(a *Access) {
	if a.KeyFile == "" {
		c.errorf(c.at(&a.KeyFile, a), "access.key_file must not be empty")
	}
	if a.UnlockTime < Duration(100*time.Millisecond) || a.UnlockTime > Duration(10*time.Minute) {
		c.errorf(c.at(&a.UnlockTime, a), "access.unlock_time %s: want 100ms to 10m", a.UnlockTime.D())
	}
	ids := map[string]int{}
	for i := range a.Signers {
		s := &a.Signers[i]
		switch first, dup := ids[s.ID]; {
		case s.ID == "":
			c.errorf(c.at(&s.ID, s), "access.signers[%d]: id is required", i)
		case dup:
			c.errorf(c.at(&s.ID, s), "access.signers: id %q given twice (first at %s)", s.ID, lineCol(c.at(&a.Signers[first].ID)))
		default:
			ids[s.ID] = i
		}
		key, err := base64.StdEncoding.DecodeString(s.PublicKey)
		if err != nil || len(key) != 32 {
			c.errorf(c.at(&s.PublicKey, s), "access.signers[%d].public_key: want the 32-byte Ed25519 key in standard base64 (44 characters)", i)
		}
	}
}

// checkRules checks a rules mapping; kind, for a device's overrides, limits
// the event types to those of the device's kind.
func (c *checker) checkRules(rules map[string]RuleConfig, field *map[string]RuleConfig, kind string) {
	n := c.d.node(field)
	keys := map[string]keyValue{}
	if n != nil && n.Kind == yaml.MappingNode {
		for _, kv := range c.d.pairs(n, 0) {
			keys[kv.key.Value] = kv
		}
	}
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := rules[name]
		kv := keys[name]
		keyAt, valAt := orNode(kv.key, c.at(field)), orNode(resolve(kv.val), c.at(field))
		sub := func(key string) *yaml.Node { return orNode(mapValue(valAt, key), valAt) }
		switch ek := eventKind(name); {
		case !KnownEventType(name):
			c.errorf(keyAt, "rules: unknown event type %q", name)
		case kind != "" && ek != "" && ek != kind:
			c.errorf(keyAt, "rules: %q is not an event of %s", name, article(kind))
		}
		if r.Severity != "" && !KnownSeverity(r.Severity) {
			c.errorf(sub("severity"), "rules.%s.severity %q: want critical, high, medium, low or info", name, r.Severity)
		}
		if r.Route != "" && !KnownRoute(r.Route) {
			c.errorf(sub("route"), "rules.%s.route %q: want police, street, community or record", name, r.Route)
		}
		if r.Count < 0 {
			c.errorf(sub("count"), "rules.%s.count %d: want 0 or more", name, r.Count)
		}
	}
}

// mapValue finds a key's value among a mapping node's own keys (not merged
// ones, whose problems then point at the mapping).
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key && k.ShortTag() != "!!merge" {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}
