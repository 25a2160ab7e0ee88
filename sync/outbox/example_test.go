package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/sync/outbox"
)

func Example() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{Source: "/jusha/wannan/gw-01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ob.Close()

	// A producer: durable once Append returns.
	ev := events.New("door.forced_open", "door-a1-lobby", time.Now(), events.High, events.RoutePolice)
	stored, err := ob.Append(context.Background(), ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stored.Sequence, stored.Source)

	// The uplink: oldest first, deleted only after the broker's PUBACK.
	recs, _ := ob.Next(0, 100)
	for _, r := range recs {
		fmt.Println(r.Seq, r.Category)
		_ = ob.Ack(r.Seq)
	}
	// Output:
	// 00000000000000000001 /jusha/wannan/gw-01
	// 1 alarm
}
