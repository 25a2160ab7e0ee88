package configs

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

var pointNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// valueClass is what the rules expect of a point: a flag, a number, or a
// credential (a number or a string).
type valueClass int

const (
	classBool valueClass = iota
	classInt
	classCredential
)

// pointNeed is one point the rules of a kind read or write (CONTRACT 3).
type pointNeed struct {
	name     string
	class    valueClass
	required bool
	written  bool
}

// needs lists, per kind, the points the gateway reads and writes by name.
func needs(kind string) []pointNeed {
	credential := []pointNeed{
		{name: "credential_seq", class: classInt},
		{name: "credential", class: classCredential},
	}
	switch kind {
	case KindDoor:
		return []pointNeed{
			{"door_open", classBool, true, false},
			{"lock_released", classBool, true, false},
			{"exit_request", classBool, true, false},
			{"credential_seq", classInt, true, false},
			{"credential", classCredential, true, false},
			{"unlock", classBool, true, true},
			{"tamper", classBool, false, false},
			{"sos_button", classBool, false, false},
		}
	case KindElevator:
		return append([]pointNeed{
			{"floor", classInt, true, false},
			{"moving", classBool, true, false},
			{"door_open", classBool, true, false},
			{"in_door_zone", classBool, true, false},
			{"fault_code", classInt, true, false},
			{"alarm_button", classBool, true, false},
			{"inspection", classBool, true, false},
			{"floor_enable", classBool, true, true},
			{"occupied", classBool, false, false},
		}, credential...)
	case KindGate:
		return append([]pointNeed{
			{"arm_open", classBool, true, false},
			{"arm_closed", classBool, true, false},
			{"loop_occupied", classBool, true, false},
			{"fault_code", classInt, true, false},
			{"open", classBool, true, true},
			{"vehicle_count", classInt, false, false},
		}, credential...)
	}
	return nil
}

func (c valueClass) accepts(t Type) bool {
	switch t {
	case TypeBool:
		return c == classBool
	case TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeInt64, TypeUint64:
		return c == classInt || c == classCredential
	case TypeString:
		return c == classCredential
	}
	return false
}

func (c valueClass) String() string {
	switch c {
	case classBool:
		return "a bool"
	case classInt:
		return "an integer type"
	default:
		return "an integer type or a string"
	}
}

func knownTable(t Table) bool {
	switch t {
	case TableCoil, TableDiscreteInput, TableHolding, TableInput:
		return true
	}
	return false
}

func knownType(t Type) bool {
	switch t {
	case TypeBool, TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeFloat32, TypeInt64, TypeUint64, TypeString:
		return true
	}
	return false
}

// checkProfile reports every problem of a decoded profile.
func checkProfile(p *problems, d *decoder, prof *Profile, root *yaml.Node) {
	switch prof.Kind {
	case KindDoor, KindElevator, KindGate:
	case "":
		p.check(root, "kind is required: door, elevator or gate")
	default:
		p.check(d.node(&prof.Kind), "unknown kind %q: want door, elevator or gate", prof.Kind)
	}
	if len(prof.Points) == 0 {
		p.check(d.node(&prof.Points, prof), "a profile needs points")
	}
	byName := map[string]int{}
	for i := range prof.Points {
		pt := &prof.Points[i]
		at := func(ptr any) *yaml.Node { return d.node(ptr, pt) }
		switch first, dup := byName[pt.Name]; {
		case pt.Name == "":
			p.check(at(pt), "points[%d]: name is required", i)
			continue
		case !pointNameRE.MatchString(pt.Name):
			p.check(at(&pt.Name), "point name %q: want lower case letters, digits and _ starting with a letter", pt.Name)
		case dup:
			p.check(at(&pt.Name), "duplicate point name %q (first at %s)", pt.Name, lineCol(d.node(&prof.Points[first].Name)))
			continue
		}
		byName[pt.Name] = i
		checkPoint(p, d, pt)
	}
	if prof.Kind == "" {
		return
	}
	missingAt := d.node(&prof.Points, &prof.Kind, prof)
	for _, need := range needs(prof.Kind) {
		i, ok := byName[need.name]
		if !ok {
			if need.required {
				p.check(missingAt, "%s profile needs point %q (%s%s)", article(prof.Kind), need.name, need.class, writtenNote(need.written))
			}
			continue
		}
		pt := &prof.Points[i]
		if knownType(pt.Type) && !need.class.accepts(pt.Type) {
			p.check(d.node(&pt.Type, pt), "point %q must be %s, not %s", pt.Name, need.class, pt.Type)
		}
		if need.written && !pt.Writable {
			p.check(d.node(&pt.Writable, &pt.Name, pt), "point %q must be writable: the gateway writes it", pt.Name)
		}
	}
	_, hasSeq := byName["credential_seq"]
	_, hasCred := byName["credential"]
	if hasSeq != hasCred {
		p.check(missingAt, "points credential_seq and credential go together: a profile has both or neither")
	}
}

