package drivers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jusha-ean/edge/configs"
)

// Manager polls every configured device over its link and carries writes to
// them. Devices with the same modbus.url share one link, whose requests never
// overlap.
type Manager struct {
	log     *slog.Logger
	links   []*link
	devices []*device
	byID    map[string]*device
	linkOf  map[*device]*link
	running atomic.Bool
}

// NewManager checks the devices (each with its profile Resolved) and plans
// their links and requests. It does not connect: Run does.
func NewManager(devices []configs.Device, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{log: log, byID: map[string]*device{}, linkOf: map[*device]*link{}}
	type group struct {
		addr linkAddr
		devs []*device
	}
	var order []string
	groups := map[string]*group{}
	var errs []error
	for _, cfg := range devices {
		if _, dup := m.byID[cfg.ID]; dup {
			errs = append(errs, fmt.Errorf("device %q: defined twice", cfg.ID))
			continue
		}
		d, err := newDevice(cfg, log)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		addr, err := parseLinkURL(cfg.Modbus.URL, cfg.Modbus.TLS)
		if err != nil {
			errs = append(errs, fmt.Errorf("device %q: %w", cfg.ID, err))
			continue
		}
		g := groups[addr.key]
		if g == nil {
			g = &group{addr: addr}
			groups[addr.key] = g
			order = append(order, addr.key)
		} else if !sameLine(g.addr, addr) {
			errs = append(errs, fmt.Errorf("device %q: %s is already used with other serial settings", cfg.ID, addr.key))
			continue
		}
		if len(d.blocks) == 0 {
			errs = append(errs, fmt.Errorf("device %q: profile has no points", cfg.ID))
			continue
		}
		g.devs = append(g.devs, d)
		m.byID[cfg.ID] = d
		m.devices = append(m.devices, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, k := range order {
		g := groups[k]
		l := newLink(g.addr, g.devs, log)
		m.links = append(m.links, l)
		for _, d := range g.devs {
			m.linkOf[d] = l
		}
	}
	return m, nil
}

func sameLine(a, b linkAddr) bool {
	return a.conf.Speed == b.conf.Speed && a.conf.Parity == b.conf.Parity &&
		a.conf.DataBits == b.conf.DataBits && a.conf.StopBits == b.conf.StopBits
}

// Run polls until ctx ends, then closes every link and returns nil once all
// its goroutines have ended. sink gets one Reading per poll per device, in
// order per device, and is never called concurrently; it should return
// quickly, since the device's link waits for it.
func (m *Manager) Run(ctx context.Context, sink func(Reading)) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("drivers: Manager.Run called twice")
	}
	var mu sync.Mutex
	emit := func(r Reading) {
		mu.Lock()
		defer mu.Unlock()
		sink(r)
	}
	var wg sync.WaitGroup
	for _, l := range m.links {
		wg.Go(func() { l.run(ctx, emit) })
	}
	m.log.Info("polling", "devices", len(m.devices), "links", len(m.links))
	wg.Wait()
	<-ctx.Done() // with no devices, Run still lasts as long as ctx
	return nil
}

// Write sets a writable coil or holding-register point to v, then reads it
// back and fails with ErrReadBack if the device holds another value. It is
// queued on the device's link ahead of the polls.
func (m *Manager) Write(ctx context.Context, device, point string, v Value) error {
	d, p, err := m.writable(device, point)
	if err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, dev: d, point: p, done: make(chan error, 1)}
	switch {
	case p.Table == configs.TableCoil:
		j.bits, err = EncodeBits(p, v)
	case p.Bit != nil:
		b := v.Bool()
		j.bit = &b
	default:
		j.regs, err = Encode(p, v)
	}
	if err != nil {
		return fmt.Errorf("device %q: %w", device, err)
	}
	return m.submit(ctx, j)
}

// WriteBools writes the first len(bits) coils of an array coil point, such
// as an elevator's floor_enable (one coil per floor from the lowest up).
func (m *Manager) WriteBools(ctx context.Context, device, point string, bits []bool) error {
	d, p, err := m.writable(device, point)
	if err != nil {
		return err
	}
	if p.Table != configs.TableCoil {
		return fmt.Errorf("device %q: point %q: %w: WriteBools needs a coil point", device, point, ErrNotWritable)
	}
	if len(bits) == 0 || len(bits) > p.Elements() {
		return fmt.Errorf("device %q: point %q: %d bits for %d coils", device, point, len(bits), p.Elements())
	}
	j := &writeJob{ctx: ctx, dev: d, point: p, bits: append([]bool(nil), bits...), done: make(chan error, 1)}
	return m.submit(ctx, j)
}

func (m *Manager) writable(device, point string) (*device, configs.Point, error) {
	d := m.byID[device]
	if d == nil {
		return nil, configs.Point{}, fmt.Errorf("%w %q", ErrUnknownDevice, device)
	}
	i, ok := d.byName[point]
	if !ok {
		return nil, configs.Point{}, fmt.Errorf("device %q: %w %q", device, ErrUnknownPoint, point)
	}
	p := d.points[i]
	if !p.Writable || (p.Table != configs.TableCoil && p.Table != configs.TableHolding) {
		return nil, configs.Point{}, fmt.Errorf("device %q: point %q: %w", device, point, ErrNotWritable)
	}
	return d, p, nil
}

func (m *Manager) submit(ctx context.Context, j *writeJob) error {
	if !m.running.Load() {
		return ErrNotRunning
	}
	l := m.linkOf[j.dev]
	select {
	case l.writes <- j:
	case <-l.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-j.done:
		if err != nil {
			return fmt.Errorf("device %q: %w", j.dev.id, err)
		}
		return nil
	case <-l.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns every device's polling record, in config order.
func (m *Manager) Stats() []DeviceStats {
	out := make([]DeviceStats, len(m.devices))
	for i, d := range m.devices {
		out[i] = d.snapshot()
	}
	return out
}
