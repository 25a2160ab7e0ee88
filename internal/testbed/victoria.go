package testbed

import (
	"fmt"
	"testing"
	"time"
)

// VictoriaMetrics is a running test VictoriaMetrics; it accepts the InfluxDB
// v2 write API at URL.
type VictoriaMetrics struct {
	*Process
	URL     string
	t       testing.TB
	bin     string
	dataDir string
	port    int
}

// StartVictoriaMetrics starts VictoriaMetrics on a free loopback port with
// its data under a temporary dir.
func StartVictoriaMetrics(t testing.TB) *VictoriaMetrics {
	t.Helper()
	v := &VictoriaMetrics{t: t, bin: Need(t, "victoria-metrics"), dataDir: t.TempDir(), port: FreePort(t)}
	v.URL = fmt.Sprintf("http://127.0.0.1:%d", v.port)
	v.start()
	return v
}

// Restart starts it again on the same port and data after Stop.
func (v *VictoriaMetrics) Restart() { v.t.Helper(); v.start() }

func (v *VictoriaMetrics) start() {
	v.Process = Start(v.t, v.port, HTTPReady(v.URL+"/health"), 20*time.Second, v.bin,
		fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", v.port),
		"-storageDataPath="+v.dataDir, "-retentionPeriod=1d", "-search.latencyOffset=0s",
		"-loggerLevel=ERROR")
}