func writtenNote(written bool) string {
	if written {
		return ", writable"
	}
	return ""
}

// checkPoint reports the problems of one point on its own.
func checkPoint(p *problems, d *decoder, pt *Point) {
	at := func(ptr any) *yaml.Node { return d.node(ptr, pt) }
	tableOK, typeOK := knownTable(pt.Table), knownType(pt.Type)
	if !tableOK {
		p.check(at(&pt.Table), "point %q: table %q: want coil, discrete_input, holding or input", pt.Name, pt.Table)
	}
	if !typeOK {
		p.check(at(&pt.Type), "point %q: type %q: want bool, int16, uint16, int32, uint32, float32, int64, uint64 or string", pt.Name, pt.Type)
	}
	if tableOK && typeOK && pt.Table.IsBits() && pt.Type != TypeBool {
		p.check(at(&pt.Type), "point %q: %s holds one bit: type must be bool", pt.Name, tableWord(pt.Table))
	}
	if pt.Bit != nil {
		switch {
		case pt.Type != TypeBool || pt.Table.IsBits():
			p.check(at(&pt.Bit), "point %q: bit applies only to a bool in a holding or input register", pt.Name)
		case *pt.Bit < 0 || *pt.Bit > 15:
			p.check(at(&pt.Bit), "point %q: bit %d: want 0-15", pt.Name, *pt.Bit)
		case pt.Writable:
			p.check(at(&pt.Writable), "point %q: a bit inside a register cannot be written; use a coil or a whole register", pt.Name)
		}
	} else if tableOK && !pt.Table.IsBits() && pt.Type == TypeBool {
		p.check(at(pt), "point %q: a bool in %s needs bit: 0-15", pt.Name, tableWord(pt.Table))
	}
	for _, o := range []*Order{&pt.WordOrder, &pt.ByteOrder} {
		if *o != "" && *o != OrderBig && *o != OrderLittle {
			p.check(at(o), "point %q: order %q: want big or little", pt.Name, *o)
		}
	}
	if pt.Type == TypeString {
		if pt.Length <= 0 {
			p.check(at(&pt.Length), "point %q: a string needs length: the number of registers (1 or more)", pt.Name)
		}
	} else if pt.Length != 0 {
		p.check(at(&pt.Length), "point %q: length applies only to strings", pt.Name)
	}
	if pt.Count < 0 {
		p.check(at(&pt.Count), "point %q: count %d: want 0 or more", pt.Name, pt.Count)
	}
	if pt.Scale == 0 {
		p.check(at(&pt.Scale), "point %q: scale must not be 0", pt.Name)
	}
	if (pt.Scale != 1 || pt.Offset != 0) && (pt.Type == TypeBool || pt.Type == TypeString) {
		p.check(d.node(&pt.Scale, &pt.Offset, pt), "point %q: scale and offset apply only to numbers", pt.Name)
	}
	if pt.Writable && tableOK && pt.Table != TableCoil && pt.Table != TableHolding {
		p.check(at(&pt.Writable), "point %q: only coils and holding registers are writable, not %s", pt.Name, tableWord(pt.Table))
	}
	if pt.Count > 65536 || pt.Length > 65536 {
		p.check(at(&pt.Count), "point %q: count %d or length %d runs past the end of the table (65535)", pt.Name, pt.Count, pt.Length)
	} else if tableOK && typeOK && pt.Count >= 0 {
		size := pt.Elements()
		if !pt.Table.IsBits() {
			size *= pt.Registers()
		}
		if int(pt.Address)+size > 65536 {
			p.check(at(&pt.Address), "point %q: address %d + %d runs past the end of the table (65535)", pt.Name, pt.Address, size)
		}
	}
}

// tableWord names a table in a sentence: "a coil", "an input register".
func tableWord(t Table) string {
	switch t {
	case TableCoil:
		return "a coil"
	case TableDiscreteInput:
		return "a discrete input"
	case TableHolding:
		return "a holding register"
	}
	return "an input register"
}

// article puts "a" or "an" before a kind: "a door", "an elevator".
func article(kind string) string {
	if kind == KindElevator {
		return "an " + kind
	}
	return "a " + kind
}
