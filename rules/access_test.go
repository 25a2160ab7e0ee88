package rules

import (
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
)

func denials(d string, starts ...float64) []step {
	var out []step
	for _, s := range starts {
		out = append(out, Deny(d, s))
	}
	return out
}

func TestAccessRules(t *testing.T) {
	devs := []configs.Device{dev("d1", "door", "a1"), dev("d2", "door", "b2"), dev("d3", "door", "a1"), dev("d4", "gate", "")}
	first := []step{RD("d1", 0, open, false), RD("d2", 0, open, false), RD("d3", 0, open, false)}
	with := func(extra ...[]step) []step {
		out := append([]step(nil), first...)
		for _, s := range extra {
			out = append(out, s...)
		}
		return out
	}
	cases := []scenario{
		{name: "probing: 5 denials at one reader within 60s",
			steps: with(denials("d1", 1, 11, 21, 31, 41), []step{T(60.9), T(61.1)}),
			want:  []string{"41.0 access.probing raised", "61.1 access.probing cleared"}},
		{name: "probing runs on while the controller is offline",
			steps: with([]step{on("d1", Off(0.5))}, denials("d1", 1, 2, 3, 4, 5), []step{T(60.9), T(61.1)}),
			want:  []string{"0.5 device.offline raised", "5.0 access.probing raised", "61.1 access.probing cleared"}},
		{name: "probing: 4 denials is a near miss",
			steps: with(denials("d1", 1, 11, 21, 31), []step{T(100)})},
		{name: "probing: 5 denials over 61s is a near miss",
			steps: with(denials("d1", 1, 16, 31, 46, 62), []step{T(100)})},
		{name: "probing: denials at different readers do not add up",
			steps: with(denials("d1", 1, 2, 3), denials("d2", 4, 5), []step{T(10)})},
		{name: "probing: count 3 within 10s from config",
			rules: map[string]configs.RuleConfig{"access.probing": {Count: 3, Window: configs.Duration(10 * time.Second)}},
			steps: with(denials("d1", 1, 5, 20, 22, 24)),
			want:  []string{"24.0 access.probing raised"}},
		{name: "sharing: one entry granted in two zones within 30s",
			steps: with([]step{G("d1", 1, "rider-1"), G("d2", 20, "rider-1"), T(49.9), T(50.1)}),
			want:  []string{"20.0 access.sharing raised", "50.1 access.sharing cleared"}},
		{name: "sharing: same zone is fine",
			steps: with([]step{G("d1", 1, "rider-1"), G("d3", 5, "rider-1"), T(60)})},
		{name: "sharing: 31s apart is fine",
			steps: with([]step{G("d1", 1, "rider-1"), G("d2", 32, "rider-1"), T(60)})},
		{name: "sharing: different entries are fine",
			steps: with([]step{G("d1", 1, "rider-1"), G("d2", 2, "rider-2"), T(60)})},
		{name: "sharing: a device without a zone never counts",
			steps: with([]step{G("d1", 1, "rider-1"), G("d4", 2, "rider-1"), G("d2", 40, "rider-1"), T(60)})},
	}
	runScenarios(t, devs, cases)
}

func TestSharingData(t *testing.T) {
	cfg := config(dev("d1", "door", "a1"), dev("d2", "door", "b2"))
	e, rec := newEngine(t, cfg, Options{})
	play(e, cfg, []step{RD("d1", 0), RD("d2", 0), G("d1", 1, "rider-1"), G("d2", 11, "rider-1")})
	evs := rec.all()
	if len(evs) != 1 {
		t.Fatalf("events = %v", rec.lines())
	}
	d := evs[0].Data
	if evs[0].Subject != "d2" || d["entry"] != "rider-1" || d["first_device"] != "d1" || d["zone"] != "b2" ||
		d["first_zone"] != "a1" || d["interval_s"] != 10.0 || d["location"] != "loc d2" {
		t.Errorf("event = %+v", evs[0])
	}
}
