// Package errhandler is the runtime side of package errors, shared by the
// source and sink pipelines and never called by users: the Handler applying
// an errors.Config to one task (Kafka Connect's retry schedule: 300 ms
// doubling, uniform jitter once errors.retry.delay.max.ms is reached, bounded
// by errors.retry.timeout; the tolerance decision, window mode), the
// reporters a skipped or failed record is handed to (LogReporter, the
// dead-letter queue DLQ with its __connect.errors.* context headers), the
// task-error counters (Metrics), and the task restart supervision
// (Restarter, Supervise) under an errors.RestartPolicy.
package errhandler
