package faults_test

import (
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
	"github.com/jusha-ean/edge/web"
)

// deviceFault is one way a device misbehaves, and what the gateway should
// make of it.
type deviceFault struct {
	name string
	mode sim.FaultMode
	// fails says the fault makes every poll fail: the device must go
	// offline, and come back online when healed. Otherwise it must stay
	// online and keep being polled for hold.
	fails bool
	hold  time.Duration
}

// The devices time out after 500 ms (siteOptions default): slow:250ms is
// under it with room for a loaded machine's scheduling delays, slow:800ms
// over it.
var deviceFaults = []deviceFault{
	{name: "garbage", mode: sim.FaultMode{Kind: sim.FaultGarbage}, fails: true},
	{name: "exception_device_failure", mode: sim.FaultMode{Kind: sim.FaultException, Exception: sim.ExDeviceFailure}, fails: true},
	{name: "exception_illegal_address", mode: sim.FaultMode{Kind: sim.FaultException, Exception: sim.ExIllegalDataAddress}, fails: true},
	{name: "slow_under_timeout", mode: sim.FaultMode{Kind: sim.FaultSlow, Delay: 250 * time.Millisecond}, hold: 3 * time.Second},
	{name: "slow_over_timeout", mode: sim.FaultMode{Kind: sim.FaultSlow, Delay: 800 * time.Millisecond}, fails: true},
	{name: "drop_mid_frame", mode: sim.FaultMode{Kind: sim.FaultDrop}, fails: true},
	{name: "wrong_transaction_id", mode: sim.FaultMode{Kind: sim.FaultWrongTransaction}, fails: true},
	{name: "wrong_unit_id", mode: sim.FaultMode{Kind: sim.FaultWrongUnit}, fails: true},
	{name: "no_answer", mode: sim.FaultMode{Kind: sim.FaultNoAnswer}, fails: true},
	{name: "disconnect", mode: sim.FaultMode{Kind: sim.FaultDisconnect}, fails: true},
}

// TestDeviceFaults runs a site of six devices, each simulator on its own
// address, through every device fault, one device at a time: the faulty
// device goes offline when its polls fail and comes back when healed, every
// other device keeps being polled, and after the whole cycle neither
// goroutines nor the heap have grown, and nothing outlives the gateway.
func TestDeviceFaults(t *testing.T) {
	s := newSite(t, siteOptions{kinds: []string{
		configs.KindDoor, configs.KindElevator, configs.KindGate,
		configs.KindDoor, configs.KindElevator, configs.KindGate,
	}})
	s.start()
	s.waitStarted()
	// Warm up, then take the baseline of the running gateway.
	time.Sleep(time.Second)
	heap0, gor0 := heapAfterGC()
	t.Logf("baseline: heap %d KiB, %d goroutines", heap0>>10, gor0)

	for i, f := range deviceFaults {
		victim := s.ids[i%len(s.ids)]
		if !t.Run(f.name, func(t *testing.T) { runDeviceFault(t, s, victim, f) }) {
			// Leave the device healthy for the next fault anyway.
			_ = s.sims[victim].Fault(sim.FaultMode{})
		}
	}

	// Every device healthy again: let them settle, then compare.
	s.waitPolled(10 * time.Second)
	time.Sleep(time.Second)
	heap1, gor1 := heapAfterGC()
	t.Logf("after the fault cycle: heap %d KiB (baseline %d KiB), %d goroutines (baseline %d)",
		heap1>>10, heap0>>10, gor1, gor0)
	if gor1 > gor0+8 {
		t.Errorf("goroutines grew over the fault cycle: %d -> %d", gor0, gor1)
	}
	if heap1 > heap0*2+16<<20 {
		t.Errorf("heap grew over the fault cycle: %d KiB -> %d KiB", heap0>>10, heap1>>10)
	}

	// No healthy device was ever reported offline: each offline event is
	// about the device that was faulty at the time, and pairs with an
	// online one.
	evs := s.plat.Events()
	offline, online := map[string]int{}, map[string]int{}
	for _, e := range evs {
		switch e.Event.Type {
		case "device.offline":
			offline[e.Event.Subject]++
		case "device.online":
			online[e.Event.Subject]++
		}
	}
	t.Logf("device.offline per device %v, device.online %v", offline, online)
	for id, n := range offline {
		if online[id] != n {
			t.Errorf("%s: %d device.offline, %d device.online", id, n, online[id])
		}
	}
	dups, gaps, reorders := s.plat.Stats()
	if len(gaps) > 0 || reorders > 0 {
		t.Errorf("sequence gaps %v, out of order %d (dups %d)", gaps, reorders, dups)
	}

	// Stop everything this test started, then nothing may be left running:
	// no IgnoreTopFunction is needed, paho, bbolt, the Modbus client and
	// the simulators' servers all end their goroutines on close.
	s.stopGW()
	s.plat.Close()
	s.stopSims()
	s.broker.Stop()
	goleak.VerifyNone(t)
}

