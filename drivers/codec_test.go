package drivers

import (
	"errors"
	"math"
	"testing"

	"github.com/jusha-ean/edge/configs"
)

func bitp(b int) *int { return &b }

func TestDecode(t *testing.T) {
	f32 := math.Float32bits(-12.5)
	tests := []struct {
		name string
		p    configs.Point
		regs []uint16
		want Value
	}{
		{"bool register", configs.Point{Type: configs.TypeBool}, []uint16{7}, BoolValue(true)},
		{"bool register zero", configs.Point{Type: configs.TypeBool}, []uint16{0}, BoolValue(false)},
		{"bit 2 set", configs.Point{Type: configs.TypeBool, Bit: bitp(2)}, []uint16{0b100}, BoolValue(true)},
		{"bit 2 clear", configs.Point{Type: configs.TypeBool, Bit: bitp(2)}, []uint16{0b1011}, BoolValue(false)},
		{"bit 15", configs.Point{Type: configs.TypeBool, Bit: bitp(15)}, []uint16{0x8000}, BoolValue(true)},
		{"int16 negative", configs.Point{Type: configs.TypeInt16}, []uint16{0xfffe}, Value{Type: configs.TypeInt16, Int: -2, Uint: math.MaxUint64 - 1, Num: -2}},
		{"int16 scaled", configs.Point{Type: configs.TypeInt16, Scale: 0.01}, []uint16{1234}, Value{Type: configs.TypeInt16, Int: 1234, Uint: 1234, Num: 12.34}},
		{"uint16 offset", configs.Point{Type: configs.TypeUint16, Scale: 2, Offset: -10}, []uint16{100}, Value{Type: configs.TypeUint16, Int: 100, Uint: 100, Num: 190}},
		{"uint16 little bytes", configs.Point{Type: configs.TypeUint16, ByteOrder: configs.OrderLittle}, []uint16{0x3412}, Value{Type: configs.TypeUint16, Int: 0x1234, Uint: 0x1234, Num: 0x1234}},
		{"uint32 big", configs.Point{Type: configs.TypeUint32}, []uint16{0x0001, 0x0002}, Value{Type: configs.TypeUint32, Int: 0x10002, Uint: 0x10002, Num: 0x10002}},
		{"uint32 little words", configs.Point{Type: configs.TypeUint32, WordOrder: configs.OrderLittle}, []uint16{0x0002, 0x0001}, Value{Type: configs.TypeUint32, Int: 0x10002, Uint: 0x10002, Num: 0x10002}},
		{"uint32 little words and bytes", configs.Point{Type: configs.TypeUint32, WordOrder: configs.OrderLittle, ByteOrder: configs.OrderLittle}, []uint16{0x0200, 0x0100}, Value{Type: configs.TypeUint32, Int: 0x10002, Uint: 0x10002, Num: 0x10002}},
		{"int32 negative", configs.Point{Type: configs.TypeInt32}, []uint16{0xffff, 0xfffd}, Value{Type: configs.TypeInt32, Int: -3, Uint: math.MaxUint64 - 2, Num: -3}},
		{"float32 big", configs.Point{Type: configs.TypeFloat32}, []uint16{uint16(f32 >> 16), uint16(f32)}, Value{Type: configs.TypeFloat32, Num: -12.5}},
		{"float32 little words", configs.Point{Type: configs.TypeFloat32, WordOrder: configs.OrderLittle}, []uint16{uint16(f32), uint16(f32 >> 16)}, Value{Type: configs.TypeFloat32, Num: -12.5}},
		{"int64", configs.Point{Type: configs.TypeInt64}, []uint16{0xffff, 0xffff, 0xffff, 0xff00}, Value{Type: configs.TypeInt64, Int: -256, Uint: math.MaxUint64 - 255, Num: -256}},
		{"uint64 max", configs.Point{Type: configs.TypeUint64}, []uint16{0xffff, 0xffff, 0xffff, 0xffff}, Value{Type: configs.TypeUint64, Int: -1, Uint: math.MaxUint64, Num: math.MaxUint64}},
		{"uint64 little words", configs.Point{Type: configs.TypeUint64, WordOrder: configs.OrderLittle}, []uint16{4, 3, 2, 1}, Value{Type: configs.TypeUint64, Int: 0x0001000200030004, Uint: 0x0001000200030004, Num: float64(0x0001000200030004)}},
		{"string padded", configs.Point{Type: configs.TypeString, Length: 3}, []uint16{'A'<<8 | 'B', 'C'<<8 | 0, 0}, Value{Type: configs.TypeString, Str: "ABC"}},
		{"string little bytes", configs.Point{Type: configs.TypeString, Length: 2, ByteOrder: configs.OrderLittle}, []uint16{'B'<<8 | 'A', 'D'<<8 | 'C'}, Value{Type: configs.TypeString, Str: "ABCD"}},
		{"uint16 array", configs.Point{Type: configs.TypeUint16, Count: 2}, []uint16{1, 2}, Value{Type: configs.TypeUint16, List: []Value{
			{Type: configs.TypeUint16, Int: 1, Uint: 1, Num: 1}, {Type: configs.TypeUint16, Int: 2, Uint: 2, Num: 2}}}},
		{"longer input ignored", configs.Point{Type: configs.TypeUint16}, []uint16{9, 10, 11}, Value{Type: configs.TypeUint16, Int: 9, Uint: 9, Num: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Name, tt.p.Table = "p", configs.TableHolding
			got, err := Decode(tt.p, tt.regs)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !valueEqual(got, tt.want) {
				t.Fatalf("Decode = %+v, want %+v", got, tt.want)
			}
			if tt.p.Type == configs.TypeBool || len(tt.regs) > Span(tt.p) {
				return
			}
			// Every decoded value encodes back to the same registers.
			back, err := Encode(tt.p, got)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			for i := range back {
				if back[i] != tt.regs[i] {
					t.Fatalf("Encode = %#x, want %#x", back, tt.regs)
				}
			}
		})
	}
}

