package faults_test

import (
	"math"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/drivers/sim"
)

// TestSharedLinkFaults puts three devices behind one Modbus TCP address,
// each its own unit id, as behind one TCP-to-RS485 gateway, so that they
// share one link; the middle one (the gate) misbehaves in turn in every way.
// The doors on the same link must keep being polled without a failure and
// without being reported offline, and must keep reading their own values
// (a late or garbled answer for the gate must never be taken for a door's).
func TestSharedLinkFaults(t *testing.T) {
	t.Parallel()
	s := newSite(t, siteOptions{shared: true, kinds: []string{configs.KindDoor, configs.KindGate, configs.KindDoor}})
	doors := map[string]float64{s.ids[0]: 12.34, s.ids[2]: 11.11}
	for id, volts := range doors {
		if err := s.sims[id].Set("battery_volts", drivers.Value{Num: volts}); err != nil {
			t.Fatal(err)
		}
	}
	s.start()
	s.waitStarted()
	victim := s.ids[1]
	for _, f := range deviceFaults {
		t.Run(f.name, func(t *testing.T) {
			n := len(s.plat.Events())
			before, t0 := s.devices(), time.Now()
			if err := s.sims[victim].Fault(f.mode); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(deadline) {
				for id, volts := range doors {
					got, _ := s.devices()[id].Points["battery_volts"].(float64)
					if math.Abs(got-volts) > 0.001 {
						t.Errorf("%s read battery_volts %v, want %v: another unit's answer taken for its own", id, got, volts)
						deadline = time.Now()
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			during, elapsed := s.devices(), time.Since(t0)
			if f.fails && !s.waitEvent(n, 15*time.Second, "device.offline", victim) {
				t.Errorf("%s under %s on a shared link: no device.offline; got %v", victim, f.mode, s.eventsOf(n))
			}
			if err := s.sims[victim].Fault(sim.FaultMode{}); err != nil {
				t.Fatal(err)
			}
			expected := uint64(elapsed / (100 * time.Millisecond))
			v := during[victim]
			var figures []any
			for id := range doors {
				b, d := before[id], during[id]
				polls, fails := d.Polls-b.Polls, d.Errors-b.Errors
				figures = append(figures, id, polls, "failures", fails)
				// The link goes round: a dead unit costs the others at most
				// one timeout per turn, a slow one as long as its answers
				// take, and each of its turns is followed by theirs. So each
				// door gets at least one poll per poll of the gate (a
				// machine-independent bound; the figures show the rates).
				enough := polls >= max(1, v.Polls-before[victim].Polls)
				if !enough || fails > 0 || !d.Online {
					t.Errorf("%s on the link shared with %s (%s) for %v: %d polls (about %d without the fault, %d of the gate's), %d failures (%q), online %v",
						id, victim, f.mode, elapsed.Round(time.Millisecond), polls, expected, v.Polls-before[victim].Polls, fails, d.LastError, d.Online)
				}
			}
			t.Logf("%s %s: its polls +%d, failures +%d; the doors on its link over %v: %v",
				victim, f.mode, v.Polls-before[victim].Polls, v.Errors-before[victim].Errors, elapsed.Round(time.Millisecond), figures)
			// The gate heals and is polled again before the next fault.
			recovered := waitFor(15*time.Second, func() bool { return s.devices()[victim].Online })
			healed := s.devices()[victim]
			recovered = recovered && waitFor(10*time.Second, func() bool {
				d := s.devices()[victim]
				return d.Polls >= healed.Polls+3 && d.Errors == healed.Errors
			})
			if !recovered {
				t.Errorf("%s did not recover from %s: %+v", victim, f.mode, s.devices()[victim])
			}
			for _, e := range s.plat.Events()[n:] {
				if e.Event.Type == "device.offline" && e.Event.Subject != victim {
					t.Errorf("%s reported offline while %s was faulty on its link", e.Event.Subject, victim)
				}
			}
		})
	}
}
