package sim

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/jusha-ean/edge/configs"
)

// record is what a recorder keeps, shared with the handlers derived from it.
type record struct {
	mu    sync.Mutex
	lines []string
	addr  chan string
}

// recorder is a slog handler that keeps every record's message and
// attributes, and hands the listening address to the test.
type recorder struct {
	*record
	attrs []slog.Attr
}

func newRecorder() *recorder { return &recorder{record: &record{addr: make(chan string, 1)}} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	write := func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		if a.Key == "addr" {
			select {
			case r.addr <- a.Value.String():
			default:
			}
		}
		return true
	}
	for _, a := range r.attrs {
		write(a)
	}
	rec.Attrs(write)
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{record: r.record, attrs: append(append([]slog.Attr(nil), r.attrs...), as...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

func TestRunServesBuiltinProfile(t *testing.T) {
	for _, kind := range []string{KindDoor, KindElevator, KindGate} {
		t.Run(kind, func(t *testing.T) {
			rec := newRecorder()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- Run(ctx, kind, "127.0.0.1:0", 7, slog.New(rec)) }()
			var addr string
			select {
			case addr = <-rec.addr:
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run never logged its address")
			}
			cl := dial(t, addr, 7)
			if _, err := cl.ReadDiscreteInputs(0, 3); err != nil {
				t.Errorf("read from %s sim: %v", kind, err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestRunRejectsUnknownKind(t *testing.T) {
	if err := Run(context.Background(), "turnstile", "127.0.0.1:0", 1, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Run accepted an unknown kind")
	}
}

func TestRunInteractiveCommands(t *testing.T) {
	rec := newRecorder()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunInteractive(ctx, KindDoor, "127.0.0.1:0", 1, pr, slog.New(rec)) }()
	addr := <-rec.addr
	cl := dial(t, addr, 1)
	if _, err := io.WriteString(pw, "present 98765432\nforce\nbogus\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		di, err := cl.ReadDiscreteInputs(0, 1)
		must(t, err)
		if di[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("force command never opened the door")
		}
		time.Sleep(10 * time.Millisecond)
	}
	seq, err := cl.ReadRegister(10, modbus.INPUT_REGISTER)
	if err != nil || seq != 1 {
		t.Fatalf("credential_seq = %d, %v; want 1", seq, err)
	}
	pw.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	all := strings.Join(rec.lines, "\n")
	if strings.Contains(all, "98765432") {
		t.Fatal("a credential reached the log")
	}
	if !strings.Contains(all, "command=bogus") || !strings.Contains(all, "command=force") {
		t.Fatalf("log lacks the command answers:\n%s", all)
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		kind, line string
		ok         bool
		point      string
		want       string
	}{
		{KindDoor, "force", true, "door_open", "1"},
		{KindDoor, "set battery_volts 11.75", true, "battery_volts", "11.75"},
		{KindDoor, "set tamper true", true, "tamper", "1"},
		{KindDoor, "set credential_seq 0x10", true, "credential_seq", "16"},
		{KindDoor, "set credential_seq -1", false, "", ""},
		{KindDoor, "set tamper maybe", false, "", ""},
		{KindDoor, "trap", false, "", ""},
		{KindDoor, "present", false, "", ""},
		{KindDoor, "fault slow:2s", true, "", ""},
		{KindDoor, "fault slow", false, "", ""},
		{KindDoor, "", false, "", ""},
		{KindElevator, "call 4", true, "", ""},
		{KindElevator, "call four", false, "", ""},
		{KindElevator, "set floor_enable 1,0,1", true, "floor_enable", "1,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"},
		{KindElevator, "inspection on", true, "inspection", "1"},
		{KindElevator, "inspection sideways", false, "", ""},
		{KindElevator, "code 70000", false, "", ""},
		{KindElevator, "code 31", true, "fault_code", "31"},
		{KindGate, "arrive", true, "loop_occupied", "1"},
		{KindGate, "set motor_current 1.25", true, "motor_current", "1.25"},
		{KindGate, "get credential", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.line, func(t *testing.T) {
			s, _ := newSim(t, tt.kind)
			_, err := s.Command(tt.line)
			if tt.ok != (err == nil) {
				t.Fatalf("Command(%q) err = %v, want ok %v", tt.line, err, tt.ok)
			}
			if tt.point == "" {
				return
			}
			got, err := s.Command("get " + tt.point)
			must(t, err)
			if got != tt.want {
				t.Fatalf("get %s = %q, want %q", tt.point, got, tt.want)
			}
		})
	}
	s, _ := newSim(t, KindGate)
	must(t, s.Present("555"))
	if got, _ := s.Command("get credential"); strings.Contains(got, "555") {
		t.Fatal("get credential shows the credential")
	}
	if len(s.Commands()) < 8 {
		t.Fatalf("gate commands: %v", s.Commands())
	}
}

// FuzzCommand feeds console lines to every kind: never a panic.
func FuzzCommand(f *testing.F) {
	for _, line := range []string{"present 123", "set floor_enable 1,0,1", "set credential x", "call -3",
		"fault exception:300", "set motor_current NaN", "set battery_volts 1e300", "code 99999", "get x"} {
		f.Add(line)
	}
	sims := map[string]*Sim{}
	for _, kind := range []string{KindDoor, KindElevator, KindGate} {
		p, err := configs.Builtin(kind)
		if err != nil {
			f.Fatal(err)
		}
		s, err := New(kind, p, 1)
		if err != nil {
			f.Fatal(err)
		}
		sims[kind] = s
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, s := range sims {
			_, _ = s.Command(line)
		}
	})
}
