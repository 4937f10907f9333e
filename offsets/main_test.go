package offsets

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: every
// store must stop what it started on Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
