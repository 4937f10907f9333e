// Package source runs source tasks: the Task contract for connectors that
// read from an external system, and the pipeline that moves their records
// into Kafka (poll → transform → convert → produce → ack → offset commit)
// with at-least-once delivery and committed offsets that survive restarts.
package source
