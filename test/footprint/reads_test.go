package footprint

import (
	"context"
	"testing"
	"time"

	"github.com/jusha-ean/edge/access"
	"github.com/jusha-ean/edge/internal/platform"
	"github.com/jusha-ean/edge/test/soak/simsite"
)

// presentReads has riders present n cards at readers, spread evenly over
// d, so that the figures include what decisions cost: each reads its
// entry from the whitelist file, which maps pages of it into the daemon.
// Rider i uses the first device of its scope (simsite.Snapshot with scope
// 3); the riders are spread over the whole whitelist, and the readers, so
// that two reads rarely land in one poll of a reader. It returns how many
// it presented.
func presentReads(ctx context.Context, t *testing.T, site *simsite.Site, entries, n int, d time.Duration) int {
	t.Helper()
	if n == 0 {
		return 0
	}
	tick := time.NewTicker(d / time.Duration(n))
	defer tick.Stop()
	riders := entries
	if riders == 0 {
		riders = 100_000 // unknown cards, spread over the readers all the same
	}
	presented := 0
	for k := range n {
		select {
		case <-ctx.Done():
			return presented
		case <-tick.C:
		}
		i := (k * 7919) % riders
		dev := site.Devices[(i*3)%len(site.Devices)]
		if err := dev.Sim.Present(simsite.RiderCard(i)); err != nil {
			t.Errorf("present at %s: %v", dev.ID, err)
			return presented
		}
		presented++
	}
	return presented
}

// decisions counts the access.granted and access.denied events the
// platform received.
func decisions(plat *platform.Platform) (granted, denied int) {
	for _, r := range plat.Events() {
		switch r.Event.Type {
		case access.EventGranted:
			granted++
		case access.EventDenied:
			denied++
		}
	}
	return granted, denied
}
