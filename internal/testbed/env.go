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
	return envPositive(t, name, def, strconv.Atoi, "a positive whole number")
}

// EnvDuration reads a positive duration ("20s") from the environment
// variable name, or gives def when it is unset; anything else fails the
// test.
func EnvDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	return envPositive(t, name, def, time.ParseDuration, "a positive duration such as 20s")
}

func envPositive[T int | time.Duration](t testing.TB, name string, def T, parse func(string) (T, error), want string) T {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := parse(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want %s", name, v, want)
	}
	return n
}
