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
	// sarama's producer opens a circuit breaker after repeated errors (a
	// topic the principal may not write, in TestSecureApacheKafka); the
	// breaker's timer goroutine sleeps out its 10 s after the producer is
	// closed, then ends, so it is not a leak of ours.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}
