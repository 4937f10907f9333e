// Package sink runs sink tasks: the Task contract for connectors that write
// Kafka records to an external system, and the pipeline that feeds them
// (consume → convert → transform → put → pre-commit → commit) through a Kafka
// consumer group, committing consumer offsets only for what the task made
// durable.
package sink
