package sim

import (
	"errors"
	"math"
	"testing"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

func bit(n int) *int { return &n }

// codecProfile has one point of every shape, in the holding table so that
// the test can check the raw registers.
func codecProfile() *configs.Profile {
	h := configs.TableHolding
	return &configs.Profile{Kind: KindDoor, Name: "codec", Points: []configs.Point{
		{Name: "door_open", Table: configs.TableDiscreteInput, Address: 0, Type: configs.TypeBool},
		{Name: "lock_released", Table: configs.TableDiscreteInput, Address: 1, Type: configs.TypeBool},
		{Name: "exit_request", Table: configs.TableDiscreteInput, Address: 2, Type: configs.TypeBool},
		{Name: "unlock", Table: configs.TableCoil, Address: 0, Type: configs.TypeBool, Writable: true},
		{Name: "coils", Table: configs.TableCoil, Address: 1, Type: configs.TypeBool, Count: 5},
		{Name: "credential_seq", Table: configs.TableInput, Address: 0, Type: configs.TypeUint16},
		{Name: "credential", Table: configs.TableInput, Address: 1, Type: configs.TypeString, Length: 5},
		{Name: "u16", Table: h, Address: 0, Type: configs.TypeUint16},
		{Name: "i16", Table: h, Address: 1, Type: configs.TypeInt16},
		{Name: "u32", Table: h, Address: 2, Type: configs.TypeUint32},
		{Name: "u32_lw", Table: h, Address: 4, Type: configs.TypeUint32, WordOrder: configs.OrderLittle},
		{Name: "u32_lb", Table: h, Address: 6, Type: configs.TypeUint32, ByteOrder: configs.OrderLittle},
		{Name: "i32", Table: h, Address: 8, Type: configs.TypeInt32},
		{Name: "f32", Table: h, Address: 10, Type: configs.TypeFloat32},
		{Name: "f32_lw", Table: h, Address: 12, Type: configs.TypeFloat32, WordOrder: configs.OrderLittle},
		{Name: "i64", Table: h, Address: 14, Type: configs.TypeInt64},
		{Name: "u64_lw", Table: h, Address: 18, Type: configs.TypeUint64, WordOrder: configs.OrderLittle},
		{Name: "str", Table: h, Address: 22, Type: configs.TypeString, Length: 3},
		{Name: "str_lb", Table: h, Address: 25, Type: configs.TypeString, Length: 2, ByteOrder: configs.OrderLittle},
		{Name: "temp", Table: h, Address: 27, Type: configs.TypeInt16, Scale: 0.1, Offset: -40},
		{Name: "b0", Table: h, Address: 28, Type: configs.TypeBool, Bit: bit(0)},
		{Name: "b15", Table: h, Address: 28, Type: configs.TypeBool, Bit: bit(15)},
		{Name: "arr", Table: h, Address: 29, Type: configs.TypeUint16, Count: 3},
		{Name: "flag", Table: h, Address: 32, Type: configs.TypeBool},
		{Name: "bits", Table: h, Address: 33, Type: configs.TypeBool, Bit: bit(14), Count: 4},
		{Name: "bit_lb", Table: h, Address: 37, Type: configs.TypeBool, Bit: bit(1), ByteOrder: configs.OrderLittle},
		{Name: "amps", Table: h, Address: 38, Type: configs.TypeUint32, Scale: 0.001},
	}}
}

func typed(t configs.Type, n int64) drivers.Value {
	return drivers.Value{Type: t, Int: n, Uint: uint64(n), Num: float64(n)}
}

func list(vs ...drivers.Value) drivers.Value { return drivers.Value{List: vs} }

func TestSetGetRoundTrip(t *testing.T) {
	tests := []struct {
		point string
		in    drivers.Value
		// regs are the holding registers from the point's address.
		regs []uint16
		// check the decoded value.
		want func(v drivers.Value) bool
	}{
		{"u16", Number(65535), []uint16{0xffff}, func(v drivers.Value) bool { return v.Uint == 65535 && v.Num == 65535 }},
		{"i16", typed(configs.TypeInt64, -2), []uint16{0xfffe}, func(v drivers.Value) bool { return v.Int == -2 && v.Num == -2 }},
		{"u32", typed(configs.TypeUint32, 0x12345678), []uint16{0x1234, 0x5678}, func(v drivers.Value) bool { return v.Uint == 0x12345678 }},
		{"u32_lw", typed(configs.TypeUint32, 0x12345678), []uint16{0x5678, 0x1234}, func(v drivers.Value) bool { return v.Uint == 0x12345678 }},
		{"u32_lb", typed(configs.TypeUint32, 0x12345678), []uint16{0x3412, 0x7856}, func(v drivers.Value) bool { return v.Uint == 0x12345678 }},
		{"i32", Number(-100000), []uint16{0xfffe, 0x7960}, func(v drivers.Value) bool { return v.Int == -100000 }},
		{"f32", Number(1.5), []uint16{0x3fc0, 0x0000}, func(v drivers.Value) bool { return v.Num == 1.5 }},
		{"f32_lw", Number(-2.25), []uint16{0x0000, 0xc010}, func(v drivers.Value) bool { return v.Num == -2.25 }},
		{"i64", typed(configs.TypeInt64, math.MinInt64), []uint16{0x8000, 0, 0, 0}, func(v drivers.Value) bool { return v.Int == math.MinInt64 }},
		{"u64_lw", drivers.Value{Type: configs.TypeUint64, Uint: math.MaxUint64 - 1}, []uint16{0xfffe, 0xffff, 0xffff, 0xffff},
			func(v drivers.Value) bool { return v.Uint == math.MaxUint64-1 }},
		{"str", drivers.Value{Str: "QR-88"}, []uint16{0x5152, 0x2d38, 0x3800}, func(v drivers.Value) bool { return v.Str == "QR-88" }},
		{"str_lb", drivers.Value{Str: "abcd"}, []uint16{0x6261, 0x6463}, func(v drivers.Value) bool { return v.Str == "abcd" }},
		{"temp", Number(21.5), []uint16{615}, func(v drivers.Value) bool { return math.Abs(v.Num-21.5) < 1e-9 && v.Int == 615 }},
		{"temp", typed(configs.TypeInt16, 600), []uint16{600}, func(v drivers.Value) bool { return v.Num == 20 }},
		{"b15", drivers.BoolValue(true), []uint16{0x8000}, func(v drivers.Value) bool { return v.Bool() }},
		{"arr", list(Number(1), Number(2), Number(3)), []uint16{1, 2, 3},
			func(v drivers.Value) bool { return len(v.List) == 3 && v.List[2].Uint == 3 }},
		{"flag", drivers.BoolValue(true), []uint16{1}, func(v drivers.Value) bool { return v.Bool() }},
		{"bit_lb", drivers.BoolValue(true), []uint16{0x0200}, func(v drivers.Value) bool { return v.Bool() }},
		{"bits", list(drivers.BoolValue(false), drivers.BoolValue(true), drivers.BoolValue(true)), []uint16{0, 0x4000, 0x4000, 0},
			func(v drivers.Value) bool {
				return len(v.List) == 4 && !v.List[0].Bool() && v.List[1].Bool() && v.List[2].Bool() && !v.List[3].Bool()
			}},
		{"amps", Number(70000.5), []uint16{0x042c, 0x1f74}, func(v drivers.Value) bool { return math.Abs(v.Num-70000.5) < 1e-6 }},
	}
	s, err := New(KindDoor, codecProfile(), 1)
	must(t, err)
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			must(t, s.Set(tt.point, tt.in))
			p := s.points[tt.point]
			regs, err := s.regsRequest(configs.TableHolding, p.Address, uint16(len(tt.regs)), false, nil)
			must(t, err)
			if !equal(regs, tt.regs) {
				t.Errorf("registers = %#04x, want %#04x", regs, tt.regs)
			}
			v, err := s.Get(tt.point)
			must(t, err)
			if v.Type != p.Type || !tt.want(v) {
				t.Errorf("Get = %+v", v)
			}
		})
	}
	// Bits share their register with their neighbours.
	must(t, s.Set("b0", drivers.BoolValue(true)))
	if v, _ := s.Get("b15"); !v.Bool() {
		t.Error("setting bit 0 cleared bit 15")
	}
}

