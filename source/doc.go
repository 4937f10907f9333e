// Package source runs source tasks: the Task contract for connectors that
// read from an external system, and the pipeline that moves their records
// into Kafka (poll → transform → convert → produce → ack → offset commit)
// with at-least-once delivery and committed offsets that survive restarts.
//
// # Writing a task
//
// A Task has three methods. Start receives a TaskContext, whose Offsets
// reader returns the offsets committed for any source partition, so a task
// resumes where the last run stopped. Poll returns the next batch of
// records (possibly empty) and must return promptly once its context is
// done; each record names its SourcePartition and SourceOffset, Kafka
// Connect's map form. Stop releases resources. A Poll error wrapped with
// connect.Retriable is retried after a backoff; any other error, or a panic
// in any callback, fails the task (never the process).
//
// Optional capabilities are extra interfaces found by type assertion:
// RecordCommitter (told when each record was acknowledged or dropped),
// Committer (told after each offset flush) and Connector (splits the
// configuration into tasks.max task configurations).
//
// # Running it
//
// New builds a Pipeline from a Config whose zero values are Kafka Connect's
// defaults (Config.Validate explains what is missing); ConfigFromProperties
// builds the same Config from Kafka Connect's worker and connector
// properties. Pipeline.Run runs until its context is done, then stops
// gracefully with a final offset commit, and returns only when every
// goroutine it started has exited. A source offset is committed only when
// every earlier record of the same source partition was acknowledged by
// Kafka or deliberately dropped (filtered, or skipped under
// errors.tolerance=all); commits happen every offset.flush.interval.ms, on
// an acknowledgement watermark and on stop.
//
// Offsets live where Config.OffsetStorage says, by default Kafka Connect's
// offsets topic connect-offsets on the pipeline's brokers (durable, shared
// by every replica), or in a store the caller opened (Config.OffsetStore:
// package offsets has the Kafka topic, file and memory stores). Failures follow Kafka Connect's
// errors.* settings (Config.Errors), with a dead-letter queue for source
// records too; failed tasks can restart themselves (Config.Restart).
//
// # Exactly-once delivery
//
// With Config.ExactlyOnce.Enabled (the worker property
// exactly.once.source.support=enabled, Kafka Connect's KIP-618) each task
// writes through a transactional producer whose transactional.id is
// <group.id>-<connector>-<task>, and its records and the source offsets
// they cover commit in one Kafka transaction: a read_committed consumer
// sees each record once whatever happens to the process. Transactions end
// after each Poll batch (transaction.boundary=poll, the default), every
// transaction.boundary.interval.ms (interval), or where the task asks
// through its TransactionContext (connector; see TransactionContextOf).
// With poll, a transaction commits in the background while the next batch
// is polled and converted; batches polled while a commit runs form the
// next transaction together (Kafka Connect commits one transaction per
// batch, synchronously): a transaction always holds whole batches, in
// order, with their offsets.
// Starting a task fences any older instance of it (a process restarted,
// a replica given the same task): the older one fails with
// connect.ErrFenced and is never restarted. A transaction that fails is
// aborted: after a retriable failure the task restarts from its last
// committed offsets (stalled meanwhile, as for an unreachable broker);
// after any other it fails. Exactly-once needs a Kafka offsets store
// (offset.storage.topic, or the connector's own offsets.storage.topic) and
// a group id.
//
// What is exactly once: the records, and the offsets in the offsets topic.
// Not: RecordCommitter and Committer callbacks (called after the
// commit; a crash between the commit and them skips them), the task's own
// side effects, logs, and dead-letter queue records, which are written by
// their own producer at least once (a report made in a transaction that
// aborts is made again when its record is polled again). A produce failure
// aborts the transaction whatever errors.tolerance says (Kafka Connect
// fails the task); errors.tolerance keeps its meaning for conversion and
// transformation failures, whose skipped records' offsets commit in the
// transaction.
//
// A Pipeline is a connect.Pipeline and a connect.OffsetManager, so a
// connect/runner.Runner can supervise it and serve Kafka Connect's REST API
// for it. Package connect/sluicetest has an in-process broker and an
// acceptance suite to test a task with.
package source
