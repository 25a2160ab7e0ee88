package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jusha-ean/edge/access"
)

const whitelistUsage = `edge whitelist list -c FILE
edge whitelist check -c FILE --device ID --type card|qr|pin --value V [--at TIME]
edge whitelist sign --key FILE --key-id ID DOC.json`

func runWhitelist(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage:\n%s\n", whitelistUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		return whitelistList(args[1:], stdout, stderr)
	case "check":
		return whitelistCheck(args[1:], stdout, stderr)
	case "sign":
		return whitelistSign(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "edge whitelist: unknown subcommand %q\nusage:\n%s\n", args[0], whitelistUsage)
	return errUsage
}

func whitelistList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("whitelist list", "edge whitelist list [-c FILE]", stderr)
	path := fs.String("c", defaultConfig, "config `FILE`")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	s, err := access.OpenConfigured(cfg, true, access.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	return access.ListWhitelist(stdout, s)
}

func whitelistCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("whitelist check", "edge whitelist check [-c FILE] --device ID --type card|qr|pin --value V [--at TIME]", stderr)
	path := fs.String("c", defaultConfig, "config `FILE`")
	device := fs.String("device", "", "device `ID`")
	typ := fs.String("type", "", "credential type: card, qr or pin (default: the device's credential_type)")
	value := fs.String("value", "", "the credential as the reader reads it")
	at := fs.String("at", "", "decide at this `TIME` (RFC 3339), default now")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *device == "" || *value == "" {
		fmt.Fprintln(stderr, "--device and --value are required")
		fs.Usage()
		return errUsage
	}
	when := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "bad --at %q: want RFC 3339, e.g. 2026-11-27T22:30:00+08:00\n", *at)
			return errUsage
		}
		when = t
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	d, ok := cfg.Device(*device)
	if !ok {
		return exitError{code: 1, msg: fmt.Sprintf("no device %q in %s", *device, *path)}
	}
	if *typ == "" {
		*typ = d.CredentialType
	}
	s, err := access.OpenConfigured(cfg, true, access.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	return access.CheckCredential(stdout, s, access.DeviceFrom(*d), *typ, *value, when)
}

func whitelistSign(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("whitelist sign", "edge whitelist sign --key FILE --key-id ID DOC.json", stderr)
	keyFile := fs.String("key", "", "Ed25519 private key `FILE` (from edge keys gen)")
	keyID := fs.String("key-id", "", "signer `ID` the gateways know the key by")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if *keyFile == "" || *keyID == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "--key, --key-id and one document file are required")
		fs.Usage()
		return errUsage
	}
	priv, err := access.LoadSigningKey(*keyFile)
	if err != nil {
		return err
	}
	doc, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	return access.SignDocument(stdout, priv, *keyID, doc)
}

func runKeys(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "gen" {
		fmt.Fprintln(stderr, "usage: edge keys gen [--dir DIR] [--key-id ID]")
		return errUsage
	}
	fs := newFlags("keys gen", "edge keys gen [--dir DIR] [--key-id ID]", stderr)
	dir := fs.String("dir", ".", "write the key files into `DIR`")
	keyID := fs.String("key-id", "central-"+time.Now().Format("2006"), "signer `ID` to print in the config snippet")
	if err := parse(fs, args[1:], false); err != nil {
		return err
	}
	return access.GenerateKeys(stdout, *dir, *keyID)
}
