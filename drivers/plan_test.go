package drivers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
)

func TestPlanBlocks(t *testing.T) {
	h := func(addr uint16, typ configs.Type) configs.Point {
		return configs.Point{Name: fmt.Sprint("h", addr), Table: configs.TableHolding, Address: addr, Type: typ}
	}
	c := func(addr uint16, count int) configs.Point {
		return configs.Point{Name: fmt.Sprint("c", addr), Table: configs.TableCoil, Address: addr, Type: configs.TypeBool, Count: count}
	}
	tests := []struct {
		name   string
		points []configs.Point
		gap    int
		want   string
	}{
		{"contiguous", []configs.Point{h(0, configs.TypeUint16), h(1, configs.TypeUint32), h(3, configs.TypeUint64)}, 10, "holding 0+7"},
		{"unsorted", []configs.Point{h(3, configs.TypeUint64), h(0, configs.TypeUint16), h(1, configs.TypeUint32)}, 10, "holding 0+7"},
		{"gap bridged", []configs.Point{h(0, configs.TypeUint16), h(11, configs.TypeUint16)}, 10, "holding 0+12"},
		{"gap too wide", []configs.Point{h(0, configs.TypeUint16), h(12, configs.TypeUint16)}, 10, "holding 0+1 holding 12+1"},
		{"no gap allowed", []configs.Point{h(0, configs.TypeUint16), h(2, configs.TypeUint16)}, 0, "holding 0+1 holding 2+1"},
		{"overlapping bits of one register", []configs.Point{
			{Name: "a", Table: configs.TableHolding, Address: 5, Type: configs.TypeBool, Bit: bitp(0)},
			{Name: "b", Table: configs.TableHolding, Address: 5, Type: configs.TypeBool, Bit: bitp(1)},
			h(4, configs.TypeUint32)}, 10, "holding 4+2"},
		{"125 register limit", []configs.Point{h(0, configs.TypeUint16), h(120, configs.TypeUint64), h(124, configs.TypeUint16)}, 200, "holding 0+125"},
		{"past 125 registers", []configs.Point{h(0, configs.TypeUint16), h(122, configs.TypeUint64), h(124, configs.TypeUint16)}, 200, "holding 0+1 holding 122+4"},
		{"tables apart", []configs.Point{h(0, configs.TypeUint16),
			{Name: "i", Table: configs.TableInput, Address: 0, Type: configs.TypeUint16}, c(0, 1)}, 10, "coil 0+1 holding 0+1 input 0+1"},
		{"coil arrays, bit gap", []configs.Point{c(0, 1), c(8, 64), c(232, 1)}, 10, "coil 0+233"},
		{"bit gap too wide", []configs.Point{c(0, 1), c(8, 64), c(233, 1)}, 10, "coil 0+72 coil 233+1"},
		{"2000 bit limit", []configs.Point{c(0, 1990), c(1990, 20)}, 10, "coil 0+1990 coil 1990+20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := make([]int, len(tt.points))
			for i := range idx {
				idx[i] = i
			}
			if got := describe(planBlocks(tt.points, idx, tt.gap)); got != tt.want {
				t.Fatalf("planBlocks = %q, want %q", got, tt.want)
			}
		})
	}
}

func describe(bs []block) string {
	s := ""
	for i, b := range bs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s %d+%d", b.table, b.start, b.count)
	}
	return s
}

func TestSplitBlock(t *testing.T) {
	ps := []configs.Point{
		{Name: "a", Table: configs.TableInput, Address: 0, Type: configs.TypeUint16},
		{Name: "b", Table: configs.TableInput, Address: 1, Type: configs.TypeUint16},
		{Name: "c", Table: configs.TableInput, Address: 5, Type: configs.TypeUint32},
	}
	b := planBlocks(ps, []int{0, 1, 2}, 10)[0]
	steps := []string{}
	for cur := []block{b}; len(cur) > 0; {
		next := []block{}
		for _, x := range cur {
			next = append(next, splitBlock(ps, x)...)
		}
		if len(next) > 0 {
			steps = append(steps, describe(next))
		}
		cur = next
	}
	want := []string{"input 0+2 input 5+2", "input 0+1 input 1+1"}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Fatalf("split steps = %q, want %q", steps, want)
	}
}

