package drivers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/simonvetter/modbus"
)

// The load test is off by default. Run it without -race:
//
//	EDGE_LOADTEST=1 go test -run 'TestLoad$' -v -count=1 ./drivers/
//
// Settings (environment):
//
//	EDGE_LOAD_DEVICES  simulated devices [200], 20 points each in 3 blocks
//	EDGE_LOAD_POLL     poll interval [200ms]
//	EDGE_LOAD_FOR      measured time [20s], after 3s of warm-up
//	EDGE_LOAD_ADDR     host:port[,host:port...] of Modbus TCP servers to poll
//	                   instead of the built-in ones (devices spread round-robin;
//	                   devices on one address share its link)
//	EDGE_LOAD_UNITS    "same" (unit 1 everywhere) [default] or "seq" (1, 2, ...
//	                   per address)
//
// Without EDGE_LOAD_ADDR the test starts one server per device in a child
// process (this test binary again), so that the CPU and memory it prints are
// the gateway's alone: one link and one TCP connection per device.
func TestLoad(t *testing.T) {
	if os.Getenv("EDGE_LOADTEST") == "" {
		t.Skip("set EDGE_LOADTEST=1 to run the load test")
	}
	n := testbed.EnvInt(t, "EDGE_LOAD_DEVICES", 200)
	poll := testbed.EnvDuration(t, "EDGE_LOAD_POLL", 200*time.Millisecond)
	measure := testbed.EnvDuration(t, "EDGE_LOAD_FOR", 20*time.Second)
	addrs := strings.Split(os.Getenv("EDGE_LOAD_ADDR"), ",")
	if addrs[0] == "" {
		addrs = startLoadServers(t, n)
	}
	prof := loadProfile()
	perAddr := map[string]int{}
	devs := make([]configs.Device, n)
	for i := range devs {
		a := addrs[i%len(addrs)]
		perAddr[a]++
		unit := 1
		if os.Getenv("EDGE_LOAD_UNITS") == "seq" {
			unit = perAddr[a]
		}
		devs[i] = testDevice(fmt.Sprintf("dev-%03d", i), "tcp://"+a, unit, prof)
		devs[i].Poll = configs.Duration(poll)
		devs[i].Modbus.Timeout = configs.Duration(time.Second)
		devs[i].Modbus.MaxBackoff = configs.Duration(30 * time.Second)
	}
	if os.Getenv("EDGE_LOAD_BASELINE") != "" {
		loadBaseline(t, devs, poll, measure)
		return
	}
	m, err := NewManager(devs, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	var readings, values, bad atomic.Int64
	sink := func(r Reading) {
		readings.Add(1)
		if r.Quality != Good {
			bad.Add(1)
			return
		}
		values.Add(int64(len(r.Values)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, sink) }()
	defer func() {
		cancel()
		<-done
	}()

	warm := time.NewTimer(3 * time.Second)
	<-warm.C
	req0, val0, read0, bad0 := totalRequests(m), values.Load(), readings.Load(), bad.Load()
	cpu0, wall0 := cpuTime(), time.Now()
	end := time.NewTimer(measure)
	<-end.C
	wall := time.Since(wall0).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	req, val, read := totalRequests(m)-req0, values.Load()-val0, readings.Load()-read0
	rss, hwm := procStatus("VmRSS"), procStatus("VmHWM")
	var maxLat, sumLat time.Duration
	for _, s := range m.Stats() {
		maxLat = max(maxLat, s.MaxLatency)
		sumLat += s.AvgLatency
	}
	t.Logf("devices=%d links=%d poll=%v measured=%.1fs", n, len(m.links), poll, wall)
	t.Logf("requests/s=%.0f points/s=%.0f polls/s=%.0f failed_polls=%d", float64(req)/wall, float64(val)/wall,
		float64(read)/wall, bad.Load()-bad0)
	t.Logf("cpu=%.1f%% of one core (%.1f us per request) rss=%s peak_rss=%s", 100*cpu/wall,
		1e6*cpu/float64(max(req, 1)), rss, hwm)
	t.Logf("poll latency avg=%v max=%v", sumLat/time.Duration(n), maxLat)
	if read == 0 || val == 0 {
		t.Fatalf("no readings in %v", measure)
	}
}

// loadBaseline is the floor to compare with: the library alone, one client
// and goroutine per device, reading the 3 blocks on a ticker, decoding
// nothing.
func loadBaseline(t *testing.T, devs []configs.Device, poll, measure time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var reqs atomic.Int64
	var wg sync.WaitGroup
	for _, d := range devs {
		c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: d.Modbus.URL, Timeout: time.Second,
			Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Open(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer c.Close()
			tick := time.NewTicker(poll)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				_, e1 := c.ReadRegisters(0, 8, modbus.HOLDING_REGISTER)
				_, e2 := c.ReadRegisters(100, 10, modbus.INPUT_REGISTER)
				_, e3 := c.ReadDiscreteInputs(0, 8)
				if e1 == nil && e2 == nil && e3 == nil {
					reqs.Add(3)
				}
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	warm := time.NewTimer(3 * time.Second)
	<-warm.C
	r0, cpu0, wall0 := reqs.Load(), cpuTime(), time.Now()
	end := time.NewTimer(measure)
	<-end.C
	wall, cpu, req := time.Since(wall0).Seconds(), (cpuTime() - cpu0).Seconds(), reqs.Load()-r0
	t.Logf("BASELINE library only: devices=%d requests/s=%.0f cpu=%.1f%% of one core (%.1f us per request) rss=%s",
		len(devs), float64(req)/wall, 100*cpu/wall, 1e6*cpu/float64(max(req, 1)), procStatus("VmRSS"))
}

// loadProfile is 20 points in 3 contiguous blocks.
func loadProfile() *configs.Profile {
	p := &configs.Profile{Kind: configs.KindDoor, Name: "load"}
	add := func(table configs.Table, addr uint16, typ configs.Type) {
		p.Points = append(p.Points, configs.Point{Name: fmt.Sprintf("%s_%d", table, addr), Table: table, Address: addr, Type: typ})
	}
	for a := uint16(0); a < 4; a++ {
		add(configs.TableHolding, a, configs.TypeUint16)
	}
	add(configs.TableHolding, 4, configs.TypeUint32)
	add(configs.TableHolding, 6, configs.TypeUint32)
	add(configs.TableInput, 100, configs.TypeInt16)
	add(configs.TableInput, 101, configs.TypeInt16)
	add(configs.TableInput, 102, configs.TypeFloat32)
	add(configs.TableInput, 104, configs.TypeFloat32)
	add(configs.TableInput, 106, configs.TypeUint32)
	add(configs.TableInput, 108, configs.TypeUint32)
	for a := uint16(0); a < 8; a++ {
		add(configs.TableDiscreteInput, a, configs.TypeBool)
	}
	return p
}

func totalRequests(m *Manager) int64 {
	var n int64
	for _, s := range m.Stats() {
		n += int64(s.Requests)
	}
	return n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func procStatus(key string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}

// startLoadServers runs TestLoadServer in a child process and returns the
// addresses it listens on.
func startLoadServers(t *testing.T, n int) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EDGE_LOAD_SERVE="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "ADDRS "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return strings.Split(line, ",")
		}
	}
	t.Fatalf("load server child gave no addresses: %v", sc.Err())
	return nil
}

// TestLoadServer is the child process of TestLoad: EDGE_LOAD_SERVE servers
// on loopback, serving the load profile, until its stdin closes.
func TestLoadServer(t *testing.T) {
	n := testbed.EnvInt(t, "EDGE_LOAD_SERVE", 0)
	if n == 0 {
		t.Skip("child process of TestLoad")
	}
	h := &constHandler{}
	var addrs []string
	for range n {
		var srv *modbus.ModbusServer
		var addr string
		var err error
		for range 5 {
			addr = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
			srv, err = modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, MaxClients: 4,
				Logger: log.New(io.Discard, "", 0)}, h)
			if err == nil {
				if err = srv.Start(); err == nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		addrs = append(addrs, addr)
	}
	fmt.Println("ADDRS " + strings.Join(addrs, ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// constHandler answers every read with register i = address i.
type constHandler struct{}

func (constHandler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	return make([]bool, req.Quantity), nil
}

func (constHandler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	out := make([]bool, req.Quantity)
	for i := range out {
		out[i] = i%2 == 0
	}
	return out, nil
}

func (constHandler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	out := make([]uint16, req.Quantity)
	for i := range out {
		out[i] = req.Addr + uint16(i)
	}
	return out, nil
}

func (constHandler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	out := make([]uint16, req.Quantity)
	for i := range out {
		out[i] = req.Addr + uint16(i)
	}
	return out, nil
}
