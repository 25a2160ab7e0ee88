package drivers

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jusha-ean/edge/configs"
)

// ErrCodec is wrapped by every decoding and encoding error, so callers can
// tell a bad value or a bad profile from a failed request.
var ErrCodec = errors.New("point codec")

// CheckPoint reports whether the codec can decode p: a known table and type,
// a bit in 0-15, a string length, orders big or little, and a span that one
// Modbus request can read.
func CheckPoint(p configs.Point) error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: point %q: %s", ErrCodec, p.Name, fmt.Sprintf(format, a...))
	}
	switch p.Table {
	case configs.TableCoil, configs.TableDiscreteInput:
		if p.Type != configs.TypeBool {
			return fail("table %s holds bits: type must be bool, not %q", p.Table, p.Type)
		}
		if p.Bit != nil {
			return fail("bit applies only to holding and input registers")
		}
	case configs.TableHolding, configs.TableInput:
	default:
		return fail("unknown table %q", p.Table)
	}
	switch p.Type {
	case configs.TypeBool, configs.TypeInt16, configs.TypeUint16, configs.TypeInt32, configs.TypeUint32,
		configs.TypeFloat32, configs.TypeInt64, configs.TypeUint64:
	case configs.TypeString:
		if p.Length <= 0 {
			return fail("a string needs a length in registers")
		}
	default:
		return fail("unknown type %q", p.Type)
	}
	if p.Bit != nil && (p.Type != configs.TypeBool || *p.Bit < 0 || *p.Bit > 15) {
		return fail("bit must be 0-15 on a bool point")
	}
	for _, o := range []configs.Order{p.WordOrder, p.ByteOrder} {
		if o != "" && o != configs.OrderBig && o != configs.OrderLittle {
			return fail("order %q: want big or little", o)
		}
	}
	if p.Count < 0 {
		return fail("count must not be negative")
	}
	// Bound count and length before Span multiplies them, so that a huge
	// count cannot overflow into a small span.
	if p.Count > 1<<16 || p.Length > 1<<16 {
		return fail("count %d or length %d runs past address 65535", p.Count, p.Length)
	}
	span, limit := Span(p), maxRegisters
	if p.Table.IsBits() {
		limit = maxBits
	}
	if span > limit {
		return fail("spans %d, more than one request can read (%d)", span, limit)
	}
	if int(p.Address)+span > 1<<16 {
		return fail("runs past address 65535")
	}
	return nil
}

// Span is the number of registers (or bits, in the bit tables) a point
// covers, array elements included.
func Span(p configs.Point) int {
	if p.Table.IsBits() {
		return p.Elements()
	}
	return p.Registers() * p.Elements()
}

// Decode turns the registers of a point (at least Span(p) of them, starting
// at its address) into a Value. Short input, a bad profile or a float that is
// not a number give an error wrapping ErrCodec, never a panic.
func Decode(p configs.Point, regs []uint16) (Value, error) {
	if err := CheckPoint(p); err != nil {
		return Value{}, err
	}
	return decodeChecked(p, regs)
}

// decodeChecked is Decode for a point CheckPoint accepted (the poller checks
// each point once, when the Manager is built).
func decodeChecked(p configs.Point, regs []uint16) (Value, error) {
	if p.Table.IsBits() {
		return Value{}, fmt.Errorf("%w: point %q: table %s holds bits: use DecodeBits", ErrCodec, p.Name, p.Table)
	}
	n := p.Registers()
	if len(regs) < n*p.Elements() {
		return Value{}, fmt.Errorf("%w: point %q: need %d registers, got %d", ErrCodec, p.Name, n*p.Elements(), len(regs))
	}
	if p.Count <= 1 {
		return decodeOne(p, regs[:n])
	}
	list := make([]Value, p.Count)
	for i := range list {
		v, err := decodeOne(p, regs[i*n:(i+1)*n])
		if err != nil {
			return Value{}, fmt.Errorf("element %d: %w", i, err)
		}
		list[i] = v
	}
	return Value{Type: p.Type, List: list}, nil
}

// DecodeBits turns the bits of a coil or discrete-input point (at least
// Span(p) of them) into a bool Value, or an array of them.
func DecodeBits(p configs.Point, bits []bool) (Value, error) {
	if err := CheckPoint(p); err != nil {
		return Value{}, err
	}
	return decodeBitsChecked(p, bits)
}

func decodeBitsChecked(p configs.Point, bits []bool) (Value, error) {
	if !p.Table.IsBits() {
		return Value{}, fmt.Errorf("%w: point %q: table %s holds registers: use Decode", ErrCodec, p.Name, p.Table)
	}
	if len(bits) < p.Elements() {
		return Value{}, fmt.Errorf("%w: point %q: need %d bits, got %d", ErrCodec, p.Name, p.Elements(), len(bits))
	}
	if p.Count <= 1 {
		return BoolValue(bits[0]), nil
	}
	list := make([]Value, p.Count)
	for i := range list {
		list[i] = BoolValue(bits[i])
	}
	return Value{Type: configs.TypeBool, List: list}, nil
}

func decodeOne(p configs.Point, regs []uint16) (Value, error) {
	little := p.ByteOrder == configs.OrderLittle
	word := func(i int) uint64 {
		if p.WordOrder == configs.OrderLittle {
			i = len(regs) - 1 - i
		}
		r := regs[i]
		if little {
			r = r>>8 | r<<8
		}
		return uint64(r)
	}
	var raw uint64
	if p.Type != configs.TypeString {
		for i := range regs {
			raw = raw<<16 | word(i)
		}
	}
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	v := Value{Type: p.Type}
	switch p.Type {
	case configs.TypeBool:
		b := raw != 0
		if p.Bit != nil {
			b = raw>>uint(*p.Bit)&1 == 1
		}
		return BoolValue(b), nil
	case configs.TypeInt16:
		v.Int = int64(int16(raw))
	case configs.TypeInt32:
		v.Int = int64(int32(raw))
	case configs.TypeInt64:
		v.Int = int64(raw)
	case configs.TypeUint16, configs.TypeUint32, configs.TypeUint64:
		v.Uint, v.Int = raw, int64(raw)
		v.Num = float64(raw)*scale + p.Offset
		return v, nil
	case configs.TypeFloat32:
		f := float64(math.Float32frombits(uint32(raw)))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Value{}, fmt.Errorf("%w: point %q: float is not a number (0x%08x)", ErrCodec, p.Name, raw)
		}
		v.Num = f*scale + p.Offset
		return v, nil
	case configs.TypeString:
		v.Str = decodeString(regs, little)
		return v, nil
	}
	v.Uint = uint64(v.Int)
	v.Num = float64(v.Int)*scale + p.Offset
	return v, nil
}

// decodeString reads two characters per register, high byte first unless
// little, and drops the NUL or space padding at the end.
func decodeString(regs []uint16, little bool) string {
	b := make([]byte, 0, 2*len(regs))
	for _, r := range regs {
		hi, lo := byte(r>>8), byte(r)
		if little {
			hi, lo = lo, hi
		}
		b = append(b, hi, lo)
	}
	s := strings.TrimRight(string(b), "\x00 ")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
