package faults_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/internal/testbed"
)

// portMode is how a faultPort treats the connections made to it.
type portMode int

const (
	// portClosed: nothing listens; a connect is refused by the kernel.
	portClosed portMode = iota
	// portReset accepts and closes at once: a broker that refuses.
	portReset
	// portSilent accepts and reads, and never answers: a broker that
	// accepts TCP and never sends CONNACK.
	portSilent
	// portForward relays to a real broker: the broker is back.
	portForward
)

func (m portMode) String() string {
	return [...]string{"closed", "reset", "silent", "forward"}[m]
}

// faultPort is a fixed loopback port the gateway's uplink is pointed at,
// whose behaviour the test switches: nothing listening, refusing,
// silent, or relaying to the real broker. It records when each connection
// was accepted.
type faultPort struct {
	t      *testing.T
	port   int
	target string // host:port of the real broker, for portForward

	mu      sync.Mutex
	mode    portMode
	ln      net.Listener
	conns   map[net.Conn]struct{}
	accepts []time.Time
	// resetFirst makes portForward close that many connections at once
	// before it relays any: a broker that refuses one handshake.
	resetFirst int
	// protocols are the MQTT protocol name and level ("MQTT/4" for 3.1.1,
	// "MQIsdp/3" for 3.1) of each CONNECT relayed.
	protocols []string
	wg        sync.WaitGroup
}

func newFaultPort(t *testing.T, target string) *faultPort {
	t.Helper()
	p := &faultPort{t: t, port: testbed.FreePort(t), target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() {
		p.set(portClosed)
		p.wg.Wait()
	})
	return p
}

// URL is the broker URL to give the gateway.
func (p *faultPort) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", p.port) }

// set switches the mode; the connections of the previous mode are closed.
func (p *faultPort) set(m portMode) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == m && (m == portClosed) == (p.ln == nil) {
		return
	}
	p.mode = m
	for c := range p.conns {
		c.Close()
	}
	switch {
	case m == portClosed && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case m != portClosed && p.ln == nil:
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
		if err != nil {
			p.t.Fatalf("listen again on port %d: %v", p.port, err)
		}
		p.ln = ln
		p.wg.Add(1)
		go p.accept(ln)
	}
}

// accepted returns when each connection was accepted, in order.
func (p *faultPort) accepted() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.accepts...)
}

func (p *faultPort) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepts = append(p.accepts, time.Now())
		mode := p.mode
		if mode == portForward && p.resetFirst > 0 {
			p.resetFirst--
			mode = portReset
		}
		if mode == portReset || p.ln != ln {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.drop(c)
			if mode == portSilent {
				_, _ = io.Copy(io.Discard, c)
				return
			}
			p.relay(c)
		}()
	}
}

// relay copies both ways between c and the real broker until either side
// closes.
func (p *faultPort) relay(c net.Conn) {
	b, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.conns[b] = struct{}{}
	p.mu.Unlock()
	defer p.drop(b)
	if err := p.sniffConnect(c, b); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	<-done
}

// protocolsSeen returns the protocol of each CONNECT relayed so far.
func (p *faultPort) protocolsSeen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.protocols...)
}

// sniffConnect reads the client's CONNECT up to its protocol level,
// records the protocol, and passes the bytes on to the broker.
func (p *faultPort) sniffConnect(c, b net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var head []byte
	read := func(n int) ([]byte, error) {
		buf := make([]byte, n)
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		head = append(head, buf...)
		return buf, nil
	}
	if _, err := read(1); err != nil { // fixed header: CONNECT
		return err
	}
	for { // remaining length, a varint
		v, err := read(1)
		if err != nil {
			return err
		}
		if v[0]&0x80 == 0 {
			break
		}
	}
	l, err := read(2)
	if err != nil {
		return err
	}
	name, err := read(int(l[0])<<8 | int(l[1]))
	if err != nil {
		return err
	}
	level, err := read(1)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.protocols = append(p.protocols, fmt.Sprintf("%s/%d", name, level[0]))
	p.mu.Unlock()
	_, err = b.Write(head)
	return err
}

func (p *faultPort) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}
