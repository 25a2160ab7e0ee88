package web

import (
	"encoding/json"
	"testing"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

func TestPointValues(t *testing.T) {
	in := map[string]drivers.Value{
		"door_open":     drivers.BoolValue(true),
		"floor":         {Type: configs.TypeInt16, Num: -1, Int: -1},
		"battery_volts": {Type: configs.TypeInt16, Num: 12.34, Int: 1234},
		"vehicles":      {Type: configs.TypeUint64, Num: 1 << 53, Uint: 1<<53 + 1},
		"counter":       {Type: configs.TypeUint32, Num: 4000000000, Uint: 4000000000},
		"flow":          {Type: configs.TypeUint16, Num: 10.5, Uint: 105},
		"temp":          {Type: configs.TypeFloat32, Num: 21.5},
		"label":         {Type: configs.TypeString, Str: "A1"},
		"floor_enable": {Type: configs.TypeBool, List: []drivers.Value{
			drivers.BoolValue(true), drivers.BoolValue(false), drivers.BoolValue(true)}},
	}
	got := PointValues(in)
	want := map[string]any{
		"door_open":     true,
		"floor":         int64(-1),
		"battery_volts": 12.34,
		"vehicles":      uint64(1<<53 + 1), // exact, beyond float64's integers
		"flow":          10.5,
		"counter":       uint64(4000000000),
		"temp":          21.5,
		"label":         "A1",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if s := formatValue(got["floor_enable"]); s != "●○●" {
		t.Errorf("floor_enable shows %q", s)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("points do not encode as JSON: %v", err)
	}
}
