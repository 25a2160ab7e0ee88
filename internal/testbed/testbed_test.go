package testbed

import (
	"net"
	"testing"
	"time"
)

func TestMosquittoStartsAndRestarts(t *testing.T) {
	b := Mosquitto(t, MosquittoOptions{})
	c, err := net.DialTimeout("tcp", b.Addr, time.Second)
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	c.Close()
	b.Stop()
	if _, err := net.DialTimeout("tcp", b.Addr, 200*time.Millisecond); err == nil {
		t.Fatal("broker still accepts after Stop")
	}
	b.Restart()
	c, err = net.DialTimeout("tcp", b.Addr, time.Second)
	if err != nil {
		t.Fatalf("dial restarted broker: %v", err)
	}
	c.Close()
}

func TestVictoriaMetricsHealthy(t *testing.T) {
	v := StartVictoriaMetrics(t)
	if err := HTTPReady(v.URL + "/health")(); err != nil {
		t.Fatal(err)
	}
}
