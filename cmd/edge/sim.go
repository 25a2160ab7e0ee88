package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jusha-ean/edge/drivers/sim"
)

func runSim(ctx context.Context, args []string, _, stderr io.Writer) error {
	const line = "edge sim --kind door|elevator|gate --listen ADDR [--unit N] [--console]"
	fs := newFlags("sim", line, stderr)
	kind := fs.String("kind", "", "device kind: door, elevator or gate")
	listen := fs.String("listen", "", "Modbus TCP `ADDR` to listen on, e.g. 127.0.0.1:5020")
	unit := fs.Uint("unit", 1, "Modbus unit id (0-247)")
	console := fs.Bool("console", false, "read scenario commands from standard input (help lists them)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *kind == "" || *listen == "" || *unit > 247 {
		fmt.Fprintln(stderr, "--kind and --listen are required; --unit is 0-247")
		fs.Usage()
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *console {
		return sim.RunInteractive(ctx, *kind, *listen, uint8(*unit), os.Stdin, log)
	}
	return sim.Run(ctx, *kind, *listen, uint8(*unit), log)
}
