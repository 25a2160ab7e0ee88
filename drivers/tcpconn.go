package drivers

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/simonvetter/modbus"
)

// Modbus function codes.
const (
	fcReadCoils          = 0x01
	fcReadDiscreteInputs = 0x02
	fcReadHolding        = 0x03
	fcReadInput          = 0x04
	fcWriteCoil          = 0x05
	fcWriteRegister      = 0x06
	fcWriteCoils         = 0x0f
	fcWriteRegisters     = 0x10
)

const (
	mbapLen   = 7   // transaction id, protocol id, length, unit id
	maxTCPADU = 260 // MBAP header and the longest PDU (253 bytes)
	tcpDial   = 5 * time.Second
)

// tcpConn is a Modbus TCP client on one connection, for tcp:// links. It
// does what the library's client does for the polling path with a third
// fewer system calls and no allocation per request: the request goes out in
// one write, and the answer is read into a buffer the connection keeps, in
// one read when the peer sent it in one segment (the library reads the
// header and the body separately, and allocates both), and without the
// read that fails because the answer is not there yet (see send). It answers with the
// library's error values (modbus.ErrIllegalDataAddress, ErrBadUnitId,
// ErrRequestTimedOut, ...), so the rest of the package cannot tell the two
// apart. One goroutine uses it at a time.
type tcpConn struct {
	conn    net.Conn
	raw     syscall.RawConn // conn's descriptor, for send (unix)
	rawStep func(fd uintptr) bool
	pending []byte // send's request
	sent    int    // bytes of pending written, -1 before the write
	ioErr   error
	timeout time.Duration
	txid    uint16
	out     [maxTCPADU]byte
	in      [2 * maxTCPADU]byte
	have    int // bytes read into in, from in[0]
	last    int // length of the frame readFrame returned last, still at in[0]
	regs    [125]uint16
	bits    [2000]bool
}

func dialTCP(ctx context.Context, addr string, timeout time.Duration) (*tcpConn, error) {
	d := net.Dialer{Timeout: tcpDial}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := &tcpConn{conn: c, timeout: timeout}
	if err := tc.initRaw(); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

func (c *tcpConn) Close() error { return c.conn.Close() }

// setTimeout sets the timeout of the requests that follow: each device of
// a link gets its own.
func (c *tcpConn) setTimeout(d time.Duration) time.Duration {
	c.timeout = d
	return c.timeout
}

// exchange sends the PDU fc+body to unit and returns the answer's PDU body
// (after the function code), which stays valid until the next exchange. An
// exception answer is returned as the library's error for its code.
func (c *tcpConn) exchange(unit, fc uint8, body []byte) ([]byte, error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, err
	}
	c.txid++
	n := mbapLen + 1 + len(body)
	out := c.out[:n]
	binary.BigEndian.PutUint16(out[0:], c.txid)
	binary.BigEndian.PutUint16(out[2:], 0)
	binary.BigEndian.PutUint16(out[4:], uint16(2+len(body)))
	out[6], out[7] = unit, fc
	copy(out[8:], body)
	c.dropLast()
	if err := c.send(out); err != nil {
		return nil, timeoutErr(err)
	}
	for {
		frame, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		txid, proto := binary.BigEndian.Uint16(frame[0:]), binary.BigEndian.Uint16(frame[2:])
		if proto != 0 || txid != c.txid {
			continue // not ours (a late answer to an earlier request): skip it, as the library does
		}
		gotUnit, gotFC, pdu := frame[6], frame[7], frame[8:]
		if gotFC == fc|0x80 {
			if gotUnit != unit && gotUnit != 0xff {
				return nil, modbus.ErrBadUnitId
			}
			if len(pdu) != 1 {
				return nil, modbus.ErrProtocolError
			}
			return nil, exceptionError(pdu[0])
		}
		if gotUnit != unit {
			return nil, modbus.ErrBadUnitId
		}
		if gotFC != fc {
			return nil, modbus.ErrProtocolError
		}
		return pdu, nil
	}
}

// readFrame returns the next whole MBAP frame, reading as much as the peer
// has sent. Bytes after the frame stay buffered for the next call.
func (c *tcpConn) readFrame() ([]byte, error) {
	c.dropLast()
	for {
		if c.have >= mbapLen {
			length := int(binary.BigEndian.Uint16(c.in[4:]))
			if length < 2 || mbapLen-1+length > maxTCPADU {
				return nil, modbus.ErrProtocolError
			}
			if n := mbapLen - 1 + length; c.have >= n {
				c.last = n
				return c.in[:n], nil
			}
		}
		n, err := c.conn.Read(c.in[c.have:])
		c.have += n
		if err != nil {
			return nil, timeoutErr(err) // a frame that stops half way is a timeout too, as in the library
		}
	}
}

// dropLast drops the frame readFrame returned last from the buffer.
func (c *tcpConn) dropLast() {
	if c.last > 0 {
		copy(c.in[:], c.in[c.last:c.have])
		c.have -= c.last
		c.last = 0
	}
}

