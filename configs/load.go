package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
)

// Load reads, decodes, completes with defaults and checks the config file at
// path, and loads the profile of every device into Device.Resolved.
//
// A file that cannot be read gives a wrapped os error (errors.Is works with
// fs.ErrNotExist). Any problem inside the file or its profiles gives an
// ErrorList with every problem at once, each as FILE:LINE:COL: message.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse is Load on bytes already read: name is the file name used in error
// positions, and relative profile paths are taken from baseDir.
func Parse(name string, data []byte, baseDir string) (*Config, error) {
	p := newProblems(name)
	root := parseDocument(p, data)
	if root == nil {
		return nil, p.sorted()
	}
	d := newDecoder(p)
	cfg := &Config{File: name}
	d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	if d.exhausted() {
		return nil, p.sorted()
	}
	setDefaults(cfg, d.present)
	c := newChecker(cfg, p, d, root, baseDir)
	c.check()
	if errs := c.errors(); len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// SetDefaults fills every unset (zero) field of a config built in code with
// its default, as Load does for keys absent from the file.
func (c *Config) SetDefaults() {
	setDefaults(c, func(ptr any) bool { return !reflect.ValueOf(ptr).Elem().IsZero() })
}

// Validate checks a config built in code as Load checks a file, and loads
// each device's profile into Resolved. Problems carry no line numbers.
func (c *Config) Validate() error {
	p := newProblems(c.File)
	baseDir := "."
	if c.File != "" {
		baseDir = filepath.Dir(c.File)
	}
	ch := newChecker(c, p, newDecoder(p), nil, baseDir)
	ch.check()
	return ch.errors().Err()
}
