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
	m, err := ProcStatus(pid)
	return m.RSS, m.HWM, err
}

// Mem is a process's memory as /proc/PID/status reports it, in bytes.
type Mem struct {
	// RSS is VmRSS, the resident set; HWM its peak (VmHWM).
	RSS, HWM uint64
	// Anon and File split RSS: anonymous memory (heap, stacks) and pages
	// of mapped files (the binary, bbolt's mmap), which the kernel can
	// drop and read again.
	Anon, File uint64
}

// ProcStatus reads the memory lines of /proc/PID/status.
func ProcStatus(pid int) (Mem, error) {
	var m Mem
	fields := map[string]*uint64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		parts := strings.Fields(rest) // "12345 kB"
		if len(parts) != 2 || parts[1] != "kB" {
			return m, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, name, sc.Text())
		}
		kb, err := strconv.ParseUint(parts[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		*dst = kb << 10
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, nil
}

// ProcCPU is the user + system CPU time a process has used, from
// /proc/PID/stat (in clock ticks of 1/100 s, as on every Linux port Go
// supports).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}
