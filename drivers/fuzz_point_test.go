package drivers_test

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// FuzzDecode (codec_fuzz_test.go) covers the register types on the holding
// table with small lengths and counts. These targets cover the rest of a
// point's shape: every table, scale and offset, lengths and counts of any
// size (a profile is outside input too), and the bit tables.

var pointTypes = []configs.Type{
	configs.TypeBool, configs.TypeInt16, configs.TypeUint16, configs.TypeInt32, configs.TypeUint32,
	configs.TypeFloat32, configs.TypeInt64, configs.TypeUint64, configs.TypeString, "bogus", "",
}

var pointTables = []configs.Table{
	configs.TableHolding, configs.TableInput, configs.TableCoil, configs.TableDiscreteInput, "bogus",
}

// fuzzPoint builds a point of any shape from fuzzer values.
func fuzzPoint(table, typ, orders uint8, bit int16, length, count int64, address uint16, scale, offset float64) configs.Point {
	p := configs.Point{Name: "p", Table: pointTables[int(table)%len(pointTables)],
		Type: pointTypes[int(typ)%len(pointTypes)], Address: address,
		Length: int(length), Count: int(count), Scale: scale, Offset: offset}
	switch orders % 3 {
	case 1:
		p.WordOrder = configs.OrderLittle
	case 2:
		p.WordOrder = "middle"
	}
	switch orders / 3 % 3 {
	case 1:
		p.ByteOrder = configs.OrderLittle
	case 2:
		p.ByteOrder = "BIG"
	}
	if bit != -1 {
		b := int(bit)
		p.Bit = &b
	}
	return p
}

// FuzzDecodePoint decodes raw registers of any length into a point of any
// shape. It must give a value or an error wrapping ErrCodec, never panic;
// a point CheckPoint accepts with at least Span registers decodes (floats
// that are not numbers aside) into a value of the point's type and count.
func FuzzDecodePoint(f *testing.F) {
	f.Add(uint8(1), uint8(4), uint8(0), int16(-1), int64(0), int64(0), uint16(0), 0.01, 0.0, []byte{0, 1, 0, 2})
	f.Add(uint8(0), uint8(8), uint8(4), int16(-1), int64(4), int64(2), uint16(100), 0.0, 0.0, []byte("HELLO WORLD\x00\x00 \xff\xfe\x00"))
	f.Add(uint8(0), uint8(0), uint8(0), int16(15), int64(0), int64(18), uint16(0), 0.0, 0.0, make([]byte, 36))
	f.Add(uint8(1), uint8(5), uint8(1), int16(-1), int64(0), int64(3), uint16(65534), 2.5, -40.0, []byte{0x7f, 0xc0, 0, 0, 0x41, 0x20, 0, 0})
	f.Add(uint8(0), uint8(7), uint8(8), int16(-1), int64(0), int64(31), uint16(0), 1.0, 0.0, make([]byte, 248))
	f.Add(uint8(1), uint8(6), uint8(2), int16(3), int64(-1), int64(-1), uint16(7), math.Inf(1), math.NaN(), []byte{1})
	f.Add(uint8(4), uint8(9), uint8(5), int16(16), int64(1), int64(1), uint16(0), 0.0, 0.0, []byte{})
	f.Fuzz(func(t *testing.T, table, typ, orders uint8, bit int16, length, count int64, address uint16, scale, offset float64, data []byte) {
		p := fuzzPoint(table, typ, orders, bit, length, count, address, scale, offset)
		regs := make([]uint16, len(data)/2)
		for i := range regs {
			regs[i] = binary.BigEndian.Uint16(data[2*i:])
		}
		v, err := drivers.Decode(p, regs)
		checkErr := drivers.CheckPoint(p)
		if err != nil {
			if !errors.Is(err, drivers.ErrCodec) || !strings.Contains(err.Error(), `"p"`) {
				t.Fatalf("error %q does not wrap ErrCodec or name the point", err)
			}
			if checkErr == nil && !p.Table.IsBits() && len(regs) >= drivers.Span(p) && p.Type != configs.TypeFloat32 {
				t.Fatalf("point %+v with %d registers (span %d) refused: %v", p, len(regs), drivers.Span(p), err)
			}
			return
		}
		if checkErr != nil {
			t.Fatalf("Decode accepted a point CheckPoint refuses (%v)", checkErr)
		}
		if p.Table.IsBits() {
			t.Fatalf("Decode accepted a bit table %s", p.Table)
		}
		span := drivers.Span(p)
		if span < 1 || span > 125 || len(regs) < span || int(p.Address)+span > 1<<16 {
			t.Fatalf("decoded with span %d from %d registers at %d", span, len(regs), p.Address)
		}
		checkShape(t, p, v)
	})
}

