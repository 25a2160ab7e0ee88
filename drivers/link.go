package drivers

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/simonvetter/modbus"
)

// link is one Modbus connection (a TCP peer or a serial bus) and the devices
// behind it. One goroutine owns it: the library keeps the unit id as client
// state, so setting it and making the request must not interleave with
// another device's request, and a serial bus carries one exchange at a time.
type link struct {
	addr    linkAddr
	log     *slog.Logger
	devices []*device
	timeout time.Duration // the longest of its devices': the library's, per connection
	writes  chan *writeJob
	stopped chan struct{} // closed when run returns
	rnd     *rand.Rand

	client     modbusConn // nil while closed
	openFails  int
	lastOpen   error
	nextOpen   time.Time // no Open before this (reconnect backoff)
	quietUntil time.Time // serial: stay silent until then after a timeout
}

func newLink(addr linkAddr, devices []*device, log *slog.Logger) *link {
	l := &link{
		addr: addr, devices: devices, log: log.With("link", addr.key),
		writes: make(chan *writeJob, 64), stopped: make(chan struct{}),
		rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	for _, d := range devices {
		l.timeout = max(l.timeout, d.timeout)
	}
	l.addr.conf.Timeout = l.timeout
	// The library logs to stdout unless given a logger.
	l.addr.conf.Logger = slog.NewLogLogger(l.log.Handler(), slog.LevelDebug)
	return l
}

// ensureOpen connects when closed. It never hands out a client whose Open
// failed: the library panics when used after that.
func (l *link) ensureOpen(ctx context.Context) error {
	if l.client != nil {
		return nil
	}
	if err := waitUntil(ctx, l.quietUntil); err != nil {
		return err
	}
	if time.Now().Before(l.nextOpen) {
		return &LinkError{URL: l.addr.key, Err: l.lastOpen}
	}
	c, err := l.open(ctx)
	if err != nil {
		l.openFails++
		l.lastOpen = err
		wait := backoff(l.openFails, 250*time.Millisecond, configs.DefaultMaxBackoff, l.rnd.Float64())
		l.nextOpen = time.Now().Add(wait)
		if l.openFails == 1 || l.openFails%10 == 0 {
			l.log.Warn("cannot open link", "err", err, "fails", l.openFails, "retry_in", wait)
		}
		return &LinkError{URL: l.addr.key, Err: err}
	}
	if l.openFails > 0 {
		l.log.Info("link open again", "after_fails", l.openFails)
	}
	l.client, l.openFails, l.lastOpen = c, 0, nil
	return nil
}

// afterError decides what a failed request means for the connection. An
// exception is an answer in step with the request: keep it. A timeout or a
// garbled frame may leave a late answer or half a frame in the stream: close
// (serial lines first stay quiet long enough for a late answer to pass), and
// reopen on the next request.
func (l *link) afterError(err error) {
	if l.client == nil || IsException(err) || errors.Is(err, context.Canceled) {
		return
	}
	if errors.Is(err, modbus.ErrBadUnitId) && !l.addr.serial {
		return // a whole frame was read, only from the wrong unit
	}
	l.close()
	if l.addr.serial {
		l.quietUntil = time.Now().Add(l.addr.quietTime())
	}
}

func (l *link) close() {
	if l.client != nil {
		if err := l.client.Close(); err != nil {
			l.log.Debug("close", "err", err)
		}
		l.client = nil
	}
}

// read makes one read request for device d.
func (l *link) read(ctx context.Context, d *device, b block) (regs []uint16, bits []bool, err error) {
	if err = l.ensureOpen(ctx); err != nil {
		return nil, nil, err
	}
	timeout := l.client.setTimeout(d.timeout)
	switch b.table {
	case configs.TableCoil, configs.TableDiscreteInput:
		bits, err = l.client.readBits(d.unit, b.table == configs.TableDiscreteInput, b.start, b.count)
	default:
		regs, err = l.client.readRegs(d.unit, b.table == configs.TableInput, b.start, b.count)
	}
	if err == nil && len(regs)+len(bits) < int(b.count) {
		err = modbus.ErrShortFrame // the library checks; this guards the decoder
	}
	d.countRequest(err)
	if err != nil {
		l.afterError(err)
		return nil, nil, &RequestError{Op: "reading", Table: b.table, Address: b.start, Count: b.count, Timeout: timeout, Err: err}
	}
	return regs, bits, nil
}

// writeJob is a write queued on a link ahead of the polls.
type writeJob struct {
	ctx   context.Context
	dev   *device
	point configs.Point
	regs  []uint16 // holding registers to write, or
	bits  []bool   // coils to write, or
	bit   *bool    // one bit of a holding register (read, modify, write)
	done  chan error
}

// write runs a write job and reads the range back to check it.
func (l *link) write(ctx context.Context, j *writeJob) error {
	if err := l.ensureOpen(ctx); err != nil {
		return err
	}
	p, c := j.point, l.client
	table, count := p.Table, uint16(len(j.regs)+len(j.bits))
	timeout := c.setTimeout(j.dev.timeout)
	fail := func(err error) error {
		j.dev.countRequest(err)
		l.afterError(err)
		return &RequestError{Op: "writing", Table: table, Address: p.Address, Count: count, Timeout: timeout, Err: err}
	}
	unit := j.dev.unit
	if j.bit != nil {
		count = 1
		got, err := c.readRegs(unit, false, p.Address, 1)
		if err != nil {
			return fail(err)
		}
		j.dev.countRequest(nil)
		reg, err := SetBit(p, got[0], *j.bit)
		if err != nil {
			return err
		}
		j.regs = []uint16{reg}
	}
	var err error
	if len(j.bits) > 0 {
		err = c.writeCoils(unit, p.Address, j.bits)
	} else {
		err = c.writeRegs(unit, p.Address, j.regs)
	}
	if err != nil {
		return fail(err)
	}
	j.dev.countRequest(nil)
	var same bool
	if len(j.bits) > 0 {
		var got []bool
		got, err = c.readBits(unit, false, p.Address, count)
		same = slices.Equal(got, j.bits)
	} else {
		var got []uint16
		got, err = c.readRegs(unit, false, p.Address, count)
		same = slices.Equal(got, j.regs)
	}
	if err != nil {
		return fail(err)
	}
	j.dev.countRequest(nil)
	if !same {
		return &RequestError{Op: "writing", Table: table, Address: p.Address, Count: count, Timeout: timeout, Err: ErrReadBack}
	}
	return nil
}

// waitUntil blocks until t or until ctx ends.
func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
