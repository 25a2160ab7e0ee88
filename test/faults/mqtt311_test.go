package faults_test

import (
	"os"
	"testing"

	"github.com/jusha-ean/edge/configs"
)

// TestUplinkSpeaksMQTT311AfterRefusal: CONTRACT 5 says MQTT 3.1.1. When a
// broker drops the first handshake, every CONNECT the uplink sends after it
// must still be MQTT 3.1.1 (protocol "MQTT", level 4).
func TestUplinkSpeaksMQTT311AfterRefusal(t *testing.T) {
	knownBug(t, "sync/uplink/conn.go (*Uplink).connect does not call SetProtocolVersion(4): "+
		"after a failed 3.1.1 handshake paho retries at once with MQTT 3.1 (MQIsdp/3) and the gateway runs a 3.1 session")
	t.Parallel()
	fp := newFaultPort(t, "")
	s := newSite(t, siteOptions{kinds: []string{configs.KindDoor}, upstreamBroker: fp.URL()})
	fp.target = s.broker.Addr
	fp.resetFirst = 1
	fp.set(portForward)
	s.start()
	s.waitStarted()
	protos := fp.protocolsSeen()
	t.Logf("CONNECTs relayed: %v, connections accepted: %d", protos, len(fp.accepted()))
	for _, p := range protos {
		if p != "MQTT/4" {
			t.Errorf("the uplink connected with %s after one refused handshake, want MQTT/4 (3.1.1)", p)
		}
	}
}

// knownBug skips a test that shows a bug in another package, unless
// EDGE_KNOWN_BUGS=1 asks to see it fail.
func knownBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("EDGE_KNOWN_BUGS") != "1" {
		t.Skip("known bug (EDGE_KNOWN_BUGS=1 runs it): " + what)
	}
}
