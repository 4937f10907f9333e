package transforms

import (
	"math"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestTypedConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"part", func() error { _, err := NewCast(CastConfig{Type: connect.TypeInt8}, Part(9)); return err }(), "invalid record part Part(9)"},
		{"cast none", CastConfig{}.Validate(), "spec: must specify at least one field to cast"},
		{"cast both", CastConfig{Type: connect.TypeInt8, Fields: map[string]connect.Type{"a": connect.TypeInt8}}.Validate(), "single cast"},
		{"cast field type", CastConfig{Fields: map[string]connect.Type{"a": connect.TypeStruct}}.Validate(), "casting to STRUCT"},
		{"cast whole type", CastConfig{Type: connect.TypeArray}.Validate(), "casting to ARRAY"},
		{"mask", MaskFieldConfig{}.Validate(), "fields: empty list"},
		{"drop", DropHeadersConfig{}.Validate(), "headers: empty list"},
		{"has header", HasHeaderKeyConfig{}.Validate(), "name: must be non-empty"},
		{"topic matches", TopicNameMatchesConfig{Pattern: "(?<=x)"}.Validate(), "pattern: invalid regular expression"},
		{"header from fields", HeaderFromConfig{}.Validate(), "fields: empty list"},
		{"header from headers", HeaderFromConfig{Fields: []string{"a"}}.Validate(), "headers: empty list"},
		{"header from op", HeaderFromConfig{Fields: []string{"a"}, Headers: []string{"h"}}.Validate(), `operation: invalid value ""`},
		{"extract", ExtractFieldConfig{Syntax: FieldSyntaxV2}.Validate(), "field: must be non-empty"},
		{"extract syntax", ExtractFieldConfig{Field: "a", Syntax: 7}.Validate(), "field.syntax.version: invalid syntax 7"},
		{"value to key", ValueToKeyConfig{}.Validate(), "fields: empty list"},
		{"set schema", SetSchemaMetadataConfig{}.Validate(), "neither schema name nor version configured"},
		{"ts converter", TimestampConverterConfig{}.Validate(), "target.type: missing required configuration"},
		{"ts converter prec", TimestampConverterConfig{TargetType: TimestampUnix, UnixPrecision: "ms"}.Validate(), "unix.precision"},
		{"ts router", TimestampRouterConfig{TimestampFormat: "'open"}.Validate(), "timestamp.format: unterminated quote"},
		{"regex router", RegexRouterConfig{Regex: "a", Replacement: "$1"}.Validate(), "replacement: no group 1"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err, tc.want) })
	}
	for _, ok := range []error{
		FlattenConfig{}.Validate(), ReplaceFieldConfig{}.Validate(), TimestampRouterConfig{}.Validate(),
		RegexRouterConfig{Regex: "(a)", Replacement: "$1"}.Validate(), TimestampConverterConfig{TargetType: TimestampDate}.Validate(),
	} {
		if ok != nil {
			t.Errorf("unexpected error %v", ok)
		}
	}
	if FieldSyntaxV2.String() != "V2" || FieldSyntaxV1.String() != "V1" || Key.String() != "Key" {
		t.Error("String")
	}
	if NewFilter() != (Filter{}) {
		t.Error("NewFilter")
	}
}

func TestParseJavaFloat(t *testing.T) {
	for in, want := range map[string]float64{" 1.5 ": 1.5, "2f": 2, "-3D": -3, "Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "1e400": math.Inf(1)} {
		got, err := parseJavaFloat(in, 64)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if f, _ := parseJavaFloat("NaN", 64); !math.IsNaN(f) {
		t.Error("NaN")
	}
	if f, _ := parseJavaFloat("1e39", 32); !math.IsInf(f, 1) {
		t.Error("float32 overflow")
	}
	for _, bad := range []string{"", "abc", "0x1p3", "inf", "1_0"} {
		if _, err := parseJavaFloat(bad, 64); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
