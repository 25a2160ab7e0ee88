package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jusha-ean/edge/events"
	"golang.org/x/sync/errgroup"
)

// Run connects, keeps the link up and serves it until ctx ends; then it
// publishes the offline status, disconnects and returns nil.
func (u *Uplink) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { u.runCommands(ctx); return nil })
	g.Go(func() error { u.runBusyReplies(ctx); return nil })
	g.Go(func() error { u.runStates(ctx); return nil })
	g.Go(func() error { return u.runLink(ctx) })
	return g.Wait()
}

// runLink is the reconnect loop: one paho client per connection, so that
// nothing of a lost connection (its store, its tokens) leaks into the next;
// the outbox is the only store of what is still to send.
func (u *Uplink) runLink(ctx context.Context) error {
	failures := 0
	idx := 0
	first := true
	for {
		broker := u.brokers[idx%len(u.brokers)]
		cn, err := u.connect(ctx, broker)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			u.st.connectFailures.Add(1)
			failures++
			idx++ // fail over to the next node of the cluster
			wait := backoff(failures, u.minBackoff, u.maxBackoff)
			u.log.Warn("connect failed", append([]any{"broker", broker, "err", err, "retry_in", wait.Round(time.Millisecond)}, hint(err, u)...)...)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		if !first {
			u.st.reconnects.Add(1)
		}
		first = false
		up := time.Now()
		u.broker.Store(broker)
		u.setCurrent(cn.c)
		select {
		case u.connUp <- struct{}{}:
		default:
		}
		u.log.Info("connected", "broker", broker, "client_id", u.clientID, "prefix", u.prefix)
		err = u.serve(ctx, cn)
		u.setCurrent(nil)
		if ctx.Err() != nil {
			u.shutdown(cn.c)
			return nil
		}
		cn.c.Disconnect(0)
		// A connection that drops at once (another gateway with our client
		// id, a broker refusing us after CONNACK) keeps the backoff growing.
		if time.Since(up) >= stableAfter {
			failures = 0
		}
		failures++
		wait := backoff(failures, u.minBackoff, u.maxBackoff)
		u.log.Warn("connection lost", "broker", broker, "err", err, "retry_in", wait.Round(time.Millisecond))
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// backoff is the delay before attempt n (1-based): lo doubled per failure,
// capped at hi, plus up to half of it again as jitter, never above hi.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	d += rand.N(d/2 + 1)
	return min(d, hi)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// hint adds why a connect most likely failed, for the installer.
func hint(err error, u *Uplink) []any {
	msg := err.Error()
	switch {
	case u.tls != nil && len(u.tls.Certificates) == 0 &&
		(strings.Contains(msg, "certificate required") || strings.Contains(msg, "connection reset") ||
			strings.Contains(msg, "EOF") || strings.Contains(msg, "broken pipe")):
		return []any{"hint", "the broker closed the TLS connection: it probably requires a client certificate (upstream.tls.cert_file and key_file are not set)"}
	case strings.Contains(msg, "x509") || strings.Contains(msg, "certificate"):
		return []any{"hint", "TLS certificate problem: check upstream.tls.ca_file and the broker's certificate names"}
	case strings.Contains(msg, "not Authorized") || strings.Contains(msg, "bad user name or password"):
		return []any{"hint", "the broker refused the credentials: check upstream.username and password_file"}
	}
	return nil
}

// connect opens one connection: will set, session persistent, commands
// subscribed, online status published.
func (u *Uplink) connect(ctx context.Context, broker string) (*conn, error) {
	if u.insecure {
		u.log.Warn("TLS certificate verification is off (upstream.tls.insecure_skip_verify): the broker is not authenticated", "broker", broker)
	}
	cn := &conn{down: make(chan struct{})}
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(u.clientID).
		// MQTT 3.1.1 only: paho otherwise falls back to 3.1 after a
		// refused handshake, which the contract does not speak.
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(connectTimeout).
		SetKeepAlive(keepAlive).
		SetPingTimeout(10*time.Second).
		SetWriteTimeout(10*time.Second).
		SetOrderMatters(true). // the callback only enqueues: commands keep their order
		SetBinaryWill(u.prefix+"/status", u.statusPayload("offline"), 1, true).
		SetDefaultPublishHandler(u.onCommand).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { cn.lost(err) })
	if u.tls != nil {
		o.SetTLSConfig(u.tls.Clone())
	}
	if u.username != "" {
		o.SetUsername(u.username)
	}
	if u.password != "" {
		o.SetPassword(u.password)
	}
	c := mqtt.NewClient(o)
	if err := wait(ctx, c.Connect(), connectTimeout+time.Second); err != nil {
		c.Disconnect(0)
		return nil, err
	}
	if err := wait(ctx, c.Subscribe(u.prefix+"/cmd/#", 1, u.onCommand), connectTimeout); err != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("subscribe %s/cmd/#: %w", u.prefix, err)
	}
	if err := wait(ctx, c.Publish(u.prefix+"/status", 1, true, u.statusPayload("online")), connectTimeout); err != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("publish status: %w", err)
	}
	cn.c = c
	return cn, nil
}

// conn is one live connection.
type conn struct {
	c    mqtt.Client
	once sync.Once
	down chan struct{} // closed when the connection is lost
	err  error         // why; set before down is closed
}

func (cn *conn) lost(err error) {
	cn.once.Do(func() {
		if err == nil {
			err = errors.New("connection lost")
		}
		cn.err = err
		close(cn.down)
	})
}

// wait waits for a paho token, ctx or a timeout.
func wait(ctx context.Context, t mqtt.Token, timeout time.Duration) error {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return errors.New("timed out")
	}
}

func (u *Uplink) statusPayload(status string) []byte {
	b, _ := json.Marshal(struct {
		Status  string `json:"status"`
		BootID  string `json:"boot_id"`
		Version string `json:"version"`
		Time    string `json:"time"`
	}{status, u.bootID, u.version, time.Now().UTC().Format(events.TimeFormat)})
	return b
}

// shutdown ends a live connection cleanly: in-flight acks have been
// drained by serve; the offline status is published retained (the will is
// only sent by the broker on an unclean end), then the client disconnects.
func (u *Uplink) shutdown(c mqtt.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := wait(ctx, c.Publish(u.prefix+"/status", 1, true, u.statusPayload("offline")), shutdownGrace); err != nil {
		u.log.Warn("offline status not published", "err", err)
	}
	c.Disconnect(250)
	u.log.Info("disconnected")
}