// checkShape checks a decoded value against its point.
func checkShape(t *testing.T, p configs.Point, v drivers.Value) {
	t.Helper()
	elems := []drivers.Value{v}
	if p.Count > 1 {
		if len(v.List) != p.Count {
			t.Fatalf("count %d decoded into %d elements", p.Count, len(v.List))
		}
		elems = v.List
	}
	for _, e := range elems {
		if e.Type != p.Type {
			t.Fatalf("type %q decoded as %q", p.Type, e.Type)
		}
		switch p.Type {
		case configs.TypeString:
			if !utf8.ValidString(e.Str) || len(e.Str) > 6*p.Length {
				t.Fatalf("string of %d registers decoded to %q", p.Length, e.Str)
			}
		case configs.TypeBool:
			if e.Num != 0 && e.Num != 1 {
				t.Fatalf("bool decoded to %v", e.Num)
			}
		}
	}
}

// FuzzDecodeBits decodes coils and discrete inputs of any count from bit
// slices of any length: an error wrapping ErrCodec or a bool value (an
// array of Count bools), never a panic.
func FuzzDecodeBits(f *testing.F) {
	f.Add(uint8(2), int64(0), uint16(0), []byte{1})
	f.Add(uint8(2), int64(18), uint16(0), []byte{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(uint8(3), int64(18), uint16(0), []byte{1, 0})
	f.Add(uint8(3), int64(2001), uint16(0), []byte{1})
	f.Add(uint8(2), int64(4), uint16(65533), []byte{1, 1, 1, 1})
	f.Add(uint8(0), int64(1), uint16(0), []byte{1})
	f.Fuzz(func(t *testing.T, table uint8, count int64, address uint16, data []byte) {
		p := configs.Point{Name: "p", Table: pointTables[int(table)%len(pointTables)], Type: configs.TypeBool,
			Address: address, Count: int(count)}
		bits := make([]bool, len(data))
		for i, b := range data {
			bits[i] = b&1 == 1
		}
		v, err := drivers.DecodeBits(p, bits)
		if err != nil {
			if !errors.Is(err, drivers.ErrCodec) || !strings.Contains(err.Error(), `"p"`) {
				t.Fatalf("error %q does not wrap ErrCodec or name the point", err)
			}
			if drivers.CheckPoint(p) == nil && p.Table.IsBits() && len(bits) >= drivers.Span(p) {
				t.Fatalf("count %d with %d bits refused: %v", p.Count, len(bits), err)
			}
			return
		}
		if !p.Table.IsBits() || drivers.CheckPoint(p) != nil {
			t.Fatalf("DecodeBits accepted %+v", p)
		}
		if p.Count <= 1 {
			if v.Type != configs.TypeBool || v.Bool() != bits[0] {
				t.Fatalf("bit %v decoded as %+v", bits[0], v)
			}
			return
		}
		if len(v.List) != p.Count {
			t.Fatalf("count %d decoded into %d", p.Count, len(v.List))
		}
		for i, e := range v.List {
			if e.Bool() != bits[i] {
				t.Fatalf("bit %d: %v decoded as %v", i, bits[i], e.Bool())
			}
		}
	})
}
