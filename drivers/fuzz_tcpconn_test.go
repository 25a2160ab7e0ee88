package drivers

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzTCPAnswer: whatever a peer answers to a read of registers 10-12 at
// unit 9, tcpConn returns either an error or exactly three registers, and
// never panics or loops past its timeout.
func FuzzTCPAnswer(f *testing.F) {
	req := []byte{3, 0, 10, 0, 3}
	f.Add(goodRegs(1, 9, 3, req[1:]))
	f.Add(mbap(1, 9, 0x83, 2))
	f.Add(mbap(1, 0xff, 0x83, 11))
	f.Add(append(goodRegs(0, 9, 3, req[1:]), goodRegs(1, 9, 3, req[1:])...))
	f.Add(goodRegs(1, 9, 3, req[1:])[:9])
	f.Add([]byte{0, 1, 0, 0, 0xff, 0xff, 9, 3})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, answer []byte) {
		client, peer := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer peer.Close()
			var got [12]byte
			if _, err := io.ReadFull(peer, got[:]); err != nil {
				return
			}
			_, _ = peer.Write(answer)
		}()
		c := &tcpConn{conn: client, timeout: 50 * time.Millisecond}
		regs, err := c.readRegs(9, false, 10, 3)
		client.Close()
		<-done
		if err == nil && len(regs) != 3 {
			t.Fatalf("%d registers and no error, want 3", len(regs))
		}
		if err != nil && regs != nil {
			t.Fatalf("registers %v with error %v", regs, err)
		}
	})
}
