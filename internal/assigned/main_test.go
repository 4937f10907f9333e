package assigned

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: Run must
// wait for every supervisor it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
