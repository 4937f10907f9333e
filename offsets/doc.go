// Package offsets stores source offsets: the position a source task has
// reached in each of its source partitions. It holds the Reader/Store
// contracts, three stores (a Kafka topic store byte-compatible with Kafka
// Connect's offsets topic, a file store for standalone use, and a memory
// store), the codec of Kafka Connect's offsets-topic records, and the admin
// operations (list, alter, reset). Stored offsets are connect.OffsetEntry
// values, the shape the Runner's offsets endpoints use too.
package offsets
