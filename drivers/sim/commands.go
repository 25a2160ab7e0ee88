package sim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// command is one scenario command of the standalone simulator.
type command struct {
	usage string
	args  int // number of arguments, -1 for "one or more"
	run   func(s *Sim, args []string) (string, error)
}

func noArg(f func(s *Sim) error) func(*Sim, []string) (string, error) {
	return func(s *Sim, _ []string) (string, error) { return "ok", f(s) }
}

func intArg(f func(s *Sim, n int) error) func(*Sim, []string) (string, error) {
	return func(s *Sim, args []string) (string, error) {
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return "", fmt.Errorf("want a whole number, got %q", args[0])
		}
		return "ok", f(s, n)
	}
}

func onOff(f func(s *Sim, on bool) error) func(*Sim, []string) (string, error) {
	return func(s *Sim, args []string) (string, error) {
		switch args[0] {
		case "on":
			return "ok", f(s, true)
		case "off":
			return "ok", f(s, false)
		}
		return "", fmt.Errorf("want on or off, got %q", args[0])
	}
}

var errUsage = errors.New("unknown command")

// commands returns the scenario commands of a kind, by name.
func commands(kind string) map[string]command {
	cmds := map[string]command{
		"present": {"present VALUE   the reader reads a credential", 1, func(s *Sim, a []string) (string, error) {
			return "ok", s.Present(a[0])
		}},
		"set":   {"set POINT VALUE   write a point", 2, func(s *Sim, a []string) (string, error) { return "ok", s.setText(a[0], a[1]) }},
		"get":   {"get POINT   read a point", 1, func(s *Sim, a []string) (string, error) { return s.getText(a[0]) }},
		"fault": {"fault MODE   none|no_answer|exception:N|slow:DUR|garbage|drop|wrong_unit|wrong_transaction|stuck|disconnect", 1, faultCmd},
	}
	add := func(name, usage string, args int, run func(*Sim, []string) (string, error)) {
		cmds[name] = command{usage, args, run}
	}
	code := func(s *Sim, n int) error {
		if n < 0 || n > 0xffff {
			return fmt.Errorf("fault code %d out of range 0-65535", n)
		}
		return s.SetFault(uint16(n))
	}
	switch kind {
	case KindDoor:
		add("walk", "walk   a person walks through once the lock releases", 0, noArg((*Sim).WalkThrough))
		add("hold", "hold   a person goes through and props the door open", 0, noArg((*Sim).HoldOpen))
		add("force", "force   the door is forced open", 0, noArg((*Sim).Force))
		add("close", "close   the door shuts", 0, noArg((*Sim).CloseDoor))
		add("exit", "exit   someone presses the exit button and leaves", 0, noArg((*Sim).ExitRequest))
		add("sos", "sos   the SOS button is pressed", 0, noArg((*Sim).SOS))
		add("tamper", "tamper   the enclosure is opened", 0, noArg((*Sim).Tamper))
		add("untamper", "untamper   the enclosure is closed", 0, noArg((*Sim).ClearTamper))
	case KindElevator:
		add("call", "call FLOOR   a landing call", 1, intArg((*Sim).Call))
		add("press", "press FLOOR   a rider presses a floor button (needs floor_enable)", 1, intArg((*Sim).PressFloor))
		add("trap", "trap   the car stops between floors with a passenger", 0, noArg((*Sim).Trap))
		add("release", "release   the trapped car levels and opens", 0, noArg((*Sim).Release))
		add("alarm", "alarm   the car's alarm button is pressed", 0, noArg((*Sim).PressAlarm))
		add("inspection", "inspection on|off   inspection mode", 1, onOff((*Sim).Inspection))
		add("cycling", "cycling on|off   someone keeps the car door cycling", 1, onOff((*Sim).DoorCycling))
		add("contact", "contact on|off   the door contact reads open whatever the door does", 1, onOff((*Sim).DoorContactFault))
		add("code", "code N   set the controller's fault code (0 clears)", 1, intArg(code))
	case KindGate:
		add("arrive", "arrive   a vehicle drives onto the loop", 0, noArg((*Sim).VehicleArrives))
		add("leave", "leave   the vehicle drives off the loop", 0, noArg((*Sim).VehicleLeaves))
		add("stick", "stick   the arm jams open", 0, noArg((*Sim).StickOpen))
		add("unstick", "unstick   the arm is freed", 0, noArg((*Sim).Unstick))
		add("forceopen", "forceopen   the arm is lifted without a command", 0, noArg((*Sim).ForceOpen))
		add("code", "code N   set the controller's fault code (0 clears)", 1, intArg(code))
	}
	return cmds
}

