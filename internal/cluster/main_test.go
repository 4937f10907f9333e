package cluster

import (
	"testing"

	"go.uber.org/goleak"

	// kafkaconf's init sets go-metrics' UseNilMetrics, so sarama starts no
	// process-global metrics goroutine that goleak would report.
	_ "github.com/sluicehq/sluice/internal/kafkaconf"
)

// TestMain fails the package if a goroutine outlives the tests: a Member
// must stop everything it started before Run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
