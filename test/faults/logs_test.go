package faults_test

import (
	"strings"
	"sync"
	"time"
)

// maxLogLines bounds what a logSink keeps, so that a long fault cycle does
// not grow the test's own heap without bound.
const maxLogLines = 5000

// logLine is one line the gateway logged and when.
type logLine struct {
	at   time.Time
	text string
}

// logSink is where the gateway's slog text handler writes: it keeps the
// latest lines, for assertions on what the gateway says and for a dump
// when a test fails.
type logSink struct {
	mu    sync.Mutex
	lines []logLine
	part  string
}

func newLogSink() *logSink { return &logSink{} }

// Write takes whole or partial lines.
func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	text := l.part + string(p)
	l.part = ""
	for {
		line, rest, ok := strings.Cut(text, "\n")
		if !ok {
			l.part = text
			break
		}
		l.lines = append(l.lines, logLine{at: now, text: line})
		text = rest
	}
	if over := len(l.lines) - maxLogLines; over > 0 {
		l.lines = append(l.lines[:0], l.lines[over:]...)
	}
	return len(p), nil
}

// Matching returns the lines that contain every one of subs, with their
// times.
func (l *logSink) Matching(subs ...string) []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logLine
next:
	for _, ln := range l.lines {
		for _, s := range subs {
			if !strings.Contains(ln.text, s) {
				continue next
			}
		}
		out = append(out, ln)
	}
	return out
}

// Tail returns the last n lines.
func (l *logSink) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(0, len(l.lines)-n)
	var b strings.Builder
	for _, ln := range l.lines[from:] {
		b.WriteString(ln.text)
		b.WriteByte('\n')
	}
	return b.String()
}
