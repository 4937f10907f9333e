package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: a stopped
// worker must have stopped its REST servers, connectors, offset store and
// in-process broker. With asWorkerEnv set, the test binary is instead the
// standalone command itself, with the arguments it was run with (the
// worker that TestSourceOffsetsSurviveSIGKILL kills).
func TestMain(m *testing.M) {
	if os.Getenv(asWorkerEnv) != "" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
