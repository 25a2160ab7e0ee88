package configs

// Profile maps a device's Modbus registers to named points (CONTRACT section 3).
type Profile struct {
	Kind   string  `yaml:"kind"`
	Name   string  `yaml:"name"`
	Points []Point `yaml:"points"`

	// File is where the profile came from ("builtin/door" for built-ins).
	File string `yaml:"-"`
}

// Point is one named value in a device's register map.
type Point struct {
	Name    string `yaml:"name"`
	Table   Table  `yaml:"table"`
	Address uint16 `yaml:"address"`
	Type    Type   `yaml:"type"`
	// Bit selects one bit (0-15) of a register for a bool point. A loaded
	// profile has it set for every bool in a holding or input register.
	Bit       *int  `yaml:"bit"`
	WordOrder Order `yaml:"word_order"`
	ByteOrder Order `yaml:"byte_order"`
	// Scale and Offset: value = raw * Scale + Offset. A loaded profile has
	// Scale 1 where the file gives none; in a Point built in code, treat 0 as 1.
	Scale  float64 `yaml:"scale"`
	Offset float64 `yaml:"offset"`
	// Length is the number of registers of a string point.
	Length int `yaml:"length"`
	// Count > 1 makes the point an array of consecutive values.
	Count    int  `yaml:"count"`
	Writable bool `yaml:"writable"`
}

// Table is a Modbus data table.
type Table string

// The four Modbus tables.
const (
	TableCoil          Table = "coil"
	TableDiscreteInput Table = "discrete_input"
	TableHolding       Table = "holding"
	TableInput         Table = "input"
)

// IsBits reports whether the table holds single bits rather than registers.
func (t Table) IsBits() bool { return t == TableCoil || t == TableDiscreteInput }

// Type is a point's data type.
type Type string

// Point types.
const (
	TypeBool    Type = "bool"
	TypeInt16   Type = "int16"
	TypeUint16  Type = "uint16"
	TypeInt32   Type = "int32"
	TypeUint32  Type = "uint32"
	TypeFloat32 Type = "float32"
	TypeInt64   Type = "int64"
	TypeUint64  Type = "uint64"
	TypeString  Type = "string"
)

// Registers is the number of 16-bit registers one value of the type takes
// (strings: Length; bools in a register table: 1).
func (p Point) Registers() int {
	switch p.Type {
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64:
		return 4
	case TypeString:
		return p.Length
	default:
		return 1
	}
}

// Elements is the number of values of the point: Count, at least 1.
func (p Point) Elements() int {
	if p.Count > 1 {
		return p.Count
	}
	return 1
}

// Order is a word or byte order.
type Order string

// Orders. Empty means big.
const (
	OrderBig    Order = "big"
	OrderLittle Order = "little"
)

// Point returns the point with the given name.
func (p *Profile) Point(name string) (Point, bool) {
	for _, pt := range p.Points {
		if pt.Name == name {
			return pt, true
		}
	}
	return Point{}, false
}
