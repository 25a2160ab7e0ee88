package sim

import (
	"fmt"

	"github.com/jusha-ean/edge/configs"
)

// image is a controller's register memory: the four Modbus tables, each sized
// to the highest address the profile uses. Reads past the end are answered
// with "illegal data address", as a real controller does.
type image struct {
	coils    []bool
	discrete []bool
	holding  []uint16
	input    []uint16

	// mapped marks the addresses some point covers, per table, for strict mode.
	mappedBits map[configs.Table][]bool
	mappedRegs map[configs.Table][]bool
}

// extent returns the first address past the point and an error if the point
// cannot be laid out in its table.
func extent(p *configs.Point) (int, error) {
	n := p.Elements()
	switch {
	case p.Table.IsBits():
		if p.Type != configs.TypeBool {
			return 0, fmt.Errorf("point %q: table %s holds only bool points, not %s", p.Name, p.Table, p.Type)
		}
		if p.Bit != nil {
			return 0, fmt.Errorf("point %q: bit applies only to register tables", p.Name)
		}
	case p.Table == configs.TableHolding || p.Table == configs.TableInput:
		if p.Bit != nil {
			if p.Type != configs.TypeBool {
				return 0, fmt.Errorf("point %q: bit applies only to bool points", p.Name)
			}
			if *p.Bit < 0 || *p.Bit > 15 {
				return 0, fmt.Errorf("point %q: bit %d out of range 0-15", p.Name, *p.Bit)
			}
			// An array of bit points is one bit in each of consecutive
			// registers, as the poller's codec reads it.
			return int(p.Address) + n, nil
		}
		if p.Type == configs.TypeString && p.Length <= 0 {
			return 0, fmt.Errorf("point %q: string needs a length in registers", p.Name)
		}
		if !knownType(p.Type) {
			return 0, fmt.Errorf("point %q: unknown type %q", p.Name, p.Type)
		}
		n *= p.Registers()
	default:
		return 0, fmt.Errorf("point %q: unknown table %q", p.Name, p.Table)
	}
	return int(p.Address) + n, nil
}

func knownType(t configs.Type) bool {
	switch t {
	case configs.TypeBool, configs.TypeInt16, configs.TypeUint16, configs.TypeInt32, configs.TypeUint32,
		configs.TypeFloat32, configs.TypeInt64, configs.TypeUint64, configs.TypeString:
		return true
	}
	return false
}

// newImage lays out every point of the profile and checks that each fits in
// the 65,536 addresses of its table.
func newImage(points []configs.Point) (*image, error) {
	size := map[configs.Table]int{}
	for i := range points {
		p := &points[i]
		end, err := extent(p)
		if err != nil {
			return nil, err
		}
		if end > 1<<16 {
			return nil, fmt.Errorf("point %q: ends at address %d, past the end of table %s", p.Name, end, p.Table)
		}
		size[p.Table] = max(size[p.Table], end)
	}
	im := &image{
		coils:      make([]bool, size[configs.TableCoil]),
		discrete:   make([]bool, size[configs.TableDiscreteInput]),
		holding:    make([]uint16, size[configs.TableHolding]),
		input:      make([]uint16, size[configs.TableInput]),
		mappedBits: map[configs.Table][]bool{},
		mappedRegs: map[configs.Table][]bool{},
	}
	for t, n := range size {
		if t.IsBits() {
			im.mappedBits[t] = make([]bool, n)
		} else {
			im.mappedRegs[t] = make([]bool, n)
		}
	}
	for i := range points {
		p := &points[i]
		end, _ := extent(p)
		m := im.mappedBits[p.Table]
		if !p.Table.IsBits() {
			m = im.mappedRegs[p.Table]
		}
		for a := int(p.Address); a < end; a++ {
			m[a] = true
		}
	}
	return im, nil
}

// clone copies the tables (the layout maps are shared: they never change).
func (im *image) clone() *image {
	c := *im
	c.coils = append([]bool(nil), im.coils...)
	c.discrete = append([]bool(nil), im.discrete...)
	c.holding = append([]uint16(nil), im.holding...)
	c.input = append([]uint16(nil), im.input...)
	return &c
}

func (im *image) bits(t configs.Table) []bool {
	if t == configs.TableCoil {
		return im.coils
	}
	return im.discrete
}

func (im *image) regs(t configs.Table) []uint16 {
	if t == configs.TableHolding {
		return im.holding
	}
	return im.input
}

// covered reports whether every address in [addr, addr+qty) lies inside the
// table and, when strict, inside some point.
func (im *image) covered(t configs.Table, addr, qty uint16, strict bool) bool {
	var m []bool
	if t.IsBits() {
		m = im.mappedBits[t]
	} else {
		m = im.mappedRegs[t]
	}
	end := int(addr) + int(qty)
	if end > len(m) {
		return false
	}
	if !strict {
		return true
	}
	for a := int(addr); a < end; a++ {
		if !m[a] {
			return false
		}
	}
	return true
}
