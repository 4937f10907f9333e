// Package errors implements Kafka Connect's error handling for Sluice
// pipelines: the errors.* configuration (tolerance, retries, logging,
// dead-letter queue), one retry operator used by every stage (Kafka Connect's
// schedule: 300 ms doubling, uniform jitter once errors.retry.delay.max.ms is
// reached, bounded by errors.retry.timeout), the tolerance decision (skip and
// report, or fail the task), the reporters (slog log lines, a dead-letter
// queue topic with Kafka Connect's __connect.errors.* headers), the
// task-error counters, and the task restart policy.
//
// The package name shadows the standard library's errors package; import it
// under another name where both are needed, e.g.
//
//	import sluiceerrors "github.com/sluicehq/sluice/errors"
package errors
