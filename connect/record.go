package connect

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// TopicPartition names one Kafka partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String formats tp as Kafka does: "orders-3".
func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// SchemaAndValue pairs a value with its schema (nil for schemaless data), as
// returned by converters.
type SchemaAndValue struct {
	Schema *Schema
	Value  any
}

// TimestampType tells how a consumed record's timestamp was set.
type TimestampType uint8

// Timestamp types, as Kafka's TimestampType.
const (
	NoTimestampType TimestampType = iota
	CreateTime
	LogAppendTime
)

// String returns Kafka's name of the timestamp type.
func (t TimestampType) String() string {
	switch t {
	case CreateTime:
		return "CreateTime"
	case LogAppendTime:
		return "LogAppendTime"
	}
	return "NoTimestampType"
}

// Record is one record moving through a pipeline, in either direction. It
// unites Kafka Connect's SourceRecord and SinkRecord so that transforms and
// predicates work on both.
//
// Source tasks fill Topic, the key/value with their schemas, optionally
// Partition (with HasPartition), Timestamp and Headers, and SourcePartition /
// SourceOffset, the position the runtime commits once the record is safely in
// Kafka (both may be nil for a source without offsets).
//
// Sink tasks receive records whose Offset, TimestampType and Original*
// coordinates were set by the runtime from the consumed Kafka record; the
// Original* fields are the pre-transform coordinates that offset commits refer
// to.
//
// A Record is a value: copying it is cheap, but copies share the Key, Value
// and Headers they reference. Code that changes a record it did not create
// replaces those fields rather than mutating what they point to.
type Record struct {
	Topic string
	// Partition is the Kafka partition; it is meaningful only when
	// HasPartition is true. A source record without a partition is placed by
	// the producer's partitioner (hash of the key bytes).
	Partition    int32
	HasPartition bool

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any
	// Timestamp is the record timestamp; the zero time means none.
	Timestamp time.Time
	Headers   Headers

	// SourcePartition identifies the source-side stream the record came from
	// (e.g. {"filename": "a.txt"}); SourceOffset its position in it (e.g.
	// {"position": 30}). Values must be primitives: strings, booleans,
	// integers and floats. Sources only. Both maps must not be modified once
	// the record was returned from Poll; records of one source partition may
	// share one SourcePartition map (the source runtime then checks it once).
	SourcePartition map[string]any
	SourceOffset    map[string]any

	// Offset is the Kafka offset of a consumed record. Sinks only.
	Offset        int64
	TimestampType TimestampType
	// OriginalTopic, OriginalPartition and OriginalOffset are the consumed
	// record's coordinates before any transform changed them. Sinks only.
	OriginalTopic     string
	OriginalPartition int32
	OriginalOffset    int64
}

// OriginalTopicPartition returns the pre-transform topic-partition of a sink
// record.
func (r *Record) OriginalTopicPartition() TopicPartition {
	return TopicPartition{Topic: r.OriginalTopic, Partition: r.OriginalPartition}
}

// Coordinates describes where a record came from, for error messages:
// "topic orders partition 3 offset 42" for consumed records, "source
// partition {filename=a.txt} offset {position=30}" for source records.
func (r *Record) Coordinates() string {
	if r.OriginalTopic != "" {
		return fmt.Sprintf("topic %s partition %d offset %d", r.OriginalTopic, r.OriginalPartition, r.OriginalOffset)
	}
	var b strings.Builder
	if r.SourcePartition != nil || r.SourceOffset != nil {
		fmt.Fprintf(&b, "source partition %s offset %s", FormatMap(r.SourcePartition), FormatMap(r.SourceOffset))
	}
	if r.Topic != "" {
		if b.Len() > 0 {
			b.WriteString(" for ")
		}
		b.WriteString("topic ")
		b.WriteString(r.Topic)
	}
	if b.Len() == 0 {
		return "record without coordinates"
	}
	return b.String()
}

// FormatMap formats a source partition or offset map deterministically
// ({a=1, b=x}, keys sorted) for messages and logs.
func FormatMap(m map[string]any) string {
	if m == nil {
		return "null"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%v", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}
