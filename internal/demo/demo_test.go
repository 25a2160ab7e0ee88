package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemoPlaysTheDay runs `edge demo` end to end (about two minutes):
// every scene's events reach the stand-in platform, nothing is lost, and the
// summary says so. It keeps the README's first command true.
func TestDemoPlaysTheDay(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the whole demo")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{Out: &out, HTTP: "127.0.0.1:0", Version: "test"}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"whitelist.applied", "access.granted", "access.denied", "door.forced_open", "elevator.trapped",
		"gate.stuck_open", "alarm.escalated", "device.offline", "device.online", "door.sos",
		"access.probing", "elevator.fault", "backlog delivered, in order", "lost                           0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's timeline lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
