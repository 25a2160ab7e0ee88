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

// loadConfig loads a config; on problems it prints each as
// FILE:LINE:COL: message to w and returns an exit-1 error.
func loadConfig(path string, w io.Writer) (*configs.Config, error) {
	cfg, err := configs.Load(path)
	if err == nil {
		return cfg, nil
	}
	var list configs.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e.Error())
		}
		return nil, exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s); see edge validate", path, len(list))}
	}
	return nil, exitError{code: 1, msg: err.Error()}
}

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "edge validate [-c FILE]", stderr)
	path := fs.String("c", defaultConfig, "config `FILE`")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (site %s, gateway %s, %d devices)\n", *path, cfg.Site, cfg.Gateway, len(cfg.Devices))
	return nil
}
