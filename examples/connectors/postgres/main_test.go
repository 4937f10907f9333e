package postgres

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: pipelines,
// pools and the tasks must stop what they started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
