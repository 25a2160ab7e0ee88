package footprint

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// firstByte is shared by the relays: the time the first byte of a Modbus
// request reached any simulator.
type firstByte struct{ at atomic.Int64 }

func (f *firstByte) mark() {
	f.at.CompareAndSwap(0, time.Now().UnixNano())
}

// time returns the first request's time, zero before any.
func (f *firstByte) time() time.Time {
	if n := f.at.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (f *firstByte) reset() { f.at.Store(0) }

// relay listens on a free loopback port and forwards every connection to
// target, noting when the first client byte arrives. It stops with ctx.
func relay(ctx context.Context, t *testing.T, target string, first *firstByte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	conns := map[net.Conn]bool{}
	var mu sync.Mutex
	track := func(c net.Conn, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	go func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			back, err := net.DialTimeout("tcp", target, 2*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			track(c, true)
			track(back, true)
			wg.Add(2)
			go func() {
				defer wg.Done()
				pipe(back, c, first)
				track(c, false)
				track(back, false)
			}()
			go func() {
				defer wg.Done()
				pipe(c, back, nil)
			}()
		}
	}()
	t.Cleanup(wg.Wait)
	return ln.Addr().String()
}

// pipe copies src to dst, marking first (if set) at the first byte, and
// closes both when either side ends.
func pipe(dst, src net.Conn, first *firstByte) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 512)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if first != nil {
				first.mark()
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF, closed, or reset: the relay ends either way
			return
		}
	}
}
