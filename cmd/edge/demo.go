package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/jusha-ean/edge/internal/demo"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "edge demo [--for 2m] [--http ADDR] [--verbose]", stderr)
	dur := fs.Duration("for", 0, "keep the site running this long in all (the script takes about 2 minutes)")
	httpAddr := fs.String("http", "", "status page `ADDR` (default 127.0.0.1:8080, or a free port)")
	verbose := fs.Bool("verbose", false, "print the gateway's own logs to stderr")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	_ = os.Stdout
	ver, _ := buildInfo()
	return demo.Run(ctx, demo.Options{For: *dur, HTTP: *httpAddr, Out: stdout, Log: log, Version: ver})
}