func TestSetCoilArrayAndString(t *testing.T) {
	s, err := New(KindDoor, codecProfile(), 1)
	must(t, err)
	must(t, s.Set("coils", list(drivers.BoolValue(true), drivers.BoolValue(false), drivers.BoolValue(true))))
	bits, err := s.bitsRequest(configs.TableCoil, 0, 6, false, nil)
	must(t, err)
	if want := []bool{false, true, false, true, false, false}; !equal(bits, want) {
		t.Fatalf("coils = %v, want %v", bits, want)
	}
	must(t, s.Present("QR:ab9"))
	if v, _ := s.Get("credential"); v.Str != "QR:ab9" {
		t.Fatalf("string credential = %q", v.Str)
	}
}

func TestSetRejects(t *testing.T) {
	tests := []struct {
		point string
		in    drivers.Value
		want  error
	}{
		{"u16", Number(65536), ErrRange},
		{"u16", Number(-1), ErrRange},
		{"u16", Number(1.5), ErrRange},
		{"i16", typed(configs.TypeInt64, 40000), ErrRange},
		{"i16", drivers.Value{Type: configs.TypeUint64, Uint: 1 << 15}, ErrRange},
		{"u32", typed(configs.TypeInt64, -1), ErrRange},
		{"i64", drivers.Value{Type: configs.TypeUint64, Uint: math.MaxUint64}, ErrRange},
		{"temp", Number(10000), ErrRange},
		{"f32", Number(math.Inf(1)), ErrRange},
		{"f32", Number(1e39), ErrRange},
		{"str", drivers.Value{Str: "seven77"}, ErrRange},
		{"nope", Number(1), ErrUnknownPoint},
	}
	s, err := New(KindDoor, codecProfile(), 1)
	must(t, err)
	for _, tt := range tests {
		if err := s.Set(tt.point, tt.in); !errors.Is(err, tt.want) {
			t.Errorf("Set(%s, %+v) = %v, want %v", tt.point, tt.in, err, tt.want)
		}
	}
	if err := s.Set("arr", Number(1)); err == nil {
		t.Error("array point accepted a scalar")
	}
	if _, err := s.Get("nope"); !errors.Is(err, ErrUnknownPoint) {
		t.Errorf("Get unknown point: %v", err)
	}
}

