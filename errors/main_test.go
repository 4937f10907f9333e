package errors

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: the DLQ's
// sarama clients and the handler's timers must all be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
