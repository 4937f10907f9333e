package transforms

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// Part selects the part of a record a transformation operates on: the key or
// the value. It corresponds to Kafka Connect's $Key and $Value variants
// (InsertField$Key, InsertField$Value, …). The zero value is Value.
type Part uint8

// The record parts.
const (
	// Value is the record value (Kafka Connect's $Value variant).
	Value Part = iota
	// Key is the record key (Kafka Connect's $Key variant).
	Key
)

// String returns "Key" or "Value".
func (p Part) String() string {
	switch p {
	case Key:
		return "Key"
	case Value:
		return "Value"
	}
	return fmt.Sprintf("Part(%d)", uint8(p))
}

func (p Part) validate() error {
	if p != Key && p != Value {
		return configErr("", "invalid record part %s: must be transforms.Key or transforms.Value", p)
	}
	return nil
}

// get returns the schema and value of the selected part.
func (p Part) get(rec *connect.Record) (*connect.Schema, any) {
	if p == Key {
		return rec.KeySchema, rec.Key
	}
	return rec.ValueSchema, rec.Value
}

// set replaces the selected part of rec.
func (p Part) set(rec *connect.Record, s *connect.Schema, v any) {
	if p == Key {
		rec.KeySchema, rec.Key = s, v
		return
	}
	rec.ValueSchema, rec.Value = s, v
}

// isSinkRecord reports whether rec was consumed from Kafka (Kafka Connect's
// SinkRecord): the runtime sets OriginalTopic on every consumed record.
func isSinkRecord(rec *connect.Record) bool { return rec.OriginalTopic != "" }

// recordMillis returns the record timestamp in epoch milliseconds and whether
// the record has one.
func recordMillis(rec *connect.Record) (int64, bool) {
	if rec.Timestamp.IsZero() {
		return 0, false
	}
	return rec.Timestamp.UnixMilli(), true
}

// millisTime returns a UTC time.Time for epoch milliseconds, the Go value of a
// Kafka Connect Timestamp.
func millisTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
