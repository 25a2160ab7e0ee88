package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const line = "edge sim --kind door|elevator|gate --listen ADDR [--unit N] [--profile FILE]"
	fs := newFlags("sim", line, stderr)
	kind := fs.String("kind", "", "device kind: door, elevator or gate")
	listen := fs.String("listen", "", "Modbus TCP `ADDR` to listen on, e.g. 127.0.0.1:5020")
	unit := fs.Uint("unit", 1, "Modbus unit id")
	profile := fs.String("profile", "", "profile `FILE` instead of the built-in one")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *kind == "" || *listen == "" || *unit > 247 {
		fmt.Fprintln(stderr, "--kind and --listen are required; --unit is 0-247")
		fs.Usage()
		return errUsage
	}
	ref := "builtin/" + *kind
	if *profile != "" {
		ref = *profile
	}
	p, err := configs.LoadProfile(ref, ".")
	if err != nil {
		return err
	}
	s, err := sim.New(*kind, p, uint8(*unit))
	if err != nil {
		return err
	}
	s.SetLogger(slog.New(slog.NewTextHandler(stderr, nil)))
	addr, err := s.Serve(ctx, *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulated %s (unit %d, profile %s) on %s\n", *kind, *unit, p.Name, addr)
	fmt.Fprintln(stdout, "type a command and Enter (help lists them); Ctrl-C stops")
	go simConsole(ctx, s, os.Stdin, stdout)
	<-ctx.Done()
	s.Wait()
	return nil
}

// simConsole reads scenario commands from in, one a line.
func simConsole(ctx context.Context, s *sim.Sim, in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() && ctx.Err() == nil {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err := simCommand(s, f[0], f[1:]); err != nil {
			fmt.Fprintf(out, "%s: %v\n", f[0], err)
			continue
		}
		fmt.Fprintln(out, "ok")
	}
}

const simHelp = `present VALUE | walk | force | close | hold | exit | sos | tamper      (door)
call FLOOR | trap | release | alarm | inspection on|off                (elevator)
arrive | leave | stick | unstick | forceopen                           (gate)
fault CODE | set POINT NUMBER | get POINT | mode none|noanswer|garbage|slow:500ms|exception:2|drop|wrongunit|wrongtid`

func simCommand(s *sim.Sim, cmd string, args []string) error {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch cmd {
	case "help":
		return fmt.Errorf("\n%s", simHelp)
	case "present":
		return s.Present(arg(0))
	case "walk":
		return s.WalkThrough()
	case "force":
		return s.Force()
	case "close":
		return s.CloseDoor()
	case "hold":
		return s.HoldOpen()
	case "exit":
		return s.ExitRequest()
	case "sos":
		return s.SOS()
	case "tamper":
		return s.Tamper()
	case "call":
		n, err := strconv.Atoi(arg(0))
		if err != nil {
			return fmt.Errorf("want a floor number")
		}
		return s.Call(n)
	case "trap":
		return s.Trap()
	case "release":
		return s.Release()
	case "alarm":
		return s.PressAlarm()
	case "inspection":
		return s.Inspection(arg(0) == "on")
	case "arrive":
		return s.VehicleArrives()
	case "leave":
		return s.VehicleLeaves()
	case "stick":
		return s.StickOpen()
	case "unstick":
		return s.Unstick()
	case "forceopen":
		return s.ForceOpen()
	case "fault":
		n, err := strconv.ParseUint(arg(0), 10, 16)
		if err != nil {
			return fmt.Errorf("want a fault code 0-65535")
		}
		return s.SetFault(uint16(n))
	case "set":
		f, err := strconv.ParseFloat(arg(1), 64)
		if err != nil {
			return fmt.Errorf("want: set POINT NUMBER")
		}
		return s.Set(arg(0), sim.Number(f))
	case "get":
		v, err := s.Get(arg(0))
		if err != nil {
			return err
		}
		return fmt.Errorf("%s = %v", arg(0), v.Num)
	case "mode":
		m, err := sim.ParseFault(arg(0))
		if err != nil {
			return err
		}
		return s.Fault(m)
	}
	return fmt.Errorf("unknown command (help lists them)")
}
