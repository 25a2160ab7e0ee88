package sim

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a server, connection or ticker goroutine
// outlives its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