func TestNewRejectsBadProfiles(t *testing.T) {
	base := loadProfile(t, KindDoor)
	tests := []struct {
		name string
		edit func(p *configs.Profile)
	}{
		{"missing required point", func(p *configs.Profile) { p.Points = p.Points[1:] }},
		{"duplicate point", func(p *configs.Profile) { p.Points = append(p.Points, p.Points[0]) }},
		{"int in a bit table", func(p *configs.Profile) { p.Points[0].Type = configs.TypeUint16 }},
		{"bit out of range", func(p *configs.Profile) { p.Points[len(p.Points)-1].Bit = bit(16) }},
		{"string without length", func(p *configs.Profile) { p.Points[6].Type = configs.TypeString }},
		{"past the end", func(p *configs.Profile) { p.Points[7].Address = 65535 }},
		{"unknown table", func(p *configs.Profile) { p.Points[0].Table = "eeprom" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := *base
			p.Points = append([]configs.Point(nil), base.Points...)
			tt.edit(&p)
			if _, err := New(KindDoor, &p, 1); err == nil {
				t.Fatal("New accepted the profile")
			}
		})
	}
	if _, err := New("turnstile", base, 1); err == nil {
		t.Fatal("New accepted an unknown kind")
	}
	for _, kind := range []string{KindDoor, KindElevator, KindGate} {
		if _, err := New(kind, loadProfile(t, kind), 1); err != nil {
			t.Errorf("built-in %s profile: %v", kind, err)
		}
	}
}
