// Package uplink is the gateway's MQTT 3.1.1 link to the central platform
// (CONTRACT section 5). With P = {topic_prefix}/{site}/{gateway} it:
//
//   - publishes a retained P/status "online" on every connect, with the
//     retained "offline" one as its will (and published on a clean shutdown);
//   - drains the outbox oldest first to P/events/{category} at QoS 1 with
//     many messages in flight, deleting each record only after its PUBACK;
//     after a reconnect the backlog is resent from the oldest record kept;
//   - publishes retained P/state/{device} on change, at most once a second
//     per device (the latest state wins);
//   - subscribes P/cmd/#, runs the registered handlers off the MQTT client's
//     goroutine through a bounded queue, and answers every command on
//     P/reply, with an error for malformed, oversized or unknown ones.
//
// The session is persistent (clean session off, fixed client id), so
// commands sent while the gateway is offline wait at the broker. Run owns
// the connection: it reconnects with exponential backoff and jitter
// (1 s to 60 s) and fails over between the brokers of a cluster.
package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/sync/outbox"
)

// Defaults of the link.
const (
	DefaultWindow      = 4096             // events in flight awaiting PUBACK
	DefaultMinBackoff  = time.Second      // first reconnect delay
	DefaultMaxBackoff  = 60 * time.Second // reconnect delay cap
	MaxCommandBytes    = 1 << 20          // larger commands are refused
	CommandQueue       = 256              // commands waiting for a handler
	CommandTimeout     = 30 * time.Second // bound on one handler call
	StateInterval      = time.Second      // per device, at most one state per interval
	connectTimeout     = 10 * time.Second
	stableAfter        = 30 * time.Second // a connection this old resets the backoff
	keepAlive          = 30 * time.Second
	shutdownGrace      = 2 * time.Second
	defaultVersion     = "dev"
	commandTopicSuffix = "/cmd/"
)

// Handler runs one command. It returns the command's id when it knows it
// (a signed envelope carries it inside the signed payload); when id is
// empty the reply carries the payload's top-level "id", if any.
type Handler func(ctx context.Context, payload []byte) (id string, err error)

// Option changes a default of the link.
type Option func(*Uplink)

// WithVersion sets the version reported on P/status.
func WithVersion(v string) Option { return func(u *Uplink) { u.version = v } }

// WithWindow sets how many events may await their PUBACK at once.
func WithWindow(n int) Option {
	return func(u *Uplink) {
		if n > 0 {
			u.window = n
		}
	}
}

// WithBackoff sets the reconnect delays (tests shorten them).
func WithBackoff(lo, hi time.Duration) Option {
	return func(u *Uplink) {
		if lo > 0 && hi >= lo {
			u.minBackoff, u.maxBackoff = lo, hi
		}
	}
}

// Uplink is the MQTT link. Create it with New, then call Run.
type Uplink struct {
	ob       *outbox.Outbox
	log      *slog.Logger
	prefix   string // P
	clientID string
	brokers  []string
	tls      *tls.Config // nil unless a broker URL asks for TLS
	insecure bool
	username string
	password string
	bootID   string
	version  string
	window   int

	minBackoff, maxBackoff time.Duration

	mu       sync.Mutex
	handlers map[string]Handler
	client   mqtt.Client // the live connection, nil when down

	cmds     chan command
	busy     chan busyReply // replies to commands dropped by a full queue
	states   *coalescer
	stateWak chan struct{}
	connUp   chan struct{} // a value after each connect

	connected atomic.Bool
	broker    atomic.Value // string: the broker connected to
	st        counters
}

type counters struct {
	reconnects, connectFailures      atomic.Uint64
	published, acked                 atomic.Uint64
	commands, commandErrors, dropped atomic.Uint64
	statesPublished                  atomic.Uint64
}

