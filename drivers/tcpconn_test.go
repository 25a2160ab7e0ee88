package drivers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/simonvetter/modbus"
)

// scriptPeer answers each request frame with the chunks answer returns,
// written one by one with a pause between, so that they arrive as separate
// segments. It records every request frame.
type scriptPeer struct {
	ln     net.Listener
	answer func(txn uint16, unit byte, pdu []byte) [][]byte
	got    chan []byte
}

func startScript(t *testing.T, answer func(txn uint16, unit byte, pdu []byte) [][]byte) *scriptPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &scriptPeer{ln: ln, answer: answer, got: make(chan []byte, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			hdr := make([]byte, 7)
			if _, err := io.ReadFull(c, hdr); err != nil {
				return
			}
			pdu := make([]byte, int(binary.BigEndian.Uint16(hdr[4:]))-1)
			if _, err := io.ReadFull(c, pdu); err != nil {
				return
			}
			p.got <- append(hdr, pdu...)
			for i, chunk := range p.answer(binary.BigEndian.Uint16(hdr), hdr[6], pdu) {
				if i > 0 {
					time.Sleep(5 * time.Millisecond)
				}
				if chunk == nil {
					return // hang up
				}
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return p
}

func (p *scriptPeer) dial(t *testing.T) *tcpConn {
	t.Helper()
	c, err := dialTCP(context.Background(), p.ln.Addr().String(), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// regsAnswer is a good answer to a register read: register i holds
// address+i.
func regsAnswer(txn uint16, unit byte, pdu []byte) []byte {
	return goodRegs(txn, unit, pdu[0], pdu[1:])
}

func TestTCPConnReadRegisters(t *testing.T) {
	cases := []struct {
		name   string
		answer func(txn uint16, unit byte, pdu []byte) [][]byte
		err    error // nil: registers 10, 11, 12
	}{
		{"one segment", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{regsAnswer(txn, unit, pdu)}
		}, nil},
		{"header and body apart", func(txn uint16, unit byte, pdu []byte) [][]byte {
			a := regsAnswer(txn, unit, pdu)
			return [][]byte{a[:3], a[3:8], a[8:]}
		}, nil},
		{"a stale answer first", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{append(regsAnswer(txn-1, unit, pdu), regsAnswer(txn, unit, pdu)...)}
		}, nil},
		{"another protocol first", func(txn uint16, unit byte, pdu []byte) [][]byte {
			other := regsAnswer(txn, unit, pdu)
			other[3] = 1
			return [][]byte{other, regsAnswer(txn, unit, pdu)}
		}, nil},
		{"exception", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{mbap(txn, unit, pdu[0]|0x80, 2)}
		}, modbus.ErrIllegalDataAddress},
		{"exception from a gateway's unit 255", func(txn uint16, _ byte, pdu []byte) [][]byte {
			return [][]byte{mbap(txn, 0xff, pdu[0]|0x80, 0x0b)}
		}, modbus.ErrGWTargetFailedToRespond},
		{"wrong unit", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{regsAnswer(txn, unit+1, pdu)}
		}, modbus.ErrBadUnitId},
		{"wrong function", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{mbap(txn, unit, 4, 6, 0, 10, 0, 11, 0, 12)}
		}, modbus.ErrProtocolError},
		{"too few registers", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{mbap(txn, unit, 3, 4, 0, 10, 0, 11)}
		}, modbus.ErrProtocolError},
		{"length past the longest frame", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{{byte(txn >> 8), byte(txn), 0, 0, 1, 0, unit}}
		}, modbus.ErrProtocolError},
		{"half an answer", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{regsAnswer(txn, unit, pdu)[:9]}
		}, modbus.ErrRequestTimedOut},
		{"no answer", func(uint16, byte, []byte) [][]byte { return [][]byte{} }, modbus.ErrRequestTimedOut},
		{"hang up", func(uint16, byte, []byte) [][]byte { return [][]byte{nil} }, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startScript(t, tc.answer)
			c := p.dial(t)
			regs, err := c.readRegs(9, false, 10, 3)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && !slices.Equal(regs, []uint16{10, 11, 12}) {
				t.Errorf("registers %v, want [10 11 12]", regs)
			}
			req := <-p.got
			if want := mbap(1, 9, 3, 0, 10, 0, 3); !bytes.Equal(req, want) {
				t.Errorf("request % x, want % x", req, want)
			}
		})
	}
}

