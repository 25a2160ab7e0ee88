package drivers

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/simonvetter/modbus"
)

// Errors of the Manager's API.
var (
	// ErrNotRunning is returned by writes while Run is not running.
	ErrNotRunning = errors.New("drivers: manager is not running")
	// ErrUnknownDevice and ErrUnknownPoint name a device or point that is
	// not configured.
	ErrUnknownDevice = errors.New("unknown device")
	ErrUnknownPoint  = errors.New("unknown point")
	// ErrNotWritable is a write to a point not marked writable, or to a
	// read-only table.
	ErrNotWritable = errors.New("point is not writable")
	// ErrReadBack is a write whose read-back differs from what was written.
	ErrReadBack = errors.New("read-back mismatch")
)

// RequestError is a failed Modbus request, worded for an installer:
// `Modbus exception "illegal data address" reading holding register 30`,
// `timeout after 1s reading input registers 10-12`, `wrong unit id ...`.
// It unwraps to the library's error (modbus.ErrIllegalDataAddress, ...).
type RequestError struct {
	Op      string // "reading" or "writing"
	Table   configs.Table
	Address uint16
	Count   uint16
	Timeout time.Duration
	Err     error
}

func (e *RequestError) Error() string {
	where := fmt.Sprintf("%s %s", e.Op, tableWords(e.Table, e.Count))
	if e.Count > 1 {
		where += fmt.Sprintf(" %d-%d", e.Address, int(e.Address)+int(e.Count)-1)
	} else {
		where += fmt.Sprintf(" %d", e.Address)
	}
	return plainError(e.Err, e.Timeout) + " " + where
}

func (e *RequestError) Unwrap() error { return e.Err }

func tableWords(t configs.Table, n uint16) string {
	s := map[configs.Table]string{
		configs.TableCoil: "coil", configs.TableDiscreteInput: "discrete input",
		configs.TableHolding: "holding register", configs.TableInput: "input register",
	}[t]
	if s == "" {
		s = string(t)
	}
	if n > 1 {
		s += "s"
	}
	return s
}

// exceptions are the Modbus exception responses: the device answered, so the
// link is in step.
var exceptions = []error{
	modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
	modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy,
	modbus.ErrMemoryParityError, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond,
}

// IsException reports whether err is a Modbus exception response.
func IsException(err error) bool {
	for _, e := range exceptions {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// isTimeout reports a request or dial that ran out of time.
func isTimeout(err error) bool {
	return errors.Is(err, modbus.ErrRequestTimedOut) || os.IsTimeout(err) || errors.Is(err, os.ErrDeadlineExceeded)
}

// plainError words a library or network error for an installer.
func plainError(err error, timeout time.Duration) string {
	switch {
	case err == nil:
		return "ok"
	case IsException(err):
		return fmt.Sprintf("Modbus exception %q", err.Error())
	case isTimeout(err):
		return fmt.Sprintf("timeout after %v", timeout)
	case errors.Is(err, modbus.ErrBadUnitId):
		return "wrong unit id"
	case errors.Is(err, modbus.ErrBadTransactionId):
		return "wrong transaction id"
	case errors.Is(err, modbus.ErrShortFrame):
		return "short frame"
	case errors.Is(err, modbus.ErrBadCRC):
		return "bad CRC"
	case errors.Is(err, modbus.ErrProtocolError), errors.Is(err, modbus.ErrUnknownProtocolId):
		return "garbled reply (protocol error)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	}
	return err.Error()
}

// LinkError is a link that could not be opened: the connection or serial
// port failed. Its message starts with the plain reason ("connection
// refused").
type LinkError struct {
	URL string
	Err error
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s (%s)", plainError(e.Err, dialTimeout), e.URL)
}

func (e *LinkError) Unwrap() error { return e.Err }
