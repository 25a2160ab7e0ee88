package faults_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/sync/outbox"
)

// collector is a platform with a persistent session (clean session off, a
// fixed client id): with a broker that keeps its sessions across a restart,
// what the gateway publishes while the collector is not yet reconnected
// waits for it at the broker. internal/platform uses a clean session, so
// events published in the moment between a broker restart and its
// resubscription are lost to it, not by the gateway.
type collector struct {
	client paho.Client

	mu   sync.Mutex
	ids  map[string]bool
	seqs []uint64 // first arrival of each distinct event, in order
	typs []string
	dups int
}

func newCollector(t *testing.T, broker, prefix string) *collector {
	t.Helper()
	c := &collector{ids: map[string]bool{}}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID("faults-collector").
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetMaxReconnectInterval(500 * time.Millisecond).SetOrderMatters(true)
	opts.SetOnConnectHandler(func(cl paho.Client) {
		cl.Subscribe(prefix+"/events/#", 1, c.handle)
	})
	c.client = paho.NewClient(opts)
	tok := c.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("collector connect %s: %v", broker, tok.Error())
	}
	// Wait for the subscription, so that nothing the gateway sends first
	// is missed.
	tok = c.client.Subscribe(prefix+"/events/#", 1, c.handle)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("collector subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.client.Disconnect(100) })
	return c
}

func (c *collector) handle(_ paho.Client, m paho.Message) {
	var ev events.Event
	if err := json.Unmarshal(m.Payload(), &ev); err != nil {
		return
	}
	seq, err := outbox.ParseSeq(ev.Sequence)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[ev.ID] {
		c.dups++
		return
	}
	c.ids[ev.ID] = true
	c.seqs = append(c.seqs, seq)
	c.typs = append(c.typs, ev.Type)
}

// count returns how many distinct events arrived.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seqs)
}

// check reports whether the distinct events arrived exactly as sequences
// 1..n in order, and how many duplicates were dropped.
func (c *collector) check(n uint64) (dups int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.seqs {
		if s != uint64(i)+1 {
			return c.dups, fmt.Errorf("event %d (%s) has sequence %d, want %d; sequences %v", i, c.typs[i], s, i+1, c.seqs)
		}
	}
	if uint64(len(c.seqs)) != n {
		return c.dups, fmt.Errorf("%d distinct events arrived, the gateway stored %d", len(c.seqs), n)
	}
	return c.dups, nil
}

// types returns the types of the events received.
func (c *collector) types() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.typs...)
}