// TestTCPConnRequests checks the bytes of every request and the checks on
// every answer against the Modbus application protocol's examples.
func TestTCPConnRequests(t *testing.T) {
	echo := func(txn uint16, unit byte, pdu []byte) [][]byte {
		n := min(len(pdu), 5) // function, address, value or count
		return [][]byte{mbap(txn, unit, pdu[:n]...)}
	}
	bitsAnswer := func(txn uint16, unit byte, pdu []byte) [][]byte {
		return [][]byte{mbap(txn, unit, pdu[0], 2, 0xcd, 0x01)} // 1011 0011, 1
	}
	cases := []struct {
		name   string
		answer func(txn uint16, unit byte, pdu []byte) [][]byte
		do     func(c *tcpConn) error
		req    []byte // the PDU sent
	}{
		{"read coils", bitsAnswer, func(c *tcpConn) error {
			got, err := c.readBits(1, false, 19, 10)
			want := []bool{true, false, true, true, false, false, true, true, true, false}
			if err == nil && !slices.Equal(got, want) {
				return errors.New("bits decoded wrong")
			}
			return err
		}, []byte{1, 0, 19, 0, 10}},
		{"read discrete inputs", bitsAnswer, func(c *tcpConn) error {
			_, err := c.readBits(1, true, 196, 10)
			return err
		}, []byte{2, 0, 196, 0, 10}},
		{"read input registers", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{regsAnswer(txn, unit, pdu)}
		}, func(c *tcpConn) error {
			_, err := c.readRegs(1, true, 8, 1)
			return err
		}, []byte{4, 0, 8, 0, 1}},
		{"write one coil", echo, func(c *tcpConn) error { return c.writeCoils(1, 172, []bool{true}) },
			[]byte{5, 0, 172, 0xff, 0}},
		{"write coils", echo, func(c *tcpConn) error {
			return c.writeCoils(1, 19, []bool{true, false, true, true, false, false, true, true, true, false})
		}, []byte{15, 0, 19, 0, 10, 2, 0xcd, 0x01}},
		{"write one register", echo, func(c *tcpConn) error { return c.writeRegs(1, 1, []uint16{3}) },
			[]byte{6, 0, 1, 0, 3}},
		{"write registers", echo, func(c *tcpConn) error { return c.writeRegs(1, 1, []uint16{10, 258}) },
			[]byte{16, 0, 1, 0, 2, 4, 0, 10, 1, 2}},
		{"a write answered with another address", func(txn uint16, unit byte, pdu []byte) [][]byte {
			return [][]byte{mbap(txn, unit, pdu[0], 0, 2, 0, 3)}
		}, func(c *tcpConn) error {
			if err := c.writeRegs(1, 1, []uint16{3}); !errors.Is(err, modbus.ErrProtocolError) {
				return errors.New("a wrong echo was taken")
			}
			return nil
		}, []byte{6, 0, 1, 0, 3}},
		{"too many registers", nil, func(c *tcpConn) error {
			if _, err := c.readRegs(1, false, 0, 126); !errors.Is(err, modbus.ErrUnexpectedParameters) {
				return errors.New("126 registers asked for")
			}
			return nil
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startScript(t, tc.answer)
			c := p.dial(t)
			if err := tc.do(c); err != nil {
				t.Fatal(err)
			}
			if tc.req == nil {
				return
			}
			req := <-p.got
			if want := mbap(1, 1, tc.req...); !bytes.Equal(req, want) {
				t.Errorf("request % x, want % x", req, want)
			}
		})
	}
}

// TestTCPConnAllocs: a poll's requests allocate nothing. The peer is one
// that allocates nothing either, since the count is the process's.
func TestTCPConnAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		var req [12]byte
		regs := mbap(0, 1, 3, 16, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8)
		bits := mbap(0, 1, 2, 1, 0x55)
		for {
			if _, err := io.ReadFull(s, req[:]); err != nil {
				return
			}
			out := regs
			if req[7] == 2 {
				out = bits
			}
			copy(out, req[:2])
			if _, err := s.Write(out); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	c, err := dialTCP(context.Background(), ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.readRegs(1, false, 0, 8); err != nil {
			t.Fatal(err)
		}
		if _, err := c.readBits(1, true, 0, 8); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per poll, want 0", allocs)
	}
}

// benchPeer starts a library server and dials it with a tcpConn.
func benchPeer(tb testing.TB) (string, *tcpConn) {
	tb.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(tb))
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, MaxClients: 4,
		Logger: log.New(io.Discard, "", 0)}, &constHandler{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Stop() })
	c, err := dialTCP(context.Background(), addr, time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return addr, c
}

// BenchmarkTCPRead compares a register read through our connection with
// the library's client, against a library server in the same process.
func BenchmarkTCPRead(b *testing.B) {
	addr, ours := benchPeer(b)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ours.readRegs(1, false, 0, 8); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		lib, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: time.Second,
			Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			b.Fatal(err)
		}
		if err := lib.Open(); err != nil {
			b.Fatal(err)
		}
		defer lib.Close()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := lib.ReadRegisters(0, 8, modbus.HOLDING_REGISTER); err != nil {
				b.Fatal(err)
			}
		}
	})
}
