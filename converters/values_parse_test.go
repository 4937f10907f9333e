package converters

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// SimpleHeader's reading is javavalues.Parse, whose golden tests against
// Kafka Connect 4.3.1 (testdata/values_parsestring_*_kc431.tsv) live in
// internal/javavalues; this checks the converter end to end.

// TestParseHeaderStringUnicodeDigits: Kafka Connect's Values parser reads
// any BMP decimal digit (Java's Character.isDigit/digit), not only ASCII
// ones; the expected values are Kafka Connect 4.3.1's.
func TestParseHeaderStringUnicodeDigits(t *testing.T) {
	c := NewSimpleHeader()
	tests := []struct {
		in     string
		schema *connect.Schema
		value  any
	}{
		{"١٢٣", connect.Int8Schema, int8(123)},
		{"۱۲۳۴۵", connect.Int16Schema, int16(12345)},
		{"-١.٥", connect.Float32Schema, float32(-1.5)},
		{"١e٣", connect.Int16Schema, int16(1000)},
		{"１２", connect.Int8Schema, int8(12)},
		{"༢༣", connect.Int8Schema, int8(23)},
		{"٢٠٢٠-٠١-٠١", connect.DateSchema, connect.DaysToDate(18262)},
		{"a١", connect.StringSchema, "a١"},
		{"𝟏𝟐", connect.StringSchema, "𝟏𝟐"}, // outside the BMP: not a Java char digit
	}
	for _, tc := range tests {
		sv, err := c.ToConnectHeader(t.Context(), "t", "h", []byte(tc.in))
		if err != nil || !sv.Schema.Equal(tc.schema) || !connect.ValuesEqual(sv.Value, tc.value) {
			t.Errorf("%q: got %v %#v %v, want %v %#v", tc.in, sv.Schema, sv.Value, err, tc.schema, tc.value)
		}
	}
}
