package drivers

import (
	"context"
	"time"

	"github.com/simonvetter/modbus"
)

// modbusConn is an open link connection, as a link uses it: tcp:// links
// use our own [tcpConn], the serial and TLS schemes the library's client.
// Slices it returns stay valid until its next call.
type modbusConn interface {
	readRegs(unit uint8, input bool, addr, count uint16) ([]uint16, error)
	readBits(unit uint8, discrete bool, addr, count uint16) ([]bool, error)
	writeCoils(unit uint8, addr uint16, vals []bool) error
	writeRegs(unit uint8, addr uint16, vals []uint16) error
	// setTimeout sets the timeout of the requests that follow, where the
	// transport allows it, and returns the one they will have.
	setTimeout(d time.Duration) time.Duration
	Close() error
}

// open connects the link's transport.
func (l *link) open(ctx context.Context) (modbusConn, error) {
	if l.addr.scheme == "tcp" {
		return dialTCP(ctx, l.addr.host, l.timeout)
	}
	conf := l.addr.conf
	c, err := modbus.NewClient(&conf)
	if err != nil {
		return nil, err
	}
	if err := c.Open(); err != nil {
		return nil, err
	}
	return libConn{c, conf.Timeout}, nil
}

// libConn is the library's client. The unit id is client state: it is set
// before every request, which is safe because one goroutine owns the link.
type libConn struct {
	c       *modbus.ModbusClient
	timeout time.Duration
}

func (l libConn) readRegs(unit uint8, input bool, addr, count uint16) ([]uint16, error) {
	if err := l.c.SetUnitId(unit); err != nil {
		return nil, err
	}
	t := modbus.HOLDING_REGISTER
	if input {
		t = modbus.INPUT_REGISTER
	}
	return l.c.ReadRegisters(addr, count, t)
}

func (l libConn) readBits(unit uint8, discrete bool, addr, count uint16) ([]bool, error) {
	if err := l.c.SetUnitId(unit); err != nil {
		return nil, err
	}
	if discrete {
		return l.c.ReadDiscreteInputs(addr, count)
	}
	return l.c.ReadCoils(addr, count)
}

func (l libConn) writeCoils(unit uint8, addr uint16, vals []bool) error {
	if err := l.c.SetUnitId(unit); err != nil {
		return err
	}
	if len(vals) == 1 {
		return l.c.WriteCoil(addr, vals[0])
	}
	return l.c.WriteCoils(addr, vals)
}

func (l libConn) writeRegs(unit uint8, addr uint16, vals []uint16) error {
	if err := l.c.SetUnitId(unit); err != nil {
		return err
	}
	if len(vals) == 1 {
		return l.c.WriteRegister(addr, vals[0])
	}
	return l.c.WriteRegisters(addr, vals)
}

// setTimeout cannot change the library's timeout, fixed per connection:
// the link's longest.
func (l libConn) setTimeout(time.Duration) time.Duration { return l.timeout }

func (l libConn) Close() error { return l.c.Close() }
