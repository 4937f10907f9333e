// Package connect holds Sluice's data model and the types every other package
// shares: the Connect schema model (Schema, Field, the logical types Decimal,
// Date, Time and Timestamp), Struct, Headers, Record, TopicPartition, and the
// shared error types (retriable, fatal, per-record batch errors, and the
// RecordError that names stage, connector, task and record coordinates).
//
// The model mirrors Kafka Connect's org.apache.kafka.connect.data API so that
// schemas and values written by Kafka Connect converters map one to one:
//
//	Connect type  Go value
//	INT8          int8
//	INT16         int16
//	INT32         int32   (Date, Time: time.Time)
//	INT64         int64   (Timestamp: time.Time)
//	FLOAT32       float32
//	FLOAT64       float64
//	BOOLEAN       bool
//	STRING        string
//	BYTES         []byte  (Decimal: Decimal)
//	ARRAY         []any
//	MAP           map[string]any (string keys) or map[any]any (any keys)
//	STRUCT        *Struct
//
// Schemas are immutable once built and safe for concurrent use; values are
// plain Go values.
//
// The package also holds the small contract a Runner (package
// connect/runner) supervises: the Pipeline interface that source and sink
// pipelines implement, with its optional capabilities (OffsetManager,
// TaskRestarter, ConnectorRestarter, TaskConfigLister), the lifecycle State
// and the status types, and the Plugin descriptor that builds pipelines from
// Kafka Connect properties. It imports only the standard library, so converter and
// transformation authors link neither net/http nor OpenTelemetry.
package connect
