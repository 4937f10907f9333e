package errhandler

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: the DLQ's
// sarama clients and the handler's timers must all be stopped. sarama's
// producer opens a circuit breaker after repeated send errors (a DLQ
// retrying against a broker that is gone); the breaker's timer goroutine
// sleeps out its 10 s by itself and is not sluice's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}
