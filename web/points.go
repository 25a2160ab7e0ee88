package web

import (
	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// PointValues turns a reading's decoded values into the plain values
// DeviceStatus.Points holds: bool for bools, int64 or uint64 for unscaled
// integers, float64 for scaled numbers and floats, string for strings, and
// []any for array points such as floor_enable. A Devices adapter in the
// gateway calls it on each device's latest reading.
func PointValues(values map[string]drivers.Value) map[string]any {
	out := make(map[string]any, len(values))
	for name, v := range values {
		out[name] = pointValue(v)
	}
	return out
}

func pointValue(v drivers.Value) any {
	if len(v.List) > 0 {
		list := make([]any, len(v.List))
		for i, e := range v.List {
			list[i] = pointValue(e)
		}
		return list
	}
	switch v.Type {
	case configs.TypeBool:
		return v.Bool()
	case configs.TypeString:
		return v.Str
	case configs.TypeInt16, configs.TypeInt32, configs.TypeInt64:
		// Scale and offset make a number out of an integer register.
		if v.Num != float64(v.Int) {
			return v.Num
		}
		return v.Int
	case configs.TypeUint16, configs.TypeUint32, configs.TypeUint64:
		if v.Num != float64(v.Uint) {
			return v.Num
		}
		return v.Uint
	default:
		return v.Num
	}
}
