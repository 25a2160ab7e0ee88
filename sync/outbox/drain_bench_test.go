package outbox

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jusha-ean/edge/events"
)

// BenchmarkReadAck measures the outbox's side of a backlog drain: reading
// b.N records oldest first and deleting them, without any network.
func BenchmarkReadAck(b *testing.B) {
	o, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{Source: testSource, MaxBytes: 4 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	e := events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 512; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := o.Append(context.Background(), e); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	var after uint64
	for {
		recs, err := o.Next(after, 500)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		seqs := make([]uint64, len(recs))
		for i, r := range recs {
			seqs[i] = r.Seq
		}
		if err := o.Ack(seqs...); err != nil {
			b.Fatal(err)
		}
		after = recs[len(recs)-1].Seq
	}
	for o.Stats().Depth > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
