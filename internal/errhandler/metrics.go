package errhandler

import (
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// Metrics are a task's error counters, named after Kafka Connect's
// task-error-metrics group. All fields are safe for concurrent use.
type Metrics struct {
	// RecordFailures counts failed attempts, retries included
	// (total-record-failures).
	RecordFailures atomic.Int64
	// RecordErrors counts records that failed for good (total-record-errors).
	RecordErrors atomic.Int64
	// RecordsSkipped counts records skipped under tolerance
	// (total-records-skipped).
	RecordsSkipped atomic.Int64
	// Retries counts retries (total-retries).
	Retries atomic.Int64
	// ErrorsLogged counts log reports (total-errors-logged).
	ErrorsLogged atomic.Int64
	// DLQProduceRequests and DLQProduceFailures count dead-letter queue
	// writes (deadletterqueue-produce-requests / -failures).
	DLQProduceRequests atomic.Int64
	DLQProduceFailures atomic.Int64
	// LastErrorTimestamp is the time of the last failure in epoch
	// milliseconds, 0 if none (last-error-timestamp).
	LastErrorTimestamp atomic.Int64
}

// Snapshot copies the counters.
func (m *Metrics) Snapshot() connect.ErrorMetrics {
	s := connect.ErrorMetrics{
		RecordFailures:     m.RecordFailures.Load(),
		RecordErrors:       m.RecordErrors.Load(),
		RecordsSkipped:     m.RecordsSkipped.Load(),
		Retries:            m.Retries.Load(),
		ErrorsLogged:       m.ErrorsLogged.Load(),
		DLQProduceRequests: m.DLQProduceRequests.Load(),
		DLQProduceFailures: m.DLQProduceFailures.Load(),
	}
	if ms := m.LastErrorTimestamp.Load(); ms != 0 {
		s.LastError = time.UnixMilli(ms)
	}
	return s
}
