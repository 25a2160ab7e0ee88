package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jusha-ean/edge/configs"
)

// defaultConfig is where the packaged gateway keeps its config.
const defaultConfig = "/etc/jusha-edge/edge.yaml"

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "edge validate [-c FILE]", stderr)
	path := fs.String("c", defaultConfig, "config `FILE`")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := configs.Load(*path)
	if err != nil {
		var list configs.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(stdout, e.Error())
			}
			return exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", *path, len(list))}
		}
		return exitError{code: 1, msg: err.Error()}
	}
	fmt.Fprintf(stdout, "%s: ok (site %s, gateway %s, %d devices)\n", *path, cfg.Site, cfg.Gateway, len(cfg.Devices))
	return nil
}
