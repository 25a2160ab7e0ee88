package drivers

import (
	"fmt"
	"math"

	"github.com/jusha-ean/edge/configs"
)

// Request limits of the Modbus protocol.
const (
	maxRegisters = 125  // registers in one read
	maxBits      = 2000 // coils or discrete inputs in one read
)

// IntValue returns a signed integer Value; Encode writes it as the raw
// register value, before scale and offset.
func IntValue(i int64) Value {
	return Value{Type: configs.TypeInt64, Int: i, Uint: uint64(i), Num: float64(i)}
}

// UintValue returns an unsigned integer Value, written as the raw register
// value.
func UintValue(u uint64) Value {
	return Value{Type: configs.TypeUint64, Int: int64(u), Uint: u, Num: float64(u)}
}

// FloatValue returns an engineering value: Encode removes the point's offset
// and scale before writing it.
func FloatValue(f float64) Value { return Value{Type: configs.TypeFloat32, Num: f} }

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Type: configs.TypeString, Str: s} }

// Encode turns v into the registers of a holding-register point (Span(p) of
// them). Integer Values (IntValue, UintValue, or decoded integers) are
// written exactly as raw values; other Values are engineering values, so
// raw = (Num - offset) / scale. A bool inside a register (bit) cannot be
// encoded alone: use SetBit on the register read from the device.
func Encode(p configs.Point, v Value) ([]uint16, error) {
	if err := CheckPoint(p); err != nil {
		return nil, err
	}
	if p.Table.IsBits() {
		return nil, fmt.Errorf("%w: point %q: table %s holds bits: use EncodeBits", ErrCodec, p.Name, p.Table)
	}
	if p.Bit != nil {
		return nil, fmt.Errorf("%w: point %q: a bit needs the other bits of its register: use SetBit", ErrCodec, p.Name)
	}
	n := p.Registers()
	if p.Count <= 1 {
		out := make([]uint16, n)
		return out, encodeOne(p, v, out)
	}
	if len(v.List) != p.Count {
		return nil, fmt.Errorf("%w: point %q: want %d elements, got %d", ErrCodec, p.Name, p.Count, len(v.List))
	}
	out := make([]uint16, n*p.Count)
	for i, e := range v.List {
		if err := encodeOne(p, e, out[i*n:(i+1)*n]); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return out, nil
}

// EncodeBits turns v into the bits of a coil point: one bool, or Count of
// them from v.List.
func EncodeBits(p configs.Point, v Value) ([]bool, error) {
	if err := CheckPoint(p); err != nil {
		return nil, err
	}
	if !p.Table.IsBits() {
		return nil, fmt.Errorf("%w: point %q: table %s holds registers: use Encode", ErrCodec, p.Name, p.Table)
	}
	if p.Count <= 1 {
		return []bool{v.Bool()}, nil
	}
	if len(v.List) != p.Count {
		return nil, fmt.Errorf("%w: point %q: want %d elements, got %d", ErrCodec, p.Name, p.Count, len(v.List))
	}
	out := make([]bool, len(v.List))
	for i, e := range v.List {
		out[i] = e.Bool()
	}
	return out, nil
}

// SetBit returns reg with the point's bit set to b.
func SetBit(p configs.Point, reg uint16, b bool) (uint16, error) {
	if p.Bit == nil || *p.Bit < 0 || *p.Bit > 15 {
		return 0, fmt.Errorf("%w: point %q: no bit 0-15", ErrCodec, p.Name)
	}
	mask := uint16(1) << uint(*p.Bit)
	if b {
		return reg | mask, nil
	}
	return reg &^ mask, nil
}

func encodeOne(p configs.Point, v Value, out []uint16) error {
	little := p.ByteOrder == configs.OrderLittle
	var raw uint64
	switch p.Type {
	case configs.TypeString:
		if len(v.Str) > 2*len(out) {
			return fmt.Errorf("%w: point %q: string of %d bytes does not fit %d registers", ErrCodec, p.Name, len(v.Str), len(out))
		}
		for i := range out {
			var hi, lo byte
			if 2*i < len(v.Str) {
				hi = v.Str[2*i]
			}
			if 2*i+1 < len(v.Str) {
				lo = v.Str[2*i+1]
			}
			if little {
				hi, lo = lo, hi
			}
			out[i] = uint16(hi)<<8 | uint16(lo)
		}
		return nil
	case configs.TypeBool:
		if v.Bool() {
			raw = 1
		}
	case configs.TypeFloat32:
		f := engineeringToRaw(p, v.Num)
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxFloat32 {
			return fmt.Errorf("%w: point %q: %v does not fit a float32", ErrCodec, p.Name, v.Num)
		}
		raw = uint64(math.Float32bits(float32(f)))
	default:
		r, err := rawInteger(p, v)
		if err != nil {
			return err
		}
		raw = r
	}
	n := len(out)
	for i := range out {
		w := uint16(raw >> (16 * uint(n-1-i)))
		if little {
			w = w>>8 | w<<8
		}
		j := i
		if p.WordOrder == configs.OrderLittle {
			j = n - 1 - i
		}
		out[j] = w
	}
	return nil
}

func engineeringToRaw(p configs.Point, num float64) float64 {
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	return (num - p.Offset) / scale
}

// rawInteger returns the two's complement bits of v for an integer point,
// checking the type's range.
func rawInteger(p configs.Point, v Value) (uint64, error) {
	bits := 16 * p.Registers()
	signed := p.Type == configs.TypeInt16 || p.Type == configs.TypeInt32 || p.Type == configs.TypeInt64
	outOfRange := fmt.Errorf("%w: point %q: %s out of range for %s", ErrCodec, p.Name, v.Text(), p.Type)
	var isInt, isUint bool
	switch v.Type {
	case configs.TypeInt16, configs.TypeInt32, configs.TypeInt64:
		isInt = true
	case configs.TypeUint16, configs.TypeUint32, configs.TypeUint64:
		isUint = true
	}
	if !isInt && !isUint {
		f := math.Round(engineeringToRaw(p, v.Num))
		switch {
		case math.IsNaN(f):
			return 0, outOfRange
		case signed && (f < -math.Ldexp(1, bits-1) || f >= math.Ldexp(1, bits-1)):
			return 0, outOfRange
		case !signed && (f < 0 || f >= math.Ldexp(1, bits)):
			return 0, outOfRange
		case signed:
			isInt, v.Int = true, int64(f)
		default:
			isUint, v.Uint = true, uint64(f)
		}
	}
	if signed {
		i := v.Int
		if isUint {
			if v.Uint > math.MaxInt64 {
				return 0, outOfRange
			}
			i = int64(v.Uint)
		}
		if bits < 64 && (i < -(1<<(bits-1)) || i >= 1<<(bits-1)) {
			return 0, outOfRange
		}
		return uint64(i) & mask(bits), nil
	}
	u := v.Uint
	if isInt {
		if v.Int < 0 {
			return 0, outOfRange
		}
		u = uint64(v.Int)
	}
	if bits < 64 && u >= 1<<bits {
		return 0, outOfRange
	}
	return u, nil
}

func mask(bits int) uint64 {
	if bits >= 64 {
		return math.MaxUint64
	}
	return 1<<bits - 1
}
