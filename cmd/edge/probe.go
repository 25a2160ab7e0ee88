package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
	"github.com/jusha-ean/edge/web"
)

// probeJSON is one line of `edge probe --json` (CONTRACT section 1).
type probeJSON struct {
	Device string         `json:"device"`
	OK     bool           `json:"ok"`
	Points map[string]any `json:"points"`
	Error  string         `json:"error,omitempty"`
}

func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("probe", "edge probe [-c FILE] [--device ID] [--json]", stderr)
	path := fs.String("c", defaultConfig, "config `FILE`")
	only := fs.String("device", "", "probe only the device with this `ID`")
	asJSON := fs.Bool("json", false, "print one JSON object per device")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	devs := cfg.Devices
	if *only != "" {
		d, ok := cfg.Device(*only)
		if !ok {
			return exitError{code: 1, msg: fmt.Sprintf("no device %q in %s", *only, *path)}
		}
		devs = []configs.Device{*d}
	}
	// Devices on one link are probed one after another; links in parallel.
	results := make([]drivers.ProbeResult, len(devs))
	byURL := map[string][]int{}
	for i, d := range devs {
		byURL[d.Modbus.URL] = append(byURL[d.Modbus.URL], i)
	}
	var wg sync.WaitGroup
	for _, idx := range byURL {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range idx {
				results[i] = drivers.Probe(ctx, devs[i])
			}
		}()
	}
	wg.Wait()

	failed := 0
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			line := probeJSON{Device: r.Device, OK: r.OK, Points: map[string]any{}}
			for k, v := range r.Points {
				line.Points[k] = v.Plain()
			}
			line.Points = web.RedactPoints(line.Points)
			if r.Err != nil {
				line.Error = r.Err.Error()
			}
			if !r.OK {
				failed++
			}
			_ = enc.Encode(line)
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for i, r := range results {
			status := "ok"
			if !r.OK {
				status = "FAILED"
				failed++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Device, devs[i].Kind, configs.RedactURL(devs[i].Modbus.URL), status)
			if r.Err != nil {
				fmt.Fprintf(tw, "\terror:\t%v\t\n", r.Err)
			}
			names := make([]string, 0, len(r.Points))
			for k := range r.Points {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				val := textValue(r.Points[k])
				if k == "credential" {
					val = web.Redacted // a raw card number or PIN is never printed
				}
				fmt.Fprintf(tw, "\t%s\t%s\t\n", k, val)
			}
		}
		tw.Flush()
	}
	if failed > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d of %d device(s) failed", failed, len(results))}
	}
	return nil
}

func textValue(v drivers.Value) string {
	if v.List != nil {
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = textValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	switch v.Type {
	case configs.TypeBool:
		if v.Num != 0 {
			return "true"
		}
		return "false"
	case configs.TypeString:
		return fmt.Sprintf("%q", v.Str)
	}
	return fmt.Sprint(v.Num)
}
