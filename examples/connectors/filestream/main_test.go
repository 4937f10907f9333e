package filestream

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: the tasks'
// standard-input readers and the pipelines must stop what they started.
// Run with killHelperEnv set, the test binary is instead the process that
// TestSinkSurvivesSIGKILL kills (see sinkKillHelper).
func TestMain(m *testing.M) {
	if os.Getenv(killHelperEnv) != "" {
		os.Exit(sinkKillHelper())
	}
	goleak.VerifyTestMain(m)
}