// runDeviceFault injects f into victim, checks the gateway's view during
// the fault and after healing, and logs the healthy devices' poll counts.
func runDeviceFault(t *testing.T, s *site, victim string, f deviceFault) {
	n := len(s.plat.Events())
	before, t0 := s.devices(), time.Now()
	if err := s.sims[victim].Fault(f.mode); err != nil {
		t.Fatal(err)
	}
	if f.fails {
		if !s.waitEvent(n, 15*time.Second, "device.offline", victim) {
			t.Fatalf("%s under %s: no device.offline at the platform; got %v; device %+v",
				victim, f.mode, s.eventsOf(n), s.devices()[victim])
		}
		// Keep the fault a little longer: the others must still be polled
		// while this one is offline and backing off.
		time.Sleep(time.Second)
	} else {
		time.Sleep(f.hold)
	}
	during, t1 := s.devices(), time.Now()
	checkHealthy(t, s, victim, before, during, t1.Sub(t0))
	v0, v1 := before[victim], during[victim]
	t.Logf("%s %s: polls +%d, failures +%d, online %v, last error %q",
		victim, f.mode, v1.Polls-v0.Polls, v1.Errors-v0.Errors, v1.Online, v1.LastError)
	if !f.fails {
		// One poll may miss on a starved machine; a device slower than
		// its timeout would fail every poll and go offline.
		if v1.Errors > v0.Errors+1 || v1.Polls == v0.Polls || !v1.Online {
			t.Errorf("%s under %s (within its timeout): polls +%d, failures +%d, online %v; want polls to go on, online",
				victim, f.mode, v1.Polls-v0.Polls, v1.Errors-v0.Errors, v1.Online)
		}
	}

	if err := s.sims[victim].Fault(sim.FaultMode{}); err != nil {
		t.Fatal(err)
	}
	if f.fails && !s.waitEvent(n, 15*time.Second, "device.online", victim) {
		t.Fatalf("%s healed from %s: no device.online at the platform; got %v; device %+v",
			victim, f.mode, s.eventsOf(n), s.devices()[victim])
	}
	// Healed: its polls succeed again.
	healed := s.devices()[victim]
	if !waitFor(10*time.Second, func() bool {
		d := s.devices()[victim]
		return d.Polls >= healed.Polls+3 && d.Errors == healed.Errors
	}) {
		t.Errorf("%s healed from %s but its polls do not succeed: %+v", victim, f.mode, s.devices()[victim])
	}
	for _, e := range s.plat.Events()[n:] {
		if (e.Event.Type == "device.offline" || e.Event.Type == "device.online") && e.Event.Subject != victim {
			t.Errorf("%s reported about a healthy device while %s was faulty", e.Event.Type, e.Event.Subject)
		}
		if !f.fails && e.Event.Type == "device.offline" {
			t.Errorf("%s went offline under %s, a fault within its timeout", victim, f.mode)
		}
	}
}

// checkHealthy checks that every device but victim kept being polled
// without failures over elapsed, at no less than a fifth of its poll rate
// (a generous bound: the machine is shared and often starved), and was
// polled lately.
func checkHealthy(t *testing.T, s *site, victim string, before, during map[string]web.DeviceStatus, elapsed time.Duration) {
	t.Helper()
	expected := uint64(elapsed / (100 * time.Millisecond))
	var figures []any
	for _, id := range s.ids {
		if id == victim {
			continue
		}
		b, d := before[id], during[id]
		polls, fails := d.Polls-b.Polls, d.Errors-b.Errors
		figures = append(figures, id, polls)
		if polls < expected/5 || fails > 0 || !d.Online {
			t.Errorf("healthy %s while %s was faulty for %v: %d polls (expected about %d), %d failures, online %v",
				id, victim, elapsed.Round(time.Millisecond), polls, expected, fails, d.Online)
		}
		if age := time.Since(d.LastPoll); age > 2*time.Second {
			t.Errorf("healthy %s last polled %v ago while %s was faulty", id, age.Round(time.Millisecond), victim)
		}
	}
	t.Logf("healthy devices' polls over %v (expected about %d each): %v", elapsed.Round(time.Millisecond), expected, figures)
}

// heapAfterGC returns the live heap after a full collection and the
// number of goroutines.
func heapAfterGC() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, runtime.NumGoroutine()
}
