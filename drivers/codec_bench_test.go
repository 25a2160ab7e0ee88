package drivers

import (
	"context"
	"testing"

	"github.com/jusha-ean/edge/configs"
)

// BenchmarkDecode decodes a door-like set of register points; it reports
// points decoded per second and allocations per point.
func BenchmarkDecode(b *testing.B) {
	points := []configs.Point{
		{Name: "credential_seq", Table: configs.TableInput, Type: configs.TypeUint16},
		{Name: "credential", Table: configs.TableInput, Type: configs.TypeUint32},
		{Name: "battery_volts", Table: configs.TableInput, Type: configs.TypeInt16, Scale: 0.01},
		{Name: "temperature", Table: configs.TableInput, Type: configs.TypeFloat32, WordOrder: configs.OrderLittle},
		{Name: "counter", Table: configs.TableInput, Type: configs.TypeUint64},
		{Name: "tamper", Table: configs.TableInput, Type: configs.TypeBool, Bit: bitp(2)},
	}
	regs := []uint16{1, 2, 3, 4, 5, 6, 7, 8}
	for _, bc := range []struct {
		name   string
		decode func(configs.Point, []uint16) (Value, error)
	}{
		// Decode checks the point first; the poller checked it once, when
		// the Manager was built.
		{"Decode", Decode},
		{"poller", decodeChecked},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range points {
					if _, err := bc.decode(p, regs); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(points))/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// BenchmarkPoll is one poll of the test door (11 points, 4 requests) over
// TCP on loopback against the library's server in this process: the
// scheduler, the library and the codec together, with allocations.
func BenchmarkPoll(b *testing.B) {
	srv := startServer(b, 1)
	dev := testDevice("door-1", srv.url(), 1, doorProfile())
	d, err := newDevice(dev, testLog(b))
	if err != nil {
		b.Fatal(err)
	}
	addr, err := parseLinkURL(dev.Modbus.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	l := newLink(addr, []*device{d}, testLog(b))
	defer l.close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for {
			r, done := l.step(ctx, d)
			if !done {
				continue
			}
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			break
		}
	}
	b.ReportMetric(float64(b.N*len(d.blocks))/b.Elapsed().Seconds(), "requests/s")
}