func valueEqual(a, b Value) bool {
	if a.Type != b.Type || a.Int != b.Int || a.Uint != b.Uint || a.Str != b.Str || len(a.List) != len(b.List) {
		return false
	}
	if math.Abs(a.Num-b.Num) > 1e-9*math.Max(1, math.Abs(b.Num)) {
		return false
	}
	for i := range a.List {
		if !valueEqual(a.List[i], b.List[i]) {
			return false
		}
	}
	return true
}

func TestDecodeErrors(t *testing.T) {
	nan := math.Float32bits(float32(math.NaN()))
	tests := []struct {
		name string
		p    configs.Point
		regs []uint16
	}{
		{"empty", configs.Point{Type: configs.TypeUint16}, nil},
		{"short uint32", configs.Point{Type: configs.TypeUint32}, []uint16{1}},
		{"short uint64", configs.Point{Type: configs.TypeUint64}, []uint16{1, 2, 3}},
		{"short array", configs.Point{Type: configs.TypeUint16, Count: 3}, []uint16{1, 2}},
		{"short string", configs.Point{Type: configs.TypeString, Length: 4}, []uint16{1}},
		{"string without length", configs.Point{Type: configs.TypeString}, []uint16{1}},
		{"bit 16", configs.Point{Type: configs.TypeBool, Bit: bitp(16)}, []uint16{1}},
		{"bit on int", configs.Point{Type: configs.TypeUint16, Bit: bitp(1)}, []uint16{1}},
		{"unknown type", configs.Point{Type: "decimal"}, []uint16{1}},
		{"unknown order", configs.Point{Type: configs.TypeUint32, WordOrder: "middle"}, []uint16{1, 2}},
		{"NaN", configs.Point{Type: configs.TypeFloat32}, []uint16{uint16(nan >> 16), uint16(nan)}},
		{"past 65535", configs.Point{Type: configs.TypeUint32, Address: 65535}, []uint16{1, 2}},
		{"too long for one request", configs.Point{Type: configs.TypeString, Length: 126}, make([]uint16, 126)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Name = "p"
			if tt.p.Table == "" {
				tt.p.Table = configs.TableInput
			}
			if _, err := Decode(tt.p, tt.regs); !errors.Is(err, ErrCodec) {
				t.Fatalf("Decode err = %v, want ErrCodec", err)
			}
		})
	}
}

