package sim

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// BenchmarkRead reads one 3-register block per op through the faulting
// front, and straight from the library server behind it, to show what the
// front costs.
func BenchmarkRead(b *testing.B) {
	s, err := New(KindDoor, loadProfile(&testing.T{}, KindDoor), 1)
	if err != nil {
		b.Fatal(err)
	}
	s.ManualClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); s.Wait() }()
	sv, err := serveAll(ctx, "127.0.0.1:0", []*Sim{s})
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct{ name, addr string }{
		{"front", sv.ln.Addr().String()},
		{"library", sv.backURL},
	} {
		b.Run(tt.name, func(b *testing.B) {
			c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + tt.addr, Logger: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Open(); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := c.ReadRegisters(10, 3, modbus.INPUT_REGISTER); err != nil {
					b.Fatal(err)
				}
			}
			// CPU of the whole process (client, front and library server)
			// per request.
			b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}

// cpuTime is the user and system CPU the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
