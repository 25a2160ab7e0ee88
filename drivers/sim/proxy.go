package sim

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// MBAP framing: a 7-byte header (transaction id, protocol id 0, length of
// what follows including the unit id, unit id) and a PDU of at most 253
// bytes.
const (
	mbapHeader = 7
	maxPDU     = 253
)

// Framing errors of the front.
var (
	errProtocolID = errors.New("mbap: protocol id is not 0")
	errLength     = errors.New("mbap: length out of range")
)

// readFrame reads one whole MBAP frame (header and PDU).
func readFrame(r io.Reader) ([]byte, error) {
	var h [mbapHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint16(h[2:4]) != 0 {
		return nil, errProtocolID
	}
	n := int(binary.BigEndian.Uint16(h[4:6]))
	if n < 2 || n > maxPDU+1 {
		return nil, fmt.Errorf("%w: %d", errLength, n)
	}
	frame := make([]byte, mbapHeader-1+n)
	copy(frame, h[:])
	if _, err := io.ReadFull(r, frame[mbapHeader:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// exceptionFrame is the answer to req with an exception code.
func exceptionFrame(req []byte, code uint8) []byte {
	return []byte{req[0], req[1], 0, 0, 0, 3, req[6], req[7] | 0x80, code}
}

// serveConn relays one client's requests to the library server, applying
// the fault mode of the addressed simulator to each.
func (sv *server) serveConn(c net.Conn) {
	defer sv.wg.Done()
	defer sv.release(c)
	back, err := net.Dial("tcp", sv.backURL)
	if err != nil {
		sv.log.Warn("sim: connect to modbus server", "err", err)
		return
	}
	defer back.Close()
	// Buffered readers take a frame's header and PDU in one read.
	in, backIn := bufio.NewReader(c), bufio.NewReader(back)
	for {
		req, err := readFrame(in)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				sv.log.Debug("sim: bad request frame, closing", "client", c.RemoteAddr().String(), "err", err)
			}
			return
		}
		s := sv.sims[req[6]]
		if s == nil {
			if _, err := c.Write(exceptionFrame(req, ExGatewayNoResponse)); err != nil {
				return
			}
			continue
		}
		f := s.noteRequest(req[7])
		if !sv.answer(c, back, backIn, req, f) {
			return
		}
	}
}

// noteRequest counts a request and returns the fault mode to answer it with.
func (s *Sim) noteRequest(fc uint8) FaultMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[fc]++
	return s.fault
}

// answer answers one request under fault mode f; false closes the
// connection.
func (sv *server) answer(c, back net.Conn, backIn io.Reader, req []byte, f FaultMode) bool {
	switch f.Kind {
	case FaultNoAnswer:
		return true
	case FaultDisconnect:
		return false
	case FaultException:
		_, err := c.Write(exceptionFrame(req, f.Exception))
		return err == nil
	}
	if _, err := back.Write(req); err != nil {
		sv.log.Warn("sim: forward request", "err", err)
		return false
	}
	res, err := readFrame(backIn)
	if err != nil {
		sv.log.Warn("sim: read answer of modbus server", "err", err)
		return false
	}
	switch f.Kind {
	case FaultSlow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-sv.done:
			return false
		}
	case FaultGarbage:
		res = sv.garbage()
	case FaultDrop:
		_, _ = c.Write(res[:len(res)/2])
		return false
	case FaultWrongUnit:
		res[6]++
	case FaultWrongTransaction:
		binary.BigEndian.PutUint16(res[0:2], binary.BigEndian.Uint16(res[0:2])+1)
	}
	_, err = c.Write(res)
	return err == nil
}

// garbage returns 1-32 random bytes, from a fixed seed so that a test sees
// the same bytes on every run.
func (sv *server) garbage() []byte {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	b := make([]byte, 1+sv.rnd.IntN(32))
	for i := range b {
		b[i] = byte(sv.rnd.UintN(256))
	}
	// A zero protocol id could pass for a frame; garbage never does.
	if len(b) >= 4 && b[2] == 0 && b[3] == 0 {
		b[2] = 0xff
	}
	return b
}
