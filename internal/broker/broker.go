// Package broker runs an embedded MQTT broker (mochi-mqtt) on loopback, for
// `edge demo` and fast unit tests. Real-broker tests use Mosquitto instead
// (internal/testbed).
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
	once sync.Once
	cerr error
}

// Start starts a broker listening on addr ("127.0.0.1:0" picks a free port).
// It stops when ctx ends or Close is called.
func Start(ctx context.Context, addr string, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// The stock limits silently drop messages to a slow subscriber.
	caps.MaximumInflight = 65535
	caps.MaximumClientWritesPending = 1 << 18
	caps.MaximumMessageExpiryInterval = 0
	srv := mqtt.New(&mqtt.Options{Capabilities: caps, Logger: log})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: "tcp", ID: "tcp", Address: addr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker listen %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b := &Broker{srv: srv, addr: tcp.Address()}
	go func() {
		<-ctx.Done()
		_ = b.Close()
	}()
	return b, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is tcp://host:port.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close stops the broker and drops its clients.
// It is safe to call more than once (mochi's own Close is not).
func (b *Broker) Close() error {
	b.once.Do(func() { b.cerr = b.srv.Close() })
	return b.cerr
}
