package drivers

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jusha-ean/edge/configs"
)

// ProbeResult is what one probe of a device found, for `edge probe`.
type ProbeResult struct {
	Device string
	OK     bool
	Points map[string]Value
	// Err says in plain words why the device failed: "connection refused",
	// "timeout after 1s reading ...", `Modbus exception "illegal data
	// address" reading holding register 30`, "wrong unit id ...".
	Err error
}

// Probe connects to dev once, reads every point with the device's timeout
// and retries, and closes the connection. It does not share a link with a
// running Manager: run it when the gateway is stopped, or on a TCP peer that
// accepts several clients.
func Probe(ctx context.Context, dev configs.Device) ProbeResult {
	res := ProbeResult{Device: dev.ID}
	d, err := newDevice(dev, slog.New(slog.DiscardHandler))
	if err == nil && len(d.blocks) == 0 {
		err = fmt.Errorf("device %q: profile has no points", dev.ID)
	}
	var addr linkAddr
	if err == nil {
		addr, err = parseLinkURL(dev.Modbus.URL, dev.Modbus.TLS)
	}
	if err != nil {
		res.Err = err
		return res
	}
	l := newLink(addr, []*device{d}, slog.New(slog.DiscardHandler))
	defer l.close()
	for ctx.Err() == nil {
		r, done := l.step(ctx, d)
		if !done {
			continue
		}
		if r.Err != nil {
			res.Err = r.Err
			return res
		}
		res.OK, res.Points = true, r.Values
		return res
	}
	res.Err = ctx.Err()
	return res
}
