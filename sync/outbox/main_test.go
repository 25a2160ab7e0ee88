package outbox

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: Close stops the committer.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