func TestDecodeBits(t *testing.T) {
	single := configs.Point{Name: "door_open", Table: configs.TableDiscreteInput, Type: configs.TypeBool}
	v, err := DecodeBits(single, []bool{true})
	if err != nil || !v.Bool() {
		t.Fatalf("DecodeBits = %+v, %v", v, err)
	}
	floors := configs.Point{Name: "floor_enable", Table: configs.TableCoil, Type: configs.TypeBool, Count: 3}
	v, err = DecodeBits(floors, []bool{true, false, true})
	if err != nil || len(v.List) != 3 || !v.List[0].Bool() || v.List[1].Bool() || !v.List[2].Bool() {
		t.Fatalf("DecodeBits array = %+v, %v", v, err)
	}
	for name, bits := range map[string][]bool{"empty": nil, "short array": {true}} {
		p := single
		if name == "short array" {
			p = floors
		}
		if _, err := DecodeBits(p, bits); !errors.Is(err, ErrCodec) {
			t.Errorf("%s: err = %v, want ErrCodec", name, err)
		}
	}
	if _, err := DecodeBits(configs.Point{Name: "x", Table: configs.TableCoil, Type: configs.TypeUint16}, []bool{true}); !errors.Is(err, ErrCodec) {
		t.Errorf("uint16 coil: err = %v, want ErrCodec", err)
	}
	if _, err := Decode(single, []uint16{1}); !errors.Is(err, ErrCodec) {
		t.Errorf("Decode of a bit table: err = %v, want ErrCodec", err)
	}
	got, err := EncodeBits(floors, Value{List: []Value{BoolValue(false), BoolValue(true), BoolValue(true)}})
	if err != nil || got[0] || !got[1] || !got[2] {
		t.Fatalf("EncodeBits = %v, %v", got, err)
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		p       configs.Point
		v       Value
		want    []uint16
		wantErr bool
	}{
		{"uint16 raw", configs.Point{Type: configs.TypeUint16, Scale: 10}, UintValue(7), []uint16{7}, false},
		{"uint16 engineering", configs.Point{Type: configs.TypeUint16, Scale: 0.1, Offset: 5}, FloatValue(6.5), []uint16{15}, false},
		{"int16 negative", configs.Point{Type: configs.TypeInt16}, IntValue(-2), []uint16{0xfffe}, false},
		{"int16 too big", configs.Point{Type: configs.TypeInt16}, IntValue(40000), nil, true},
		{"uint16 negative", configs.Point{Type: configs.TypeUint16}, IntValue(-1), nil, true},
		{"uint32 too big", configs.Point{Type: configs.TypeUint32}, UintValue(1 << 32), nil, true},
		{"uint32 little words", configs.Point{Type: configs.TypeUint32, WordOrder: configs.OrderLittle}, UintValue(0x10002), []uint16{2, 1}, false},
		{"int64 from uint too big", configs.Point{Type: configs.TypeInt64}, UintValue(math.MaxUint64), nil, true},
		{"float32", configs.Point{Type: configs.TypeFloat32}, FloatValue(1), []uint16{0x3f80, 0}, false},
		{"float32 overflow", configs.Point{Type: configs.TypeFloat32}, FloatValue(1e300), nil, true},
		{"engineering NaN", configs.Point{Type: configs.TypeInt32}, FloatValue(math.NaN()), nil, true},
		{"bool", configs.Point{Type: configs.TypeBool}, BoolValue(true), []uint16{1}, false},
		{"bit needs SetBit", configs.Point{Type: configs.TypeBool, Bit: bitp(3)}, BoolValue(true), nil, true},
		{"string", configs.Point{Type: configs.TypeString, Length: 2}, StringValue("abc"), []uint16{'a'<<8 | 'b', 'c' << 8}, false},
		{"string too long", configs.Point{Type: configs.TypeString, Length: 1}, StringValue("abc"), nil, true},
		{"array length", configs.Point{Type: configs.TypeUint16, Count: 2}, Value{List: []Value{UintValue(1)}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Name, tt.p.Table = "p", configs.TableHolding
			got, err := Encode(tt.p, tt.v)
			if tt.wantErr {
				if !errors.Is(err, ErrCodec) {
					t.Fatalf("Encode err = %v, want ErrCodec", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Encode = %#x, want %#x", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Encode = %#x, want %#x", got, tt.want)
				}
			}
		})
	}
	p := configs.Point{Name: "tamper", Table: configs.TableHolding, Type: configs.TypeBool, Bit: bitp(2)}
	if r, err := SetBit(p, 0b1001, true); err != nil || r != 0b1101 {
		t.Fatalf("SetBit = %b, %v", r, err)
	}
	if r, err := SetBit(p, 0b1101, false); err != nil || r != 0b1001 {
		t.Fatalf("SetBit clear = %b, %v", r, err)
	}
}
