package web

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any leaves a goroutine behind: the
// server, the notifier and the browser runs must all stop with their test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
