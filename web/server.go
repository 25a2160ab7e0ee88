// Package web serves the gateway's local HTTP face on http.listen: the status
// page for installers, /healthz and /readyz for supervisors, /metrics for
// Prometheus, the JSON device list and, mounted from the access package, the
// local access API (CONTRACT section 4).
//
// The server only reads: it sees the rest of the gateway through the small
// interfaces in sources.go, which the gateway satisfies with the real parts.
// The read-only pages need no token while the server listens on loopback;
// the server refuses to listen on any other address unless a token is
// configured, and then asks for that token on every page except the health
// checks.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// Options are what the server shows and where it listens. Config is
// required; a nil source shows as "not available" on the page and fails the
// readiness checks that need it (Outbox, Uplink).
type Options struct {
	// Config is the loaded configuration: http.listen, site and gateway.
	Config *configs.Config
	// Token is the bearer token read from http.token_file; empty when none
	// is configured.
	Token string
	// Version is the gateway's version, shown on the page and in /healthz.
	Version string

	Devices   Devices
	Alarms    Alarms
	Outbox    Outbox
	Uplink    Uplink
	Whitelist Whitelist
	Telemetry Telemetry
	// Events holds the recent events; nil makes a new ring of
	// DefaultRecentEvents that the gateway reaches through Server.Events.
	Events *RecentEvents

	// AccessAPI is mounted at POST /api/v1/access. It checks the bearer
	// token itself (see TokenOK); nil answers 404.
	AccessAPI http.Handler

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ShutdownTimeout bounds how long Run waits for requests in flight once its
// context ends.
const ShutdownTimeout = 5 * time.Second

// Server is the local HTTP server. Create it with New and start it with Run.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	events  *RecentEvents
	metrics *Metrics
	page    *template.Template
	handler http.Handler

	mu        sync.Mutex
	addr      net.Addr
	listening chan struct{}
}

// New checks the options and builds the server without listening yet. It
// refuses an http.listen beyond loopback when no token is configured.
func New(opts Options, log *slog.Logger) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("web: no config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := CheckListen(opts.Config.HTTP.Listen, opts.Token != ""); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		opts:      opts,
		log:       log,
		now:       now,
		started:   now(),
		events:    opts.Events,
		listening: make(chan struct{}),
	}
	if s.events == nil {
		s.events = NewRecentEvents(DefaultRecentEvents)
	}
	s.metrics = newMetrics(opts)
	page, err := parsePage()
	if err != nil {
		return nil, fmt.Errorf("web: status page template: %w", err)
	}
	s.page = page
	h, err := s.routes()
	if err != nil {
		return nil, err
	}
	s.handler = h
	return s, nil
}

// Handler returns the server's routes, for tests and for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// Events returns the ring of recent events the gateway feeds.
func (s *Server) Events() *RecentEvents { return s.events }

// Metrics returns the counters the gateway increments.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Listening is closed once Run has bound its address.
func (s *Server) Listening() <-chan struct{} { return s.listening }

// Addr is the address Run listens on; nil before Listening is closed.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens on http.listen and serves until ctx ends, then shuts down,
// giving requests in flight up to ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	listen := s.opts.Config.HTTP.Listen
	if err := CheckListen(listen, s.opts.Token != ""); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w", listen, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	close(s.listening)
	s.log.Info("http server listening", "addr", ln.Addr().String())

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	return nil
}
