package fleet

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/jusha-ean/edge/events"
)

// consumer is the central platform of the fleet: one MQTT client
// subscribed to every gateway's events (jusha/v1/+/+/events/#), checking
// per gateway that sequences arrive in order without gaps.
type consumer struct {
	client paho.Client
	prefix string

	mu      sync.Mutex
	gws     map[string]*stream // by "site/gateway"
	bad     []string
	latency []time.Duration
	onAlarm func(gw, alarmID string)
}

// stream is what the consumer knows of one gateway.
type stream struct {
	ids      map[string]bool
	seqs     map[uint64]bool
	last     uint64
	dups     int
	gaps     []string
	reorders int
	types    map[string]int
}

func newConsumer(broker, prefix string, onAlarm func(gw, alarmID string)) (*consumer, error) {
	c := &consumer{prefix: prefix, gws: map[string]*stream{}, onAlarm: onAlarm}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID("fleet-central").
		SetCleanSession(true).SetAutoReconnect(true).SetOrderMatters(true).SetConnectRetry(true).
		SetMaxReconnectInterval(time.Second)
	filter := prefix + "/+/+/events/#"
	opts.SetOnConnectHandler(func(cl paho.Client) { cl.Subscribe(filter, 1, c.handle) })
	c.client = paho.NewClient(opts)
	tok := c.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("central consumer connect %s: %v", broker, tok.Error())
	}
	// The connect handler subscribes again after a reconnect; this first
	// subscription is waited for, so that no early event is missed.
	sub := c.client.Subscribe(filter, 1, c.handle)
	if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
		c.client.Disconnect(0)
		return nil, fmt.Errorf("central consumer subscribe %s: %v", filter, sub.Error())
	}
	return c, nil
}

func (c *consumer) handle(_ paho.Client, m paho.Message) {
	now := time.Now()
	parts := strings.Split(strings.TrimPrefix(m.Topic(), c.prefix+"/"), "/")
	if len(parts) < 4 {
		c.fail("topic %q", m.Topic())
		return
	}
	gw := parts[0] + "/" + parts[1]
	var ev events.Event
	if err := json.Unmarshal(m.Payload(), &ev); err != nil {
		c.fail("%s: %v", m.Topic(), err)
		return
	}
	seq, err := strconv.ParseUint(ev.Sequence, 10, 64)
	if err != nil {
		c.fail("%s: sequence %q", m.Topic(), ev.Sequence)
		return
	}
	if want := "/jusha/" + gw; ev.Source != want {
		c.fail("%s: source %q, want %q", m.Topic(), ev.Source, want)
	}
	c.mu.Lock()
	s := c.gws[gw]
	if s == nil {
		s = &stream{ids: map[string]bool{}, seqs: map[uint64]bool{}, types: map[string]int{}}
		c.gws[gw] = s
	}
	if s.ids[ev.ID] {
		s.dups++
		c.mu.Unlock()
		return
	}
	s.ids[ev.ID] = true
	s.seqs[seq] = true
	s.types[ev.Type]++
	switch {
	case seq > s.last+1:
		s.gaps = append(s.gaps, fmt.Sprintf("%d..%d", s.last+1, seq-1))
	case seq <= s.last:
		s.reorders++
	}
	s.last = max(s.last, seq)
	c.latency = append(c.latency, now.Sub(ev.Time))
	c.mu.Unlock()
	if ev.Phase == events.Raised && ev.AlarmID != "" && c.onAlarm != nil {
		c.onAlarm(gw, ev.AlarmID)
	}
}

func (c *consumer) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) < 50 {
		c.bad = append(c.bad, fmt.Sprintf(format, args...))
	}
}

// publish sends a command to one gateway: P/cmd/{name}.
func (c *consumer) publish(gw, name string, payload []byte) error {
	tok := c.client.Publish(c.prefix+"/"+gw+"/cmd/"+name, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("publish %s to %s: %v", name, gw, tok.Error())
	}
	return nil
}

// ack signs for an alarm of one gateway.
func (c *consumer) ack(gw, alarmID string) error {
	b, _ := json.Marshal(map[string]string{"id": alarmID, "by": "fleet-central", "time": time.Now().UTC().Format(events.TimeFormat)})
	return c.publish(gw, "ack", b)
}

// view is a copy of one gateway's stream.
type view struct {
	Count     int
	Seqs      map[uint64]bool
	Dups      int
	Gaps      []string
	Reorders  int
	Types     map[string]int
	HasGWInfo bool
}

func (c *consumer) view(gw string) view {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.gws[gw]
	if s == nil {
		return view{}
	}
	v := view{Count: len(s.ids), Seqs: make(map[uint64]bool, len(s.seqs)), Dups: s.dups,
		Gaps: slices.Clone(s.gaps), Reorders: s.reorders, Types: map[string]int{}}
	for k := range s.seqs {
		v.Seqs[k] = true
	}
	for k, n := range s.types {
		v.Types[k] = n
	}
	return v
}

// count is the number of distinct events received from one gateway.
func (c *consumer) count(gw string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.gws[gw]; s != nil {
		return len(s.ids)
	}
	return 0
}

// latencies returns event time -> arrival, sorted.
func (c *consumer) latencies() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := slices.Clone(c.latency)
	slices.Sort(l)
	return l
}

func (c *consumer) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bad)
}

func (c *consumer) close() { c.client.Disconnect(100) }
