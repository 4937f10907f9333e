package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: a stopped
// worker must have stopped its REST servers, connectors, offset store and
// in-process broker.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
