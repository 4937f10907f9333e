// Package errors is Kafka Connect's error handling configuration for Sluice
// pipelines: the errors.* settings a connector is given (Config, read from
// properties by ConfigFromProperties: tolerance, retries, logging,
// dead-letter queue, and Sluice's window mode), the task restart policy
// (RestartPolicy), and the names of the __connect.errors.* headers that
// records in a dead-letter queue carry.
//
// The pipelines apply the configuration: every stage (convert, transform,
// poll, put, produce, commit) retries a retriable error on Kafka Connect's
// schedule (300 ms doubling, uniform jitter once errors.retry.delay.max.ms is
// reached, bounded by errors.retry.timeout); a record that still fails is
// logged (errors.log.enable) and written to the dead-letter queue
// (errors.deadletterqueue.topic.name) and then skipped under
// errors.tolerance=all or fails the task under none. The task-error counters
// appear in connect.TaskStatus.Errors.
//
// The package name shadows the standard library's errors package; import it
// under another name where both are needed, e.g.
//
//	import sluiceerrors "github.com/sluicehq/sluice/errors"
package errors
