package demo

import (
	"context"
	"io"
	"net"
	"sync"
)

// netCut is a TCP relay between the gateway and the broker that the demo
// can cut and restore, as a site's uplink goes down and comes back.
type netCut struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func newNetCut(ctx context.Context, target string) (*netCut, error) {
	n := &netCut{target: target, conns: map[net.Conn]struct{}{}}
	if err := n.listen(ctx, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	n.addr = n.ln.Addr().String()
	go func() { <-ctx.Done(); n.cut() }()
	return n, nil
}

func (n *netCut) listen(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.ln = ln
	n.mu.Unlock()
	go n.accept(ctx, ln)
	return nil
}

func (n *netCut) accept(ctx context.Context, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var d net.Dialer
		up, err := d.DialContext(ctx, "tcp", n.target)
		if err != nil {
			c.Close()
			continue
		}
		n.mu.Lock()
		n.conns[c], n.conns[up] = struct{}{}, struct{}{}
		n.mu.Unlock()
		go n.pipe(c, up)
		go n.pipe(up, c)
	}
}

func (n *netCut) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	n.mu.Lock()
	delete(n.conns, dst)
	delete(n.conns, src)
	n.mu.Unlock()
}

// cut closes the listener and every relayed connection.
func (n *netCut) cut() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		n.ln.Close()
		n.ln = nil
	}
	for c := range n.conns {
		c.Close()
	}
}

// restore listens again on the same address.
func (n *netCut) restore(ctx context.Context) error { return n.listen(ctx, n.addr) }
