// Command edge is the Jusha Edge gateway: the daemon, its demo, and the
// installer's tools (CONTRACT section 1). It only parses flags and calls the
// packages that do the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	// The boxes on site may lack a zoneinfo database; schedules need one.
	_ "time/tzdata"
)

// exitUsage is the exit code for wrong flags or a wrong command.
const exitUsage = 2

// errUsage marks an error already explained by a usage line.
var errUsage = errors.New("usage")

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "edge demo [--for 2m] [--http ADDR]", runDemo},
		{"run", "edge run [-c FILE]", runDaemon},
		{"validate", "edge validate [-c FILE]", runValidate},
		{"probe", "edge probe [-c FILE] [--device ID] [--json]", runProbe},
		{"sim", "edge sim --kind door|elevator|gate --listen ADDR [--unit N]", runSim},
		{"whitelist", "edge whitelist list|check|sign ...", runWhitelist},
		{"keys", "edge keys gen [--dir DIR]", runKeys},
		{"version", "edge version", runVersion},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return exitUsage
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
			return exitUsage
		}
		var ex exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(stderr, ex.msg)
			}
			return ex.code
		}
		fmt.Fprintf(stderr, "edge %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "edge: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s\n", c.usage)
	}
}

// exitError ends the command with a given exit code, after printing msg.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// newFlags returns a flag set that prints the command's usage line on error.
func newFlags(name, usageLine string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and rejects stray arguments, returning errUsage.
func parse(fs *flag.FlagSet, args []string, allowArgs bool) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !allowArgs && fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}
