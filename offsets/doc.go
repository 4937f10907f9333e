// Package offsets stores source offsets: the position a source task has
// reached in each of its source partitions. It holds the Reader/Store
// contracts, three stores (a Kafka topic store byte-compatible with Kafka
// Connect's offsets topic, a file store for standalone use, and a memory
// store), the Tracker that decides which offsets are safe to commit (every
// earlier record of the same source partition acked or deliberately dropped),
// and the admin operations (list, alter, reset).
package offsets
