// Package platform is a stand-in for the central incident platform: an MQTT
// client that subscribes to a gateway's topics, keeps every event it
// receives, checks sequences for gaps, acknowledges alarms and sends
// commands. The demo prints what it sees; integration tests assert on it.
package platform

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/jusha-ean/edge/events"
)

// Received is one event as the platform got it.
type Received struct {
	Event events.Event
	Topic string
	At    time.Time
}

// Reply is a gateway's answer to a command, from P/reply.
type Reply struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Platform is a connected stand-in platform.
type Platform struct {
	client paho.Client
	prefix string // P: topic_prefix/site/gateway

	mu       sync.Mutex
	events   []Received
	byID     map[string]int
	dups     int
	replies  []Reply
	status   []string
	states   map[string]json.RawMessage
	bad      []string
	waiters  []chan struct{}
	onEvent  func(Received)
	lastSeq  uint64
	gaps     []string
	reorders int
}

// Options configure the stand-in platform.
type Options struct {
	Broker   string // tcp://host:port
	Prefix   string // topic_prefix/site/gateway
	ClientID string
	// OnEvent is called for each new (non-duplicate) event, in arrival order.
	OnEvent func(Received)
	Log     *slog.Logger
}

// Connect subscribes to P/# and starts collecting.
func Connect(o Options) (*Platform, error) {
	if o.ClientID == "" {
		o.ClientID = "platform-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	p := &Platform{prefix: o.Prefix, byID: map[string]int{}, states: map[string]json.RawMessage{}, onEvent: o.OnEvent}
	opts := paho.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetMaxReconnectInterval(time.Second).SetOrderMatters(true)
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe(o.Prefix+"/#", 1, p.handle)
	})
	p.client = paho.NewClient(opts)
	tok := p.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("platform connect %s: %v", o.Broker, tok.Error())
	}
	return p, nil
}

func (p *Platform) handle(_ paho.Client, m paho.Message) {
	topic := strings.TrimPrefix(m.Topic(), p.prefix+"/")
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.wake()
	switch {
	case strings.HasPrefix(topic, "events/"):
		var ev events.Event
		if err := json.Unmarshal(m.Payload(), &ev); err != nil {
			p.bad = append(p.bad, fmt.Sprintf("%s: %v", m.Topic(), err))
			return
		}
		if _, dup := p.byID[ev.ID]; dup {
			p.dups++
			return
		}
		seq, _ := strconv.ParseUint(ev.Sequence, 10, 64)
		switch {
		case p.lastSeq != 0 && seq > p.lastSeq+1:
			p.gaps = append(p.gaps, fmt.Sprintf("%d..%d", p.lastSeq+1, seq-1))
		case seq <= p.lastSeq:
			p.reorders++
		}
		if seq > p.lastSeq {
			p.lastSeq = seq
		}
		r := Received{Event: ev, Topic: m.Topic(), At: now}
		p.byID[ev.ID] = len(p.events)
		p.events = append(p.events, r)
		if p.onEvent != nil {
			p.onEvent(r)
		}
	case topic == "reply":
		var r Reply
		if err := json.Unmarshal(m.Payload(), &r); err != nil {
			p.bad = append(p.bad, fmt.Sprintf("%s: %v", m.Topic(), err))
			return
		}
		p.replies = append(p.replies, r)
	case topic == "status":
		var s struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(m.Payload(), &s)
		p.status = append(p.status, s.Status)
	case strings.HasPrefix(topic, "state/"):
		p.states[strings.TrimPrefix(topic, "state/")] = append(json.RawMessage(nil), m.Payload()...)
	}
}

func (p *Platform) wake() {
	for _, w := range p.waiters {
		close(w)
	}
	p.waiters = nil
}

// Events returns a copy of the distinct events received so far, in order.
func (p *Platform) Events() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Received(nil), p.events...)
}

// Stats: duplicates dropped, sequence gaps and out-of-order arrivals seen.
func (p *Platform) Stats() (dups int, gaps []string, reorders int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dups, append([]string(nil), p.gaps...), p.reorders
}

// Replies returns the command replies received so far.
func (p *Platform) Replies() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Reply(nil), p.replies...)
}

// Statuses returns the status values seen on P/status, in order.
func (p *Platform) Statuses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.status...)
}

// State returns the latest retained state of a device.
func (p *Platform) State(device string) (json.RawMessage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.states[device]
	return s, ok
}

// Wait blocks until cond (called under the platform's lock with the events
// so far) is true or timeout passes; it reports whether cond became true.
func (p *Platform) Wait(timeout time.Duration, cond func(evs []Received) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		if cond(p.events) {
			p.mu.Unlock()
			return true
		}
		w := make(chan struct{})
		p.waiters = append(p.waiters, w)
		p.mu.Unlock()
		select {
		case <-w:
		case <-deadline.C:
			return false
		}
	}
}

// WaitType waits for an event of type typ (and phase, if not empty) about
// subject (any if empty) and returns it.
func (p *Platform) WaitType(timeout time.Duration, typ string, phase events.Phase, subject string) (events.Event, bool) {
	var found events.Event
	ok := p.Wait(timeout, func(evs []Received) bool {
		for _, r := range evs {
			if r.Event.Type == typ && (phase == "" || r.Event.Phase == phase) && (subject == "" || r.Event.Subject == subject) {
				found = r.Event
				return true
			}
		}
		return false
	})
	return found, ok
}

// Command publishes payload on P/cmd/{name} at QoS 1.
func (p *Platform) Command(name string, payload []byte) error {
	tok := p.client.Publish(p.prefix+"/cmd/"+name, 1, false, payload)
	if !tok.WaitTimeout(30 * time.Second) {
		return fmt.Errorf("command %s: no PUBACK from the broker within 30 s", name)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("command %s: %w", name, err)
	}
	return nil
}

// Ack signs for an alarm: P/cmd/ack {"id","by","time"}.
func (p *Platform) Ack(alarmID, by string) error {
	b, _ := json.Marshal(map[string]string{"id": alarmID, "by": by, "time": time.Now().UTC().Format(events.TimeFormat)})
	return p.Command("ack", b)
}

// Close disconnects.
func (p *Platform) Close() { p.client.Disconnect(100) }
