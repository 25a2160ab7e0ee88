package drivers

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jusha-ean/edge/configs"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// doorProfile is a door controller with a point of most kinds, in 4 blocks.
func doorProfile() *configs.Profile {
	return &configs.Profile{Kind: configs.KindDoor, Name: "test-door", Points: []configs.Point{
		{Name: "door_open", Table: configs.TableDiscreteInput, Address: 0, Type: configs.TypeBool},
		{Name: "lock_released", Table: configs.TableDiscreteInput, Address: 1, Type: configs.TypeBool},
		{Name: "exit_request", Table: configs.TableDiscreteInput, Address: 2, Type: configs.TypeBool},
		{Name: "unlock", Table: configs.TableCoil, Address: 0, Type: configs.TypeBool, Writable: true},
		{Name: "floor_enable", Table: configs.TableCoil, Address: 8, Type: configs.TypeBool, Count: 16, Writable: true},
		{Name: "credential_seq", Table: configs.TableInput, Address: 10, Type: configs.TypeUint16},
		{Name: "credential", Table: configs.TableInput, Address: 11, Type: configs.TypeUint32},
		{Name: "battery_volts", Table: configs.TableInput, Address: 20, Type: configs.TypeInt16, Scale: 0.01},
		{Name: "tamper", Table: configs.TableHolding, Address: 30, Type: configs.TypeBool, Bit: bitp(2), Writable: true},
		{Name: "setpoint", Table: configs.TableHolding, Address: 31, Type: configs.TypeFloat32, Writable: true},
		{Name: "label", Table: configs.TableHolding, Address: 33, Type: configs.TypeString, Length: 2},
	}}
}

func testDevice(id, url string, unit int, prof *configs.Profile) configs.Device {
	return configs.Device{ID: id, Kind: prof.Kind, Profile: "test", Resolved: prof,
		Modbus: configs.Modbus{URL: url, UnitID: unit, Timeout: configs.Duration(200 * time.Millisecond),
			MaxBackoff: configs.Duration(100 * time.Millisecond)},
		Poll: configs.Duration(10 * time.Millisecond)}
}

// recorder collects Readings from a running Manager.
type recorder struct {
	mu   sync.Mutex
	all  []Reading
	next int // readings before next were looked at by waitFor
	wake chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) sink(x Reading) {
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waitFor waits for the first reading after those seen by earlier calls
// that satisfies ok, and returns it; it fails the test after 10 s.
func (r *recorder) waitFor(t *testing.T, what string, ok func(Reading) bool) Reading {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for r.next < len(r.all) {
			x := r.all[r.next]
			r.next++
			if ok(x) {
				r.mu.Unlock()
				return x
			}
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("no reading %s within 10s", what)
		}
	}
}

