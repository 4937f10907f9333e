package converters

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// benchRecord is a typical CDC-style value: a dozen fields of mixed types,
// a nested struct, an array, an optional null and logical types.
func benchRecord() (*connect.Schema, *connect.Struct) {
	addr := connect.StructBuilder().Name("com.acme.Address").
		Field("street", connect.StringSchema).
		Field("city", connect.StringSchema).
		Field("zip", connect.OptionalStringSchema).
		MustBuild()
	s := connect.StructBuilder().Name("com.acme.Order").Version(3).
		Field("id", connect.Int64Schema).
		Field("customer_id", connect.Int32Schema).
		Field("status", connect.StringSchema).
		Field("amount", connect.DecimalSchema(2)).
		Field("discount", connect.OptionalFloat64Schema).
		Field("paid", connect.BooleanSchema).
		Field("created_at", connect.TimestampSchema).
		Field("ship_date", connect.DateBuilder().Optional().MustBuild()).
		Field("note", connect.OptionalStringSchema).
		Field("address", addr).
		Field("tags", connect.ArrayBuilder(connect.StringSchema).MustBuild()).
		Field("qty", connect.Int16Schema).
		MustBuild()
	v := connect.NewStruct(s).
		MustPut("id", int64(1234567890123)).
		MustPut("customer_id", int32(4242)).
		MustPut("status", "SHIPPED").
		MustPut("amount", connect.NewDecimal(1999950, 2)).
		MustPut("discount", 0.15).
		MustPut("paid", true).
		MustPut("created_at", time.UnixMilli(1700000000123).UTC()).
		MustPut("ship_date", connect.DaysToDate(19700)).
		MustPut("address", connect.NewStruct(addr).MustPut("street", "221B Baker Street").MustPut("city", "London").MustPut("zip", "NW1 6XE")).
		MustPut("tags", []any{"priority", "gift"}).
		MustPut("qty", int16(3))
	return s, v
}

// benchJSONRecord measures converting benchRecord with a JSON converter
// of cfg: FromConnect, or with decode, ToConnect of FromConnect's bytes.
func benchJSONRecord(b *testing.B, cfg JSONConfig, decode bool) {
	c := mustJSON(b, cfg)
	s, v := benchRecord()
	data, _ := c.FromConnect(ctx, "t", nil, s, v)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if decode {
			_, err = c.ToConnect(ctx, "t", nil, data)
		} else {
			_, err = c.FromConnect(ctx, "t", nil, s, v)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONEnvelopeEncode(b *testing.B) {
	benchJSONRecord(b, JSONConfig{}, false)
}

func BenchmarkJSONEnvelopeDecode(b *testing.B) {
	benchJSONRecord(b, JSONConfig{}, true)
}

// BenchmarkJSONEnvelopeDecodeParallel shows the schema cache under
// contention (it is read lock-free).
func BenchmarkJSONEnvelopeDecodeParallel(b *testing.B) {
	c := mustJSON(b, JSONConfig{})
	s, v := benchRecord()
	data, _ := c.FromConnect(ctx, "t", nil, s, v)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.ToConnect(ctx, "t", nil, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkJSONStructEncodeSchemasOff is BenchmarkJSONEnvelopeEncode with
// schemas.enable=false: the payload alone.
func BenchmarkJSONStructEncodeSchemasOff(b *testing.B) {
	benchJSONRecord(b, JSONConfig{SchemasDisabled: true}, false)
}

// BenchmarkJSONStructDecodeSchemasOff reads the payload of
// BenchmarkJSONStructEncodeSchemasOff back with schemas.enable=false (as
// maps and slices: there is no schema).
func BenchmarkJSONStructDecodeSchemasOff(b *testing.B) {
	benchJSONRecord(b, JSONConfig{SchemasDisabled: true}, true)
}

func schemalessRecord() map[string]any {
	return map[string]any{
		"id": int64(1234567890123), "customer_id": int64(4242), "status": "SHIPPED", "amount": 19999.5,
		"discount": 0.15, "paid": true, "created_at": int64(1700000000123), "note": nil,
		"address": map[string]any{"street": "221B Baker Street", "city": "London", "zip": "NW1 6XE"},
		"tags":    []any{"priority", "gift"}, "qty": int64(3),
	}
}

func BenchmarkJSONSchemalessEncode(b *testing.B) {
	c := mustJSON(b, JSONConfig{SchemasDisabled: true})
	v := schemalessRecord()
	out, _ := c.FromConnect(ctx, "t", nil, nil, v)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FromConnect(ctx, "t", nil, nil, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONSchemalessDecode(b *testing.B) {
	c := mustJSON(b, JSONConfig{SchemasDisabled: true})
	data, _ := c.FromConnect(ctx, "t", nil, nil, schemalessRecord())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ToConnect(ctx, "t", nil, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlibSchemalessDecode is the encoding/json baseline for
// BenchmarkJSONSchemalessDecode (UseNumber-free Unmarshal into any).
func BenchmarkStdlibSchemalessDecode(b *testing.B) {
	c := mustJSON(b, JSONConfig{SchemasDisabled: true})
	data, _ := c.FromConnect(ctx, "t", nil, nil, schemalessRecord())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkByteArrayRoundTrip(b *testing.B) {
	c := NewByteArray()
	data := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		sv, _ := c.ToConnect(ctx, "t", nil, data)
		if _, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value); err != nil {
			b.Fatal(err)
		}
	}
}

// stringBenchValue is a 110-byte text with non-ASCII characters (BMP and
// outside it), which StringConverter validates as UTF-8 both ways.
const stringBenchValue = "Grüße aus Köln — Preis 12,50 € · 東京 🚀 naïve café, ½ Zoll Ærø; " + "ok, fertig; à bientôt!!!!!"

func BenchmarkStringToConnect(b *testing.B) {
	c := NewString()
	data := []byte(stringBenchValue)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ToConnect(ctx, "t", nil, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringFromConnect(b *testing.B) {
	c := NewString()
	b.SetBytes(int64(len(stringBenchValue)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FromConnect(ctx, "t", nil, connect.OptionalStringSchema, stringBenchValue); err != nil {
			b.Fatal(err)
		}
	}
}
