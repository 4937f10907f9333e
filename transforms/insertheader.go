package transforms

import (
	"context"
	"math"
	"math/big"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// InsertHeaderConfig configures InsertHeader (Kafka Connect's
// org.apache.kafka.connect.transforms.InsertHeader).
type InsertHeaderConfig struct {
	// Header (property "header", required) is the header key.
	Header string
	// ValueLiteral (property "value.literal", required) is the header value,
	// typed as Kafka Connect's Values.parseString types it: true/false →
	// BOOLEAN; an integer → the narrowest of INT8, INT16, INT32, INT64 that
	// holds it (else a Decimal); a number with a fraction → FLOAT32 or
	// FLOAT64; an ISO date (yyyy-MM-dd), time (HH:mm:ss.SSSZ) or timestamp
	// (yyyy-MM-ddTHH:mm:ss.SSSZ) → Date, Time, Timestamp; anything else a
	// STRING. (Kafka Connect also parses [..] arrays and {..} maps; Sluice
	// keeps those as strings.)
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
	s, v := parseLiteral(cfg.ValueLiteral)
	return &InsertHeader{header: connect.Header{Key: cfg.Header, Schema: s, Value: v}}, nil
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

// parseLiteral types a literal string as InsertHeaderConfig.ValueLiteral
// describes.
func parseLiteral(s string) (*connect.Schema, any) {
	switch s {
	case "":
		return connect.StringSchema, ""
	case "true":
		return connect.BooleanSchema, true
	case "false":
		return connect.BooleanSchema, false
	}
	if d, err := connect.ParseDecimal(s); err == nil {
		return numberLiteral(d)
	}
	if t, err := time.Parse("2006-01-02T15:04:05.000Z", s); err == nil {
		return connect.TimestampSchema, t.UTC()
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return connect.DateSchema, t.UTC()
	}
	if t, err := time.Parse("15:04:05.000Z", s); err == nil {
		return connect.TimeSchema, time.Date(1970, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	return connect.StringSchema, s
}

// numberLiteral types a parsed number as Kafka Connect's Values does.
func numberLiteral(d connect.Decimal) (*connect.Schema, any) {
	r := d.Rat()
	if r.IsInt() {
		n := r.Num()
		if n.IsInt64() {
			v := n.Int64()
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return connect.Int8Schema, int8(v)
			case v >= math.MinInt16 && v <= math.MaxInt16:
				return connect.Int16Schema, int16(v)
			case v >= math.MinInt32 && v <= math.MaxInt32:
				return connect.Int32Schema, int32(v)
			}
			return connect.Int64Schema, v
		}
	} else if d.Scale != 0 {
		f32, _ := new(big.Float).SetRat(r).Float32()
		if !math.IsInf(float64(f32), 0) {
			return connect.Float32Schema, f32
		}
		f64, _ := r.Float64()
		if !math.IsInf(f64, 0) {
			return connect.Float64Schema, f64
		}
	}
	return connect.DecimalSchema(d.Scale), d
}