// TestCoalescedRequests counts the requests a server sees: one per block,
// 4 per poll for the test door's 11 points.
func TestCoalescedRequests(t *testing.T) {
	srv := startServer(t, 1)
	m, err := NewManager([]configs.Device{testDevice("door-1", srv.url(), 1, doorProfile())}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	n := 0
	rec.waitFor(t, "five good polls", func(r Reading) bool { n++; return n >= 5 })
	stop()
	st := m.Stats()[0]
	if st.Failures != 0 || st.Polls < 5 {
		t.Fatalf("stats = %+v", st)
	}
	// Run may stop in the middle of a poll: up to 3 requests of an
	// unfinished one.
	if got, want := srv.readCount(), int(st.Polls)*4; got < want || got > want+3 {
		t.Fatalf("server saw %d reads for %d polls, want %d (4 per poll)", got, st.Polls, want)
	}
	if int(st.Requests) != srv.readCount() {
		t.Fatalf("stats count %d requests, server saw %d", st.Requests, srv.readCount())
	}
}

// TestSplitOnIllegalAddress: the device has no register 13..19 (a hole the
// merged input read bridges): the driver splits the block once and keeps
// the split for every later poll.
func TestSplitOnIllegalAddress(t *testing.T) {
	srv := startServer(t, 1)
	srv.hole(configs.TableInput, 15)
	srv.set(1, func(m *memory) { m.input[20] = 500 })
	m, err := NewManager([]configs.Device{testDevice("door-1", srv.url(), 1, doorProfile())}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	n := 0
	r := rec.waitFor(t, "five polls", func(r Reading) bool { n++; return n >= 5 })
	stop()
	if r.Quality != Good || r.Num("battery_volts") != 5 {
		t.Fatalf("reading = %+v", r)
	}
	st := m.Stats()[0]
	if st.Failures != 0 {
		t.Fatalf("stats = %+v", st)
	}
	// One refused merged read, then 5 requests per poll (input split in two).
	if got, want := srv.readCount(), 1+int(st.Polls)*5; got < want || got > want+4 {
		t.Fatalf("server saw %d reads for %d polls, want %d", got, st.Polls, want)
	}
}

// TestIllegalAddressOfOnePoint: a point the device does not have fails the
// poll with the register named.
func TestIllegalAddressOfOnePoint(t *testing.T) {
	srv := startServer(t, 1)
	srv.hole(configs.TableHolding, 30)
	dev := testDevice("door-1", srv.url(), 1, doorProfile())
	res := Probe(context.Background(), dev)
	want := `Modbus exception "illegal data address" reading holding register 30`
	if res.OK || res.Err == nil || res.Err.Error() != want {
		t.Fatalf("Probe = %+v, want error %q", res, want)
	}
}

func TestBackoff(t *testing.T) {
	poll, maxB := 200*time.Millisecond, 30*time.Second
	tests := []struct {
		fails  int
		r      float64
		lo, hi time.Duration
	}{
		{1, 0, 200 * time.Millisecond, 200 * time.Millisecond},
		{1, 0.999, 200 * time.Millisecond, 400 * time.Millisecond},
		{2, 0.5, 600 * time.Millisecond, 600 * time.Millisecond},
		{3, 0, 800 * time.Millisecond, 800 * time.Millisecond},
		{20, 0.999, 15 * time.Second, 30 * time.Second},
		{1000, 0, 15 * time.Second, 15 * time.Second},
	}
	for _, tt := range tests {
		got := backoff(tt.fails, poll, maxB, tt.r)
		if got < tt.lo || got > tt.hi {
			t.Errorf("backoff(%d, r=%v) = %v, want in [%v, %v]", tt.fails, tt.r, got, tt.lo, tt.hi)
		}
	}
}

// TestBuiltinProfiles: every built-in profile is accepted by the codec and
// read in one request per table.
func TestBuiltinProfiles(t *testing.T) {
	for _, kind := range []string{configs.KindDoor, configs.KindElevator, configs.KindGate} {
		t.Run(kind, func(t *testing.T) {
			prof, err := configs.Builtin(kind)
			if err != nil {
				t.Fatal(err)
			}
			d, err := newDevice(testDevice(kind+"-1", "tcp://127.0.0.1:502", 1, prof), testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			tables := map[configs.Table]bool{}
			for _, p := range prof.Points {
				tables[p.Table] = true
			}
			if len(d.blocks) != len(tables) {
				t.Errorf("%d requests per poll (%s), want %d (one per table)", len(d.blocks), describe(d.blocks), len(tables))
			}
		})
	}
}

// TestPollsOnTheClock: after the first poll, a device's polls start on the
// clock's multiples of its interval, whenever its first poll started and
// however long a poll took; a poll that overran its slot is not caught up.
func TestPollsOnTheClock(t *testing.T) {
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		started, now time.Time
		poll         time.Duration
		want         time.Time
	}{
		{base.Add(130 * time.Millisecond), base.Add(140 * time.Millisecond), 200 * time.Millisecond, base.Add(200 * time.Millisecond)},
		{base.Add(200 * time.Millisecond), base.Add(203 * time.Millisecond), 200 * time.Millisecond, base.Add(400 * time.Millisecond)},
		{base.Add(7 * time.Second), base.Add(7*time.Second + 20*time.Millisecond), 5 * time.Second, base.Add(10 * time.Second)},
		{base.Add(100 * time.Millisecond), base.Add(650 * time.Millisecond), 200 * time.Millisecond, base.Add(650 * time.Millisecond)},
	}
	for _, tc := range cases {
		l := &link{}
		d := &device{id: "d", poll: tc.poll, offlineAfter: 3, started: tc.started, log: testLog(t),
			scratch: []Value{}, have: []bool{}}
		l.finishAt(d, nil, tc.now)
		if !d.due.Equal(tc.want) {
			t.Errorf("poll %v started %v, done %v: next at %v, want %v", tc.poll, tc.started.Format("15:04:05.000"),
				tc.now.Format("15:04:05.000"), d.due.Format("15:04:05.000"), tc.want.Format("15:04:05.000"))
		}
	}
}
