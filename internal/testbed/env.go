package testbed

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// EnvInt reads a positive whole number from the environment variable name,
// or gives def when it is unset; anything else fails the test.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// EnvDuration reads a positive duration ("20s") from the environment
// variable name, or gives def when it is unset; anything else fails the
// test.
func EnvDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 20s", name, v)
	}
	return d
}
