package simsite

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Usage is what the process holds at one moment.
type Usage struct {
	At         time.Time
	Goroutines int
	// HeapAlloc is the live heap after a forced GC.
	HeapAlloc uint64
	// HeapSys is the heap memory obtained from the OS.
	HeapSys uint64
	// RSS and HWM are VmRSS and VmHWM (peak) of /proc/self/status.
	RSS, HWM uint64
	// CPU is the process's user + system CPU time so far.
	CPU time.Duration
}

// Measure forces a GC and reads the process's goroutines, heap, RSS and
// CPU time.
func Measure() Usage {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := Usage{At: time.Now(), Goroutines: runtime.NumGoroutine(), HeapAlloc: ms.HeapAlloc, HeapSys: ms.HeapSys, CPU: CPUTime()}
	u.RSS, u.HWM, _ = ProcMem(os.Getpid())
	return u
}

// String formats a usage for a log line.
func (u Usage) String() string {
	return fmt.Sprintf("goroutines=%d heap=%s heap_sys=%s rss=%s peak_rss=%s cpu=%s",
		u.Goroutines, MiB(u.HeapAlloc), MiB(u.HeapSys), MiB(u.RSS), MiB(u.HWM), u.CPU.Round(time.Millisecond))
}

// MiB formats a byte count.
func MiB(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// CPUTime is the process's user + system CPU time (getrusage).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ProcMem reads VmRSS and VmHWM of a process from /proc/PID/status, in bytes.
func ProcMem(pid int) (rss, hwm uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		fields := strings.Fields(rest) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, name, sc.Text())
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return rss, hwm, nil
}
