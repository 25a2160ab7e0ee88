package faults_test

import (
	"testing"

	"github.com/jusha-ean/edge/configs"
)

// TestUplinkSpeaksMQTT311AfterRefusal: CONTRACT 5 says MQTT 3.1.1. When a
// broker drops the first handshake, every CONNECT the uplink sends after it
// must still be MQTT 3.1.1 (protocol "MQTT", level 4).
func TestUplinkSpeaksMQTT311AfterRefusal(t *testing.T) {
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
