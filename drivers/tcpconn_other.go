//go:build !unix

package drivers

// initRaw does nothing: send uses net.Conn.
func (c *tcpConn) initRaw() error { return nil }

// send writes the request; readFrame reads the answer.
func (c *tcpConn) send(out []byte) error {
	_, err := c.conn.Write(out)
	return err
}