// runManager starts m.Run and stops it at cleanup, checking it returned.
func runManager(t *testing.T, m *Manager, sink func(Reading)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, sink) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestManagerPollsAndWrites(t *testing.T) {
	srv := startServer(t, 1)
	f := math.Float32bits(21.5)
	srv.set(1, func(m *memory) {
		m.discrete[0], m.discrete[2] = true, true
		m.input[10], m.input[11], m.input[12], m.input[20] = 7, 0x0001, 0x0002, 1234
		m.holding[30] = 0b0100_0001
		m.holding[31], m.holding[32] = uint16(f>>16), uint16(f)
		m.holding[33], m.holding[34] = 'O'<<8|'K', 0
	})
	m, err := NewManager([]configs.Device{testDevice("door-1", srv.url(), 1, doorProfile())}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(context.Background(), "door-1", "unlock", BoolValue(true)); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Write before Run = %v, want ErrNotRunning", err)
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	r := rec.waitFor(t, "good", func(r Reading) bool { return r.Quality == Good })
	checks := map[string]float64{"door_open": 1, "lock_released": 0, "exit_request": 1, "unlock": 0,
		"credential_seq": 7, "credential": 0x10002, "battery_volts": 12.34, "tamper": 0, "setpoint": 21.5}
	for name, want := range checks {
		if got := r.Num(name); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if v, _ := r.Get("label"); v.Str != "OK" {
		t.Errorf("label = %q, want OK", v.Str)
	}
	if v, _ := r.Get("floor_enable"); len(v.List) != 16 {
		t.Errorf("floor_enable has %d elements, want 16", len(v.List))
	}
	if !r.Online || r.Device != "door-1" || r.Kind != configs.KindDoor || r.Time.IsZero() {
		t.Errorf("reading header = %+v", r)
	}

	ctx := context.Background()
	if err := m.Write(ctx, "door-1", "unlock", BoolValue(true)); err != nil {
		t.Fatalf("Write unlock: %v", err)
	}
	if err := m.Write(ctx, "door-1", "tamper", BoolValue(true)); err != nil {
		t.Fatalf("Write tamper bit: %v", err)
	}
	if err := m.Write(ctx, "door-1", "setpoint", FloatValue(-3.25)); err != nil {
		t.Fatalf("Write setpoint: %v", err)
	}
	if err := m.WriteBools(ctx, "door-1", "floor_enable", []bool{true, false, true}); err != nil {
		t.Fatalf("WriteBools: %v", err)
	}
	srv.set(1, func(mem *memory) {
		if !mem.coils[0] || !mem.coils[8] || mem.coils[9] || !mem.coils[10] {
			t.Errorf("coils after writes: %v", mem.coils)
		}
		if mem.holding[30] != 0b0100_0101 {
			t.Errorf("holding 30 = %#b, want the other bits kept and bit 2 set", mem.holding[30])
		}
	})
	r = rec.waitFor(t, "with the writes", func(r Reading) bool {
		fl, _ := r.Get("floor_enable")
		return r.Quality == Good && r.Bool("unlock") && r.Bool("tamper") && len(fl.List) == 16 && fl.List[2].Bool()
	})
	if got := r.Num("setpoint"); got != -3.25 {
		t.Errorf("setpoint = %v, want -3.25", got)
	}

	for _, tc := range []struct {
		device, point string
		want          error
	}{
		{"nope", "unlock", ErrUnknownDevice},
		{"door-1", "nope", ErrUnknownPoint},
		{"door-1", "door_open", ErrNotWritable},
		{"door-1", "credential", ErrNotWritable},
	} {
		if err := m.Write(ctx, tc.device, tc.point, BoolValue(true)); !errors.Is(err, tc.want) {
			t.Errorf("Write(%s, %s) = %v, want %v", tc.device, tc.point, err, tc.want)
		}
	}
	if err := m.WriteBools(ctx, "door-1", "floor_enable", make([]bool, 17)); err == nil {
		t.Error("WriteBools of 17 bits to 16 coils: no error")
	}
	stop()
	if err := m.Write(ctx, "door-1", "unlock", BoolValue(false)); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Write after Run = %v, want ErrNotRunning", err)
	}
	st := m.Stats()
	if len(st) != 1 || st[0].ID != "door-1" || st[0].Polls == 0 || st[0].Failures != 0 || !st[0].Online ||
		st[0].AvgLatency <= 0 || st[0].MaxLatency < st[0].AvgLatency || st[0].LastPoll.IsZero() {
		t.Errorf("Stats = %+v", st)
	}
}

func TestWriteReadBackMismatch(t *testing.T) {
	srv := startServer(t, 1)
	prof := &configs.Profile{Kind: configs.KindGate, Points: []configs.Point{
		{Name: "open", Table: configs.TableHolding, Address: 5, Type: configs.TypeUint16, Writable: true}}}
	m, err := NewManager([]configs.Device{testDevice("gate-1", srv.url(), 1, prof)}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	runManager(t, m, rec.sink)
	rec.waitFor(t, "good", func(r Reading) bool { return r.Quality == Good })
	// A device that clamps the value: the write is answered, but the
	// register reads back as something else.
	srv.set(1, func(*memory) { srv.clamp[5] = 100 })
	ctx := context.Background()
	if err := m.Write(ctx, "gate-1", "open", UintValue(50)); err != nil {
		t.Fatalf("Write 50: %v", err)
	}
	err = m.Write(ctx, "gate-1", "open", UintValue(500))
	if !errors.Is(err, ErrReadBack) || !strings.Contains(err.Error(), "writing holding register 5") {
		t.Fatalf("Write 500 to a register clamped at 100 = %v, want ErrReadBack naming the register", err)
	}
	err = m.Write(ctx, "gate-1", "open", UintValue(70000))
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("Write of 70000 to uint16 = %v, want out of range", err)
	}
}

// TestRunWithoutDevices: Run blocks until its context ends even with
// nothing to poll, like any other part of the gateway.
func TestRunWithoutDevices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := NewManager(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, func(Reading) {}) }()
		synctest.Wait() // Run is blocked, or has returned
		select {
		case err := <-done:
			t.Fatalf("Run returned before its context ended: %v", err)
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if err := m.Run(context.Background(), func(Reading) {}); err == nil {
			t.Fatal("second Run: no error")
		}
	})
}

// TestValuesShared: while a device's values do not change its readings
// share one map; a change brings a new map and leaves the old one as it was.
func TestValuesShared(t *testing.T) {
	srv := startServer(t, 1)
	srv.set(1, func(m *memory) { m.holding[7] = 1 })
	m, err := NewManager([]configs.Device{testDevice("gate-1", srv.url(), 1, oneRegister)}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	runManager(t, m, rec.sink)
	first := rec.waitFor(t, "good", func(r Reading) bool { return r.Quality == Good })
	second := rec.waitFor(t, "good", func(r Reading) bool { return r.Quality == Good })
	if reflect.ValueOf(first.Values).Pointer() != reflect.ValueOf(second.Values).Pointer() {
		t.Error("unchanged values came in a new map")
	}
	srv.set(1, func(m *memory) { m.holding[7] = 2 })
	changed := rec.waitFor(t, "the new value", func(r Reading) bool { return r.Num("fault_code") == 2 })
	if first.Num("fault_code") != 1 || changed.Values["fault_code"].Uint != 2 {
		t.Errorf("old map now says %v, new one %v", first.Num("fault_code"), changed.Num("fault_code"))
	}
}
