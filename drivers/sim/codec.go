package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// ErrRange is returned by Set for a value the point's type cannot hold.
var ErrRange = errors.New("value out of range for the point")

// scaled reports whether the point applies a scale or an offset, and returns
// the effective scale (0 in a profile means 1).
func scaled(p *configs.Point) (float64, bool) {
	s := p.Scale
	if s == 0 {
		s = 1
	}
	return s, s != 1 || p.Offset != 0
}

// put writes v into the point's registers or bits. Array points take
// v.List (at most Count elements, from the first).
func (im *image) put(p *configs.Point, v drivers.Value) error {
	if p.Elements() == 1 {
		return im.putElem(p, 0, v)
	}
	if len(v.List) == 0 || len(v.List) > p.Elements() {
		return fmt.Errorf("point %q: an array of %d wants 1-%d list elements, got %d", p.Name, p.Elements(), p.Elements(), len(v.List))
	}
	for i, e := range v.List {
		if err := im.putElem(p, i, e); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

// get decodes the point as the poller would: an array as List, a scalar as
// its typed fields with Num after scale and offset.
func (im *image) get(p *configs.Point) drivers.Value {
	if p.Elements() == 1 {
		return im.getElem(p, 0)
	}
	out := drivers.Value{Type: p.Type, List: make([]drivers.Value, p.Elements())}
	for i := range out.List {
		out.List[i] = im.getElem(p, i)
	}
	return out
}

func (im *image) putElem(p *configs.Point, i int, v drivers.Value) error {
	if p.Type == configs.TypeBool {
		im.putBool(p, i, v.Num != 0 || v.Int != 0 || v.Uint != 0)
		return nil
	}
	n := p.Registers()
	base := int(p.Address) + i*n
	regs := im.regs(p.Table)[base : base+n]
	if p.Type == configs.TypeString {
		if len(v.Str) > 2*n {
			return fmt.Errorf("point %q: %d bytes do not fit in %d registers: %w", p.Name, len(v.Str), n, ErrRange)
		}
		buf := make([]byte, 2*n)
		copy(buf, v.Str)
		for j := range regs {
			regs[j] = uint16(buf[2*j])<<8 | uint16(buf[2*j+1])
		}
		if p.ByteOrder == configs.OrderLittle {
			swapBytes(regs)
		}
		return nil
	}
	raw, err := rawOf(p, v)
	if err != nil {
		return fmt.Errorf("point %q: %w", p.Name, err)
	}
	for j := range regs {
		regs[j] = uint16(raw >> (16 * (n - 1 - j)))
	}
	if p.WordOrder == configs.OrderLittle {
		for a, b := 0, len(regs)-1; a < b; a, b = a+1, b-1 {
			regs[a], regs[b] = regs[b], regs[a]
		}
	}
	if p.ByteOrder == configs.OrderLittle {
		swapBytes(regs)
	}
	return nil
}

func swapBytes(regs []uint16) {
	for j, r := range regs {
		regs[j] = r<<8 | r>>8
	}
}

func (im *image) putBool(p *configs.Point, i int, b bool) {
	if p.Table.IsBits() {
		im.bits(p.Table)[int(p.Address)+i] = b
		return
	}
	regs := im.regs(p.Table)
	if p.Bit == nil {
		regs[int(p.Address)+i] = boolReg(b)
		return
	}
	a, mask := int(p.Address)+i, bitMask(p)
	if b {
		regs[a] |= mask
	} else {
		regs[a] &^= mask
	}
}

func boolReg(b bool) uint16 {
	if b {
		return 1
	}
	return 0
}

// rawOf turns v into the point's raw integer bits (two's complement for
// signed types, IEEE 754 for float32). As in the poller's encoder, an
// integer-typed Value is the raw register value, exactly; any other Value
// is an engineering value, raw = (Num - offset) / scale, rounded when the
// point is scaled and required to be whole when it is not.
func rawOf(p *configs.Point, v drivers.Value) (uint64, error) {
	scale, isScaled := scaled(p)
	if p.Type == configs.TypeFloat32 {
		f := v.Num
		if f == 0 {
			f = numOf(v)
		}
		f = (f - p.Offset) / scale
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxFloat32 {
			return 0, fmt.Errorf("%v does not fit a float32: %w", v.Num, ErrRange)
		}
		return uint64(math.Float32bits(float32(f))), nil
	}
	signed := p.Type == configs.TypeInt16 || p.Type == configs.TypeInt32 || p.Type == configs.TypeInt64
	bits := 16 * p.Registers()
	switch v.Type {
	case configs.TypeUint16, configs.TypeUint32, configs.TypeUint64:
		if signed && (bits == 64 && v.Uint > math.MaxInt64 || bits < 64 && v.Uint > 1<<(bits-1)-1) {
			return 0, ErrRange
		}
		if !signed && bits < 64 && v.Uint >= 1<<bits {
			return 0, ErrRange
		}
		return mask(v.Uint, bits), nil
	case configs.TypeInt16, configs.TypeInt32, configs.TypeInt64:
		if signed {
			if bits < 64 && (v.Int < -(1<<(bits-1)) || v.Int > 1<<(bits-1)-1) {
				return 0, ErrRange
			}
		} else if v.Int < 0 || bits < 64 && v.Int >= 1<<bits {
			return 0, ErrRange
		}
		return mask(uint64(v.Int), bits), nil
	}
	f := (v.Num - p.Offset) / scale
	if isScaled {
		f = math.Round(f)
	} else if f != math.Trunc(f) {
		return 0, fmt.Errorf("%v is not a whole number: %w", v.Num, ErrRange)
	}
	return fitFloat(f, signed, bits)
}

// numOf is the value of an untyped or integer Value as a float.
func numOf(v drivers.Value) float64 {
	switch v.Type {
	case configs.TypeUint16, configs.TypeUint32, configs.TypeUint64:
		return float64(v.Uint)
	case configs.TypeInt16, configs.TypeInt32, configs.TypeInt64:
		return float64(v.Int)
	}
	return v.Num
}

func fitFloat(f float64, signed bool, bits int) (uint64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, ErrRange
	}
	if signed {
		lo, hi := -math.Ldexp(1, bits-1), math.Ldexp(1, bits-1)
		if f < lo || f >= hi {
			return 0, ErrRange
		}
		return mask(uint64(int64(f)), bits), nil
	}
	if f < 0 || f >= math.Ldexp(1, bits) {
		return 0, ErrRange
	}
	return uint64(f), nil
}

func mask(u uint64, bits int) uint64 {
	if bits >= 64 {
		return u
	}
	return u & (1<<bits - 1)
}

func (im *image) getElem(p *configs.Point, i int) drivers.Value {
	if p.Type == configs.TypeBool {
		return drivers.BoolValue(im.getBool(p, i))
	}
	n := p.Registers()
	base := int(p.Address) + i*n
	regs := append([]uint16(nil), im.regs(p.Table)[base:base+n]...)
	if p.ByteOrder == configs.OrderLittle {
		swapBytes(regs)
	}
	if p.Type == configs.TypeString {
		buf := make([]byte, 0, 2*n)
		for _, r := range regs {
			buf = append(buf, byte(r>>8), byte(r))
		}
		// Padding goes; bytes that are not UTF-8 become U+FFFD, as the
		// poller decodes them.
		str := strings.ToValidUTF8(strings.TrimRight(string(buf), "\x00 "), "\uFFFD")
		return drivers.Value{Type: p.Type, Str: str}
	}
	if p.WordOrder == configs.OrderLittle {
		for a, b := 0, len(regs)-1; a < b; a, b = a+1, b-1 {
			regs[a], regs[b] = regs[b], regs[a]
		}
	}
	var raw uint64
	for _, r := range regs {
		raw = raw<<16 | uint64(r)
	}
	scale, _ := scaled(p)
	v := drivers.Value{Type: p.Type}
	switch p.Type {
	case configs.TypeFloat32:
		v.Num = float64(math.Float32frombits(uint32(raw)))*scale + p.Offset
		return v
	case configs.TypeInt16:
		v.Int = int64(int16(raw))
	case configs.TypeInt32:
		v.Int = int64(int32(raw))
	case configs.TypeInt64:
		v.Int = int64(raw)
	default:
		v.Int = int64(raw)
		v.Uint = raw
		v.Num = float64(raw)*scale + p.Offset
		return v
	}
	v.Uint = uint64(v.Int)
	v.Num = float64(v.Int)*scale + p.Offset
	return v
}

func (im *image) getBool(p *configs.Point, i int) bool {
	if p.Table.IsBits() {
		return im.bits(p.Table)[int(p.Address)+i]
	}
	regs := im.regs(p.Table)
	if p.Bit == nil {
		return regs[int(p.Address)+i] != 0
	}
	return regs[int(p.Address)+i]&bitMask(p) != 0
}

// bitMask selects a bit point's bit in its register. Bit numbers count in
// the register as the point's byte order reads it, so with little-endian
// bytes bit 0 is the low bit of the second byte on the wire.
func bitMask(p *configs.Point) uint16 {
	b := *p.Bit
	if p.ByteOrder == configs.OrderLittle {
		b = (b + 8) % 16
	}
	return 1 << b
}
