package configs

import (
	"errors"
	"io/fs"
	"testing"
	"time"
)

func TestLoadExample(t *testing.T) {
	c, err := Load("edge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Prefix(); got != "jusha/v1/wannan/gw-01" {
		t.Errorf("Prefix() = %q", got)
	}
	if c.Upstream.ClientID != "jusha-edge-wannan-gw-01" {
		t.Errorf("client_id = %q", c.Upstream.ClientID)
	}
	for _, d := range c.Devices {
		if d.Resolved == nil || d.Resolved.Kind != d.Kind {
			t.Errorf("device %s: profile not resolved: %+v", d.ID, d.Resolved)
		}
	}
	lift, _ := c.Device("lift-a1")
	if lift.LowestFloor != -1 || lift.Modbus.UnitID != 2 || lift.Poll.D() != DefaultPoll {
		t.Errorf("lift: %+v", lift)
	}
	gate, _ := c.Device("gate-north")
	if gate.Modbus.UnitID != DefaultUnitID || *gate.Modbus.Retries != DefaultRetries || gate.Modbus.Timeout.D() != time.Second {
		t.Errorf("gate modbus defaults: %+v", gate.Modbus)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want fs.ErrNotExist, got %v", err)
	}
}
