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

// BenchmarkAppend measures durable appends (fsynced on return) from many
// goroutines sharing commits, and from one goroutine alone.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 64, 512, 2048} {
		b.Run("writers="+itoa(writers), func(b *testing.B) {
			o, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{Source: testSource, MaxBytes: 4 << 30})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			e := events.New("access.granted", "door-a1-lobby", time.Now(), events.Info, events.RouteRecord)
			e.Data = map[string]any{"credential_type": "qr", "rider": "rider-8812", "location": "Block A1 lobby"}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < writers; w++ {
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
			b.StopTimer()
			st := o.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.Appended)/float64(max(st.Commits, 1)), "events/fsync")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
