package simsite

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
)

// LogTail is an io.Writer for a gateway's log under load: it counts lines
// by level and keeps only the last Max bytes, for a failing test to show.
type LogTail struct {
	Max int
	// Tee, when set, also gets everything (a file for a long run).
	Tee io.Writer

	mu     sync.Mutex
	buf    []byte
	lines  int
	warns  int
	errors int
}

// Write keeps the tail of what is written.
func (l *LogTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines += bytes.Count(p, []byte("\n"))
	l.warns += bytes.Count(p, []byte("level=WARN"))
	l.errors += bytes.Count(p, []byte("level=ERROR"))
	if l.Tee != nil {
		_, _ = l.Tee.Write(p)
	}
	l.buf = append(l.buf, p...)
	if max := l.Max; max > 0 && len(l.buf) > max {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-max/2:]...)
	}
	return len(p), nil
}

// Counts returns the lines, warnings and errors logged.
func (l *LogTail) Counts() (lines, warns, errors int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines, l.warns, l.errors
}

// String returns the kept tail.
func (l *LogTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// Logger returns a text logger at level writing to l.
func (l *LogTail) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))
}
