package filestream

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: the tasks'
// standard-input readers and the pipelines must stop what they started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