func faultCmd(s *Sim, a []string) (string, error) {
	f, err := ParseFault(a[0])
	if err != nil {
		return "", err
	}
	return "ok", s.Fault(f)
}

// Commands lists the scenario commands of the simulator, one usage line
// each.
func (s *Sim) Commands() []string {
	var out []string
	for _, c := range commands(s.kind) {
		out = append(out, c.usage)
	}
	slices.Sort(out)
	return out
}

// Command runs one scenario command line ("force", "call 5", "fault
// no_answer", ...) and returns its answer.
func (s *Sim) Command(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", fmt.Errorf("%w: empty line", errUsage)
	}
	c, ok := commands(s.kind)[f[0]]
	if !ok {
		return "", fmt.Errorf("%w %q for a %s", errUsage, f[0], s.kind)
	}
	if len(f)-1 != c.args {
		return "", fmt.Errorf("usage: %s", c.usage)
	}
	return c.run(s, f[1:])
}

// setText parses a value for a point from text.
func (s *Sim) setText(point, text string) error {
	p := s.points[point]
	if p == nil {
		return fmt.Errorf("sim: set %q: %w", point, ErrUnknownPoint)
	}
	if p.Elements() > 1 {
		var list []drivers.Value
		for _, t := range strings.Split(text, ",") {
			v, err := parseValue(p, t)
			if err != nil {
				return err
			}
			list = append(list, v)
		}
		return s.Set(point, drivers.Value{List: list})
	}
	v, err := parseValue(p, text)
	if err != nil {
		return err
	}
	return s.Set(point, v)
}

// parseValue reads a point's value from console text. Its errors leave the
// text out: it may be a credential.
func parseValue(p *configs.Point, text string) (drivers.Value, error) {
	switch p.Type {
	case configs.TypeString:
		return drivers.Value{Type: configs.TypeString, Str: text}, nil
	case configs.TypeBool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return drivers.Value{}, fmt.Errorf("point %q: want 0/1/true/false", p.Name)
		}
		return drivers.BoolValue(b), nil
	}
	if _, isScaled := scaled(p); !isScaled && p.Type != configs.TypeFloat32 {
		if n, err := strconv.ParseInt(text, 0, 64); err == nil {
			return drivers.Value{Type: configs.TypeInt64, Int: n, Num: float64(n)}, nil
		}
		if u, err := strconv.ParseUint(text, 0, 64); err == nil {
			return drivers.Value{Type: configs.TypeUint64, Uint: u, Num: float64(u)}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return drivers.Value{}, fmt.Errorf("point %q: want a number", p.Name)
	}
	return Number(f), nil
}

// getText formats a point for the console. The credential point is masked:
// no raw credential goes to a terminal log.
func (s *Sim) getText(point string) (string, error) {
	v, err := s.Get(point)
	if err != nil {
		return "", err
	}
	if point == "credential" {
		return "(hidden)", nil
	}
	if len(v.List) > 0 {
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = e.Text()
		}
		return strings.Join(parts, ","), nil
	}
	if s.points[point].Type == configs.TypeFloat32 {
		return strconv.FormatFloat(v.Num, 'f', -1, 64), nil
	}
	if _, isScaled := scaled(s.points[point]); isScaled {
		return strconv.FormatFloat(v.Num, 'f', -1, 64), nil
	}
	return v.Text(), nil
}
