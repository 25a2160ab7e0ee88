package drivers

import (
	"strconv"
	"time"

	"github.com/jusha-ean/edge/configs"
)

// Quality tells how far a reading's values can be trusted.
type Quality uint8

// Qualities.
const (
	// Good values were read in this poll.
	Good Quality = iota
	// Stale values are the last good ones; this poll failed.
	Stale
	// Bad means no value was ever read.
	Bad
)

func (q Quality) String() string {
	switch q {
	case Good:
		return "good"
	case Stale:
		return "stale"
	default:
		return "bad"
	}
}

// Reading is the result of one poll of one device.
type Reading struct {
	Device  string
	Kind    string
	Time    time.Time // when the values were read (or the poll failed)
	Quality Quality
	// Online is the driver's view: false after OfflineAfter failed polls.
	Online  bool
	Err     error
	Latency time.Duration
	// Values maps point names to values. Readings of a device share one
	// map while its values do not change: never modify it.
	Values map[string]Value
}

// Value is one decoded point.
type Value struct {
	Type configs.Type
	// Num is the numeric value after scale and offset; bools are 0 or 1.
	Num float64
	// Int holds integer types exactly, before scale and offset
	// (uint64 values above MaxInt64 wrap; use Uint).
	Int  int64
	Uint uint64
	Str  string
	// List holds the elements of an array point (count > 1).
	List []Value
}

// Bool reports whether the value is non-zero.
func (v Value) Bool() bool { return v.Num != 0 }

// Text is the value as a credential reader meant it: a string as it is, an
// integer as its decimal digits.
func (v Value) Text() string {
	switch v.Type {
	case configs.TypeString:
		return v.Str
	case configs.TypeUint16, configs.TypeUint32, configs.TypeUint64:
		return strconv.FormatUint(v.Uint, 10)
	case configs.TypeInt16, configs.TypeInt32, configs.TypeInt64:
		return strconv.FormatInt(v.Int, 10)
	case configs.TypeBool:
		if v.Bool() {
			return "1"
		}
		return "0"
	default:
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	}
}

// BoolValue returns a bool Value.
func BoolValue(b bool) Value {
	if b {
		return Value{Type: configs.TypeBool, Num: 1, Int: 1, Uint: 1}
	}
	return Value{Type: configs.TypeBool}
}

// Get returns the named value and whether the reading has it.
func (r Reading) Get(name string) (Value, bool) {
	v, ok := r.Values[name]
	return v, ok
}

// Bool returns the named point as a bool; absent points are false.
func (r Reading) Bool(name string) bool { return r.Values[name].Num != 0 }

// Num returns the named point's number; absent points are 0.
func (r Reading) Num(name string) float64 { return r.Values[name].Num }
