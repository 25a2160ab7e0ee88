package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/internal/testbed"
)

// BenchmarkWriteVictoria measures the points per second the writer sustains
// to VictoriaMetrics on loopback and the process CPU time it spends per
// 10,000 points (user + system, from getrusage, so it includes the HTTP
// client and gzip but not the store), and the store's CPU time per 10,000
// points (from /proc), so that the figures can be judged on a busy machine.
//
//	pipeline: Observe a reading of 8 points from each of 1,000 devices,
//	          close the window (3,000 lines), write; one window per op.
//	send:     write pre-encoded device_point lines; 3,000 lines per op.
//	send-null: the same to an in-process HTTP server that reads and
//	          discards the body: the writer's own ceiling (cpu-ms then
//	          includes that server).
//
// A point is a line (measurement, tags, fields, time); fields/s counts the
// field values, which VictoriaMetrics stores as one sample each.
//
// Run: go test -run XXX -bench WriteVictoria -benchtime 200x ./sync/telemetry/
func BenchmarkWriteVictoria(b *testing.B) {
	v := testbed.StartVictoriaMetrics(b)
	const devices = 1000
	null := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer null.Close()
	for _, mode := range []string{"pipeline", "send", "send-null"} {
		b.Run(mode, func(b *testing.B) {
			target := v.URL
			if mode == "send-null" {
				target = null.URL
			}
			cfg := testConfig(target)
			cfg.Devices = nil
			for i := range devices {
				cfg.Devices = append(cfg.Devices, configs.Device{
					ID: fmt.Sprintf("door-%04d", i), Kind: configs.KindDoor, Location: fmt.Sprintf("Block %d lobby", i/10),
				})
			}
			cfg.Telemetry.BatchSize = configs.DefaultBatchSize
			cfg.Telemetry.BufferPoints = 4_000_000
			cfg.Telemetry.FlushInterval = configs.Duration(10 * time.Millisecond)
			w := newTestWriter(b, cfg, nil)
			readings := make([]drivers.Reading, devices)
			for i := range readings {
				readings[i] = reading(cfg.Devices[i].ID, "door", map[string]drivers.Value{
					"door_open": drivers.BoolValue(i%2 == 0), "lock_released": drivers.BoolValue(false),
					"exit_request": drivers.BoolValue(false), "credential_seq": num(configs.TypeUint16, float64(i)),
					"battery_volts": num(configs.TypeInt16, 12.37), "tamper": drivers.BoolValue(false),
					"sos_button": drivers.BoolValue(false), "temperature": num(configs.TypeInt16, 21.5),
				})
			}
			var pre []string
			fieldsPerOp := 0
			if mode == "pipeline" {
				for _, r := range readings {
					w.Observe(r)
				}
				w.collect(time.Now())
				for _, l := range bufferedLines(w) {
					fieldsPerOp += countFields(l)
				}
				w.buf.abandon()
				w.buf = newRing(cfg.Telemetry.BufferPoints)
			} else {
				for _, r := range readings {
					w.Observe(r)
				}
				w.collect(time.Now())
				for _, l := range bufferedLines(w) {
					if len(l) > 12 && l[:12] == MeasurementPoint {
						pre = append(pre, l)
					}
				}
				w.buf.abandon()
				for len(pre) < 3*devices {
					pre = append(pre, pre...)
				}
				pre = pre[:3*devices]
				for _, l := range pre {
					fieldsPerOp += countFields(l)
				}
				w.buf = newRing(cfg.Telemetry.BufferPoints)
			}

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); w.sendLoop(ctx) }()
			defer func() { cancel(); <-done }()

			t0 := time.Now().Add(-time.Hour)
			cpu0, store0 := cpuTime(), procCPU(v.Cmd.Process.Pid)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if mode == "pipeline" {
					for _, r := range readings {
						w.Observe(r)
					}
					w.collect(t0.Add(time.Duration(i) * time.Millisecond))
				} else {
					w.buf.push(pre...)
				}
				w.wake()
			}
			total := uint64(b.N * 3 * devices)
			for s := w.Stats(); s.Written+s.Dropped+s.Rejected < total; s = w.Stats() {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cpu, storeCPU := cpuTime()-cpu0, procCPU(v.Cmd.Process.Pid)-store0
			s := w.Stats()
			if s.Written != total {
				b.Fatalf("written %d of %d points: %+v", s.Written, total, s)
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "points/s")
			b.ReportMetric(float64(b.N*fieldsPerOp)/elapsed.Seconds(), "fields/s")
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(total)*10_000, "cpu-ms/10k-points")
			b.ReportMetric(float64(storeCPU)/float64(time.Millisecond)/float64(total)*10_000, "store-cpu-ms/10k-points")
			b.ReportMetric(float64(s.WriteErrors), "write-errors")
		})
	}
}

// countFields counts the field values of a line.
func countFields(line string) int {
	return strings.Count(splitUnescaped(line)[1], ",") + 1
}

// procCPU is the CPU time (user + system) process pid has used, from
// /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
