package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// linkSet runs one drivers.Manager per Modbus URL, so that a config reload
// restarts the polling of the links whose devices changed and leaves the
// others running. It routes writes to the manager that owns the device.
type linkSet struct {
	log *slog.Logger

	mu     sync.Mutex
	groups map[string]*linkGroup // by modbus URL
	owner  map[string]*linkGroup // by device id
	sink   func(drivers.Reading)
	ctx    context.Context // set by run; groups started later use it
	wg     sync.WaitGroup
}

type linkGroup struct {
	url     string
	devices []configs.Device
	mgr     *drivers.Manager
	cancel  context.CancelFunc
	done    chan struct{}
}

func newLinkSet(devices []configs.Device, log *slog.Logger) (*linkSet, error) {
	s := &linkSet{log: log, groups: map[string]*linkGroup{}, owner: map[string]*linkGroup{}}
	groups, err := planGroups(devices, log)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		s.add(g)
	}
	return s, nil
}

// planGroups splits devices by URL, in config order, and builds a manager
// for each group.
func planGroups(devices []configs.Device, log *slog.Logger) ([]*linkGroup, error) {
	var order []string
	byURL := map[string][]configs.Device{}
	for _, d := range devices {
		if _, ok := byURL[d.Modbus.URL]; !ok {
			order = append(order, d.Modbus.URL)
		}
		byURL[d.Modbus.URL] = append(byURL[d.Modbus.URL], d)
	}
	out := make([]*linkGroup, 0, len(order))
	for _, u := range order {
		mgr, err := drivers.NewManager(byURL[u], log.With("part", "drivers"))
		if err != nil {
			return nil, err
		}
		out = append(out, &linkGroup{url: u, devices: byURL[u], mgr: mgr})
	}
	return out, nil
}

func (s *linkSet) add(g *linkGroup) {
	s.groups[g.url] = g
	for _, d := range g.devices {
		s.owner[d.ID] = g
	}
}

// run starts every group and blocks until ctx ends and all have stopped.
func (s *linkSet) run(ctx context.Context, sink func(drivers.Reading)) {
	s.mu.Lock()
	s.ctx, s.sink = ctx, sink
	for _, g := range s.groups {
		s.start(g)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
}

// start runs one group's manager; the caller holds s.mu.
func (s *linkSet) start(g *linkGroup) {
	ctx, cancel := context.WithCancel(s.ctx)
	g.cancel, g.done = cancel, make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(g.done)
		if err := g.mgr.Run(ctx, s.sink); err != nil {
			s.log.Error("link stopped", "url", configs.RedactURL(g.url), "err", err)
		}
	}()
}

// reload swaps in the groups of a new device list: a group whose devices
// are unchanged keeps running, a changed one is stopped and started anew,
// a removed one is stopped. It returns the ids of the restarted links.
func (s *linkSet) reload(devices []configs.Device) (restarted []string, err error) {
	planned, err := planGroups(devices, s.log)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*linkGroup{}
	for _, g := range planned {
		if old, ok := s.groups[g.url]; ok && sameDevices(old.devices, g.devices) {
			next[g.url] = old
			continue
		}
		next[g.url] = g
	}
	for u, old := range s.groups {
		if next[u] != old && old.cancel != nil {
			old.cancel()
			<-old.done
		}
	}
	s.groups, s.owner = map[string]*linkGroup{}, map[string]*linkGroup{}
	for _, g := range planned {
		kept := next[g.url]
		s.add(kept)
		if kept.done == nil && s.ctx != nil {
			s.start(kept)
			restarted = append(restarted, configs.RedactURL(kept.url))
		}
	}
	return restarted, nil
}

func sameDevices(a, b []configs.Device) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func (s *linkSet) manager(device string) (*drivers.Manager, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.owner[device]
	if !ok {
		return nil, fmt.Errorf("device %q: not configured", device)
	}
	return g.mgr, nil
}

// Write sets a writable point of a device (an unlock coil, a siren).
func (s *linkSet) Write(ctx context.Context, device, point string, v drivers.Value) error {
	m, err := s.manager(device)
	if err != nil {
		return err
	}
	return m.Write(ctx, device, point, v)
}

// WriteBools writes an array coil point such as floor_enable.
func (s *linkSet) WriteBools(ctx context.Context, device, point string, bits []bool) error {
	m, err := s.manager(device)
	if err != nil {
		return err
	}
	return m.WriteBools(ctx, device, point, bits)
}

// Stats returns every device's polling record, in config order of links.
func (s *linkSet) Stats() []drivers.DeviceStats {
	s.mu.Lock()
	groups := make([]*linkGroup, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	var out []drivers.DeviceStats
	for _, g := range groups {
		out = append(out, g.mgr.Stats()...)
	}
	return out
}
