package transforms

import (
	"context"
	"github.com/sluicehq/sluice/internal/javavalues"

	"github.com/sluicehq/sluice/connect"
)

// InsertHeaderConfig configures InsertHeader (Kafka Connect's
// org.apache.kafka.connect.transforms.InsertHeader).
type InsertHeaderConfig struct {
	// Header (property "header", required) is the header key.
	Header string
	// ValueLiteral (property "value.literal", required) is the header value,
	// typed exactly as Kafka Connect's Values.parseString types it: null →
	// a null header (no schema); true/false → BOOLEAN; a number (Java's
	// BigDecimal syntax, starting with a digit or sign: not ".5") → the
	// narrowest of INT8…INT64 when whole (1.0 and 5E3 included), else
	// FLOAT32, FLOAT64 or a Decimal; an ISO date (yyyy-MM-dd), time
	// (HH:mm:ss.SSS'Z') or timestamp (yyyy-MM-dd'T'HH:mm:ss.SSS'Z'), parsed
	// leniently (24:00:00.000Z is a Time of 86400000 ms) in UTC → Date, Time,
	// Timestamp; [..] → an ARRAY and {..} → a MAP of such values, with
	// Kafka Connect's common element schema; anything else a STRING. A
	// literal that starts like a number or date keeps its first token (5,6 is
	// INT8 5), as in Kafka Connect.
	ValueLiteral string
}

// Validate checks the config; every InsertHeaderConfig is valid (an empty
// Header adds a header with the key "", as Kafka Connect accepts header="").
func (c InsertHeaderConfig) Validate() error { return nil }

// InsertHeader appends a header with a fixed value to every record (the
// record gets a new header slice; the original is not modified). It is safe
// for concurrent use.
type InsertHeader struct {
	header connect.Header
}

// NewInsertHeader returns an InsertHeader, or the config's validation error.
func NewInsertHeader(cfg InsertHeaderConfig) (*InsertHeader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := connect.Header{Key: cfg.Header}
	// "null" is SchemaAndValue{}: a header with no schema and no value.
	sv := javavalues.Parse(cfg.ValueLiteral)
	h.Schema, h.Value = sv.Schema, sv.Value
	return &InsertHeader{header: h}, nil
}

func insertHeaderFactory(m map[string]string) (Transformation, error) {
	p := newProps(m)
	cfg := InsertHeaderConfig{Header: p.required("header"), ValueLiteral: p.required("value.literal")}
	if err := p.err(); err != nil {
		return nil, err
	}
	return NewInsertHeader(cfg)
}

// Apply appends the header.
func (t *InsertHeader) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	h := make(connect.Headers, len(rec.Headers), len(rec.Headers)+1)
	copy(h, rec.Headers)
	rec.Headers = append(h, t.header)
	return rec, nil
}
