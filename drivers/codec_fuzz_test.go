package drivers

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/jusha-ean/edge/configs"
)

var fuzzTypes = []configs.Type{
	configs.TypeBool, configs.TypeInt16, configs.TypeUint16, configs.TypeInt32, configs.TypeUint32,
	configs.TypeFloat32, configs.TypeInt64, configs.TypeUint64, configs.TypeString, "bogus",
}

// FuzzDecode feeds arbitrary register bytes and point shapes to the codec:
// it must return a value or an ErrCodec error, never panic, and a decoded
// value must encode back to registers that decode to the same value.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(4), uint8(0), uint8(0), int8(-1), uint8(0), uint8(0), []byte{0, 1, 0, 2})
	f.Add(uint8(8), uint8(1), uint8(1), int8(-1), uint8(0), uint8(2), []byte{0xff, 0xff, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(uint8(0), uint8(0), uint8(0), int8(3), uint8(0), uint8(0), []byte{0, 8})
	f.Add(uint8(5), uint8(0), uint8(0), int8(-1), uint8(0), uint8(0), []byte{0x7f, 0xc0, 0, 0})
	f.Fuzz(func(t *testing.T, typ, wordOrder, byteOrder uint8, bit int8, length, count uint8, data []byte) {
		p := configs.Point{Name: "p", Table: configs.TableHolding, Type: fuzzTypes[int(typ)%len(fuzzTypes)],
			Length: int(length % 8), Count: int(count % 5)}
		if wordOrder%2 == 1 {
			p.WordOrder = configs.OrderLittle
		}
		if byteOrder%2 == 1 {
			p.ByteOrder = configs.OrderLittle
		}
		if bit >= 0 {
			b := int(bit % 20)
			p.Bit = &b
		}
		regs := make([]uint16, len(data)/2)
		for i := range regs {
			regs[i] = binary.BigEndian.Uint16(data[2*i:])
		}
		v, err := Decode(p, regs)
		if err != nil {
			if !errors.Is(err, ErrCodec) {
				t.Fatalf("Decode error %v does not wrap ErrCodec", err)
			}
			return
		}
		if p.Type == configs.TypeBool || p.Type == configs.TypeString {
			return // bools and trimmed strings do not keep every raw bit
		}
		back, err := Encode(p, v)
		if err != nil {
			t.Fatalf("Encode of decoded %+v: %v", v, err)
		}
		again, err := Decode(p, back)
		if err != nil || !valueEqual(again, v) {
			t.Fatalf("round trip: %+v -> %#x -> %+v, %v", v, back, again, err)
		}
	})
}