// timeoutErr is the library's error for a deadline that passed.
func timeoutErr(err error) error {
	if os.IsTimeout(err) {
		return modbus.ErrRequestTimedOut
	}
	return err
}

// exceptionError is the library's error for a Modbus exception code.
func exceptionError(code byte) error {
	if code >= 1 && int(code) <= len(exceptionCodes) && exceptionCodes[code-1] != nil {
		return exceptionCodes[code-1]
	}
	return fmt.Errorf("unknown exception code (%d)", code)
}

// exceptionCodes are the library's errors by exception code - 1.
var exceptionCodes = [...]error{
	modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
	modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy,
	nil, modbus.ErrMemoryParityError, nil, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond,
}

// readRegs reads count registers of a holding or input table. The slice is
// the connection's and stays valid until the next request.
func (c *tcpConn) readRegs(unit uint8, input bool, addr, count uint16) ([]uint16, error) {
	fc := uint8(fcReadHolding)
	if input {
		fc = fcReadInput
	}
	data, err := c.read(unit, fc, addr, count, 125, 2*int(count))
	if err != nil {
		return nil, err
	}
	regs := c.regs[:count]
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(data[2*i:])
	}
	return regs, nil
}

// readBits reads count coils or discrete inputs. The slice is the
// connection's and stays valid until the next request.
func (c *tcpConn) readBits(unit uint8, discrete bool, addr, count uint16) ([]bool, error) {
	fc := uint8(fcReadCoils)
	if discrete {
		fc = fcReadDiscreteInputs
	}
	data, err := c.read(unit, fc, addr, count, 2000, (int(count)+7)/8)
	if err != nil {
		return nil, err
	}
	bits := c.bits[:count]
	for i := range bits {
		bits[i] = data[i/8]&(1<<(i%8)) != 0
	}
	return bits, nil
}

// read makes a read request of count items (at most limit) and returns the
// answer's data, checked to be nbytes long and to say so in its byte count.
func (c *tcpConn) read(unit, fc uint8, addr, count, limit uint16, nbytes int) ([]byte, error) {
	if count == 0 || count > limit || int(addr)+int(count) > 0x10000 {
		return nil, modbus.ErrUnexpectedParameters
	}
	ac := addrCount(addr, count)
	pdu, err := c.exchange(unit, fc, ac[:])
	if err != nil {
		return nil, err
	}
	if len(pdu) != 1+nbytes || int(pdu[0]) != nbytes {
		return nil, modbus.ErrProtocolError
	}
	return pdu[1:], nil
}

// writeCoils writes coils from addr: one coil with function 5, more with 15.
func (c *tcpConn) writeCoils(unit uint8, addr uint16, vals []bool) error {
	n := len(vals)
	if n == 0 || n > 1968 || int(addr)+n > 0x10000 {
		return modbus.ErrUnexpectedParameters
	}
	if n == 1 {
		v := uint16(0)
		if vals[0] {
			v = 0xff00
		}
		b := addrCount(addr, v)
		return c.expectEcho(unit, fcWriteCoil, b[:], b[:])
	}
	nbytes := (n + 7) / 8
	body := make([]byte, 5+nbytes)
	ac := addrCount(addr, uint16(n))
	copy(body, ac[:])
	body[4] = byte(nbytes)
	for i, v := range vals {
		if v {
			body[5+i/8] |= 1 << (i % 8)
		}
	}
	return c.expectEcho(unit, fcWriteCoils, body, ac[:])
}

// writeRegs writes holding registers from addr: one with function 6, more
// with 16.
func (c *tcpConn) writeRegs(unit uint8, addr uint16, vals []uint16) error {
	n := len(vals)
	if n == 0 || n > 123 || int(addr)+n > 0x10000 {
		return modbus.ErrUnexpectedParameters
	}
	if n == 1 {
		b := addrCount(addr, vals[0])
		return c.expectEcho(unit, fcWriteRegister, b[:], b[:])
	}
	body := make([]byte, 5+2*n)
	ac := addrCount(addr, uint16(n))
	copy(body, ac[:])
	body[4] = byte(2 * n)
	for i, v := range vals {
		binary.BigEndian.PutUint16(body[5+2*i:], v)
	}
	return c.expectEcho(unit, fcWriteRegisters, body, ac[:])
}

// expectEcho sends a write and checks that the answer is echo: a write's
// answer repeats its address and value, or its address and count.
func (c *tcpConn) expectEcho(unit, fc uint8, body, echo []byte) error {
	pdu, err := c.exchange(unit, fc, body)
	if err != nil {
		return err
	}
	if string(pdu) != string(echo) {
		return modbus.ErrProtocolError
	}
	return nil
}

// addrCount is the 4 bytes that start most requests: an address and a
// count or value.
func addrCount(addr, n uint16) [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:], addr)
	binary.BigEndian.PutUint16(b[2:], n)
	return b
}
