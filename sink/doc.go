// Package sink runs sink tasks: the Task contract for connectors that write
// Kafka records to an external system, and the pipeline that feeds them
// (consume → convert → transform → put → pre-commit → commit) through a Kafka
// consumer group, committing consumer offsets only for what the task made
// durable.
//
// Failures follow Kafka Connect's errors.* settings (Config.Errors): failed
// conversions and transformations are retried, then fail the task or are
// skipped to the error log and the dead-letter queue, which receives the
// consumed record's original bytes with the __connect.errors.* headers; so
// are the records a Put reports failed in a *connect.BatchError and those a
// task hands to TaskContext.Report. Failed tasks can be restarted
// (Config.Restart). A Pipeline is a connect.Pipeline and a
// connect.OffsetManager (its consumer group's offsets in KIP-875's shape);
// ConfigFromProperties builds a Config from Kafka Connect properties.
package sink
