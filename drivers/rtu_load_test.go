package drivers

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/simonvetter/modbus"
)

// TestRTUThroughput measures requests/s over RTU on a pty pair at 9600 and
// 115200 baud, as a share of the line limit, for the library alone and
// through the Manager. Off by default:
//
//	EDGE_LOADTEST=1 go test -run TestRTUThroughput -v -count=1 ./drivers/
//
// A pty ignores the baud rate: the library paces its requests as if the line
// had it, and the responder here delays each answer by its time on the line.
func TestRTUThroughput(t *testing.T) {
	if os.Getenv("EDGE_LOADTEST") == "" {
		t.Skip("set EDGE_LOADTEST=1 to run the load test")
	}
	measure := testbed.EnvDuration(t, "EDGE_LOAD_FOR", 5*time.Second)
	const regs = 10
	reqBytes, resBytes := 8, 5+2*regs
	for _, baud := range []int{9600, 115200} {
		char := 11 * time.Second / time.Duration(baud)
		gap := char * 35 / 10
		if baud >= 19200 {
			gap = 1750 * time.Microsecond
		}
		limit := 1 / (time.Duration(reqBytes+resBytes)*char + 2*gap).Seconds()
		for _, how := range []string{"library", "manager"} {
			a, b := startPtyPair(t)
			stop := startRTUResponder(t, b, char, gap)
			url := "rtu://" + a + "?baud=" + itoa(baud)
			var n int64
			var wall time.Duration
			if how == "library" {
				n, wall = rtuLibraryLoop(t, url, baud, regs, measure)
			} else {
				n, wall = rtuManagerLoop(t, url, regs, measure)
			}
			stop()
			rate := float64(n) / wall.Seconds()
			t.Logf("RTU %6d baud %-8s requests/s=%.1f line limit=%.1f share=%.3f", baud, how, rate, limit, rate/limit)
		}
	}
}

func rtuLibraryLoop(t *testing.T, url string, baud, regs int, measure time.Duration) (int64, time.Duration) {
	addr, err := parseLinkURL(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conf := addr.conf
	conf.Timeout, conf.Logger = time.Second, log.New(io.Discard, "", 0)
	c, err := modbus.NewClient(&conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int64
	start := time.Now()
	for time.Since(start) < measure {
		if _, err := c.ReadRegisters(0, uint16(regs), modbus.HOLDING_REGISTER); err != nil {
			t.Fatalf("library read: %v", err)
		}
		n++
	}
	return n, time.Since(start)
}

func rtuManagerLoop(t *testing.T, url string, regs int, measure time.Duration) (int64, time.Duration) {
	prof := &configs.Profile{Kind: configs.KindDoor, Points: []configs.Point{
		{Name: "first", Table: configs.TableHolding, Address: 0, Type: configs.TypeUint16},
		{Name: "last", Table: configs.TableHolding, Address: uint16(regs - 1), Type: configs.TypeUint16}}}
	dev := testDevice("rtu-1", url, 1, prof)
	dev.Poll = configs.Duration(time.Microsecond) // back to back
	dev.Modbus.Timeout = configs.Duration(time.Second)
	m, err := NewManager([]configs.Device{dev}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, func(Reading) {}) }()
	warm := time.NewTimer(500 * time.Millisecond)
	<-warm.C
	n0, start := m.Stats()[0].Requests, time.Now()
	end := time.NewTimer(measure)
	<-end.C
	st := m.Stats()[0]
	wall := time.Since(start)
	cancel()
	<-done
	if st.RequestErrors > 0 {
		t.Errorf("%d request errors: %s", st.RequestErrors, st.LastError)
	}
	return int64(st.Requests - n0), wall
}

// startRTUResponder answers RTU read-holding-register frames on a pty as a
// device on a real line would, which the pty does not: after the request's
// bytes (char each) have arrived, the silent gap, and the answer's bytes.
// stop ends it.
func startRTUResponder(t *testing.T, path string, char, gap time.Duration) (stop func()) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		req := make([]byte, 8)
		for {
			if _, err := io.ReadFull(f, req); err != nil {
				if !errors.Is(err, os.ErrClosed) {
					t.Logf("responder: %v", err)
				}
				return
			}
			qty := binary.BigEndian.Uint16(req[4:6])
			out := []byte{req[0], req[1], byte(2 * qty)}
			for i := range qty {
				out = binary.BigEndian.AppendUint16(out, i)
			}
			out = binary.LittleEndian.AppendUint16(out, crc16(out))
			time.Sleep(time.Duration(len(req)+len(out))*char + gap)
			if _, err := f.Write(out); err != nil {
				return
			}
		}
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			f.Close()
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}