// New checks the upstream config, reads its secret files and returns a link
// that is not yet connected.
func New(cfg *configs.Config, ob *outbox.Outbox, log *slog.Logger, opts ...Option) (*Uplink, error) {
	if cfg == nil || ob == nil {
		return nil, fmt.Errorf("uplink: nil config or outbox")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	up := cfg.Upstream
	prefix := up.TopicPrefix
	if prefix == "" {
		prefix = configs.DefaultTopicPrefix
	}
	u := &Uplink{
		ob:         ob,
		log:        log.With("component", "uplink"),
		prefix:     strings.TrimSuffix(prefix, "/") + "/" + cfg.Site + "/" + cfg.Gateway,
		clientID:   up.ClientID,
		brokers:    append([]string(nil), up.Brokers...),
		username:   up.Username,
		bootID:     events.NewID(time.Now()),
		version:    defaultVersion,
		window:     DefaultWindow,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		handlers:   map[string]Handler{},
		cmds:       make(chan command, CommandQueue),
		busy:       make(chan busyReply, 4*CommandQueue),
		states:     newCoalescer(StateInterval),
		stateWak:   make(chan struct{}, 1),
		connUp:     make(chan struct{}, 1),
	}
	if cfg.Site == "" || cfg.Gateway == "" {
		return nil, fmt.Errorf("uplink: site and gateway must be set")
	}
	if u.clientID == "" {
		u.clientID = "jusha-edge-" + cfg.Site + "-" + cfg.Gateway
	}
	if len(u.brokers) == 0 {
		u.brokers = []string{configs.DefaultBroker}
	}
	for _, o := range opts {
		o(u)
	}
	if err := u.loadSecrets(up); err != nil {
		return nil, err
	}
	u.broker.Store("")
	return u, nil
}

// Prefix returns P, the topic prefix of this gateway.
func (u *Uplink) Prefix() string { return u.prefix }

// BootID returns the id of this run, as published on P/status.
func (u *Uplink) BootID() string { return u.bootID }

// Connected reports whether the link is up.
func (u *Uplink) Connected() bool { return u.connected.Load() }

// Handle registers h for the commands on P/cmd/{name}. Register before Run:
// a command arriving for a name without handler is answered "unknown".
func (u *Uplink) Handle(name string, h Handler) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.handlers[name] = h
}

// Stats are the link's gauges and counters.
type Stats struct {
	Connected       bool
	Broker          string // URL of the broker connected to
	Reconnects      uint64 // connections made after the first
	ConnectFailures uint64
	Published       uint64 // events published (including resends)
	Acked           uint64 // events acknowledged by the broker
	Commands        uint64 // commands received
	CommandErrors   uint64 // commands answered with an error
	CommandsDropped uint64 // commands dropped because the queue was full
	StatesPublished uint64
	StatesCoalesced uint64 // state updates replaced by a later one
	InFlightWindow  int
	Outbox          outbox.Stats // the outbox drained by the link
}

// Stats returns the current figures, with the outbox's.
func (u *Uplink) Stats() Stats {
	return Stats{
		Connected:       u.connected.Load(),
		Broker:          u.broker.Load().(string),
		Reconnects:      u.st.reconnects.Load(),
		ConnectFailures: u.st.connectFailures.Load(),
		Published:       u.st.published.Load(),
		Acked:           u.st.acked.Load(),
		Commands:        u.st.commands.Load(),
		CommandErrors:   u.st.commandErrors.Load(),
		CommandsDropped: u.st.dropped.Load(),
		StatesPublished: u.st.statesPublished.Load(),
		StatesCoalesced: u.states.coalescedCount(),
		InFlightWindow:  u.window,
		Outbox:          u.ob.Stats(),
	}
}

func (u *Uplink) current() mqtt.Client {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.client
}

func (u *Uplink) setCurrent(c mqtt.Client) {
	u.mu.Lock()
	u.client = c
	u.mu.Unlock()
	u.connected.Store(c != nil)
}
