package transforms

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

var (
	addressSchema = connect.StructBuilder().Field("city", connect.StringSchema).
			Field("zip", connect.OptionalStringSchema).MustBuild()
	optAddressSchema = connect.StructBuilder().Optional().Field("city", connect.StringSchema).
				Field("zip", connect.OptionalStringSchema).MustBuild()
	customerSchema = connect.StructBuilder().Name("Customer").
			Field("id", connect.Int64Schema).
			Field("address", addressSchema).
			Field("billing", optAddressSchema).
			Field("a.b", connect.StringSchema).
			MustBuild()
)

func customer() *connect.Struct {
	return connect.NewStruct(customerSchema).MustPut("id", int64(1)).
		MustPut("address", connect.NewStruct(addressSchema).MustPut("city", "Oslo").MustPut("zip", "0150")).
		MustPut("a.b", "dotted")
}

func customerMap() map[string]any {
	return map[string]any{"id": int64(1), "address": map[string]any{"city": "Oslo", "zip": "0150"}, "a.b": "dotted", "billing": nil}
}

func TestExtractField(t *testing.T) {
	tests := []struct {
		name, field string
		syntax      FieldSyntax
		wantSchema  *connect.Schema
		want        any
	}{
		{"top level", "id", FieldSyntaxV1, connect.Int64Schema, int64(1)},
		{"dotted name V1", "a.b", FieldSyntaxV1, connect.StringSchema, "dotted"},
		{"nested V2", "address.city", FieldSyntaxV2, connect.StringSchema, "Oslo"},
		{"struct V2", "address", FieldSyntaxV2, addressSchema, nil},
		{"backticks V2", "`a.b`", FieldSyntaxV2, connect.StringSchema, "dotted"},
		{"null parent V2", "billing.city", FieldSyntaxV2, connect.StringSchema, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			both(t, func(t *testing.T, p Part) {
				tr := must(NewExtractField(ExtractFieldConfig{Field: tc.field, Syntax: tc.syntax}, p))
				out := mustApply(t, tr, withPart(sinkRec("t", customerSchema, customer()), p))
				checkOther(t, out, p)
				s, v := p.get(out)
				if s != tc.wantSchema {
					t.Fatalf("schema %v, want %v", s, tc.wantSchema)
				}
				if tc.want != nil || tc.name == "null parent V2" {
					eq(t, v, tc.want)
				}
				out = mustApply(t, tr, withPart(sinkRec("t", nil, customerMap()), p))
				s, v = p.get(out)
				if s != nil {
					t.Fatal("schemaless got a schema")
				}
				if tc.want != nil {
					eq(t, v, tc.want)
				}
				// null values pass through; with a schema they take the field's schema
				out = mustApply(t, tr, withPart(sinkRec("t", nil, nil), p))
				if s, v := p.get(out); s != nil || v != nil {
					t.Fatal("schemaless null")
				}
				out = mustApply(t, tr, withPart(sinkRec("t", customerSchema, nil), p))
				if s, v := p.get(out); s != tc.wantSchema || v != nil {
					t.Fatal("schema'd null")
				}
			})
		})
	}
}

func TestExtractFieldMissing(t *testing.T) {
	tr := must(NewExtractField(ExtractFieldConfig{Field: "nope"}, Value))
	out := mustApply(t, tr, sinkRec("t", nil, customerMap()))
	if out.Value != nil {
		t.Fatal("missing schemaless field should be null")
	}
	_, err := tr.Apply(ctx, sinkRec("t", customerSchema, customer()))
	wantErr(t, err, "unknown field: nope")
	tr = must(NewExtractField(ExtractFieldConfig{Field: "address.nope", Syntax: FieldSyntaxV2}, Value))
	_, err = tr.Apply(ctx, sinkRec("t", customerSchema, customer()))
	wantErr(t, err, "unknown field: address.nope")
	tr = must(NewExtractField(ExtractFieldConfig{Field: "id.x", Syntax: FieldSyntaxV2}, Value))
	_, err = tr.Apply(ctx, sinkRec("t", nil, customerMap()))
	wantErr(t, err, "[nested field access], found: int64")
	_, err = tr.Apply(ctx, sinkRec("t", nil, "str"))
	wantErr(t, err, "[field extraction], found: string")
}

func TestExtractFieldDefaults(t *testing.T) {
	for _, preserve := range []bool{false, true} {
		tr := must(NewExtractField(ExtractFieldConfig{Field: "age", PreserveNulls: preserve}, Value))
		out := mustApply(t, tr, sinkRec("t", personSchema, person()))
		if preserve {
			eq(t, out.Value, nil)
		} else {
			eq(t, out.Value, int32(18))
		}
	}
}

func TestFieldPathV2(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"foo", []string{"foo"}},
		{"foo.bar", []string{"foo", "bar"}},
		{"foo.bar.baz", []string{"foo", "bar", "baz"}},
		{"`foo.bar`", []string{"foo.bar"}},
		{"`foo.bar`.baz", []string{"foo.bar", "baz"}},
		{"foo.`bar.baz`", []string{"foo", "bar.baz"}},
		{"foo.``bar``", []string{"foo", "`bar`"}},
		{"foo.`bar\\`.baz`", []string{"foo", "bar`.baz"}},
		{"foo.", []string{"foo", ""}},
		{".foo", []string{"", "foo"}},
		{"foo..bar", []string{"foo", "", "bar"}},
	} {
		p, err := parseFieldPath(tc.path, FieldSyntaxV2)
		if err != nil || !reflect.DeepEqual(p.steps, tc.want) {
			t.Errorf("%q: got %q, %v; want %q", tc.path, p.steps, err, tc.want)
		}
	}
	for _, bad := range []string{"`foo", "foo.`bar", "foo.`bar\\`", "`foo`bar"} {
		_, err := parseFieldPath(bad, FieldSyntaxV2)
		wantErr(t, err, "incomplete backtick pair")
	}
	_, err := extractFieldFactory(Value)(map[string]string{"field": "`a", "field.syntax.version": "v2"})
	wantErr(t, err, "field: incomplete backtick pair in path: [`a]")
	_, err = extractFieldFactory(Value)(map[string]string{"field": "a", "field.syntax.version": "V3"})
	wantErr(t, err, `field.syntax.version: invalid value "V3"`)
	_, err = extractFieldFactory(Value)(map[string]string{})
	wantErr(t, err, `field: missing required configuration`)
}

// field="" with V2 is a config Kafka Connect accepts; its records then fail
// (a schemaless null passes).
func TestExtractFieldEmptyV2Path(t *testing.T) {
	tr, err := extractFieldFactory(Value)(map[string]string{"field": "", "field.syntax.version": "V2"})
	if err != nil {
		t.Fatalf("config refused: %v", err)
	}
	if _, err := tr.Apply(ctx, &connect.Record{Topic: "t", Value: map[string]any{"": int32(1)}}); err == nil {
		t.Fatal("schemaless map extracted, want an error")
	}
	if _, err := tr.Apply(ctx, &connect.Record{Topic: "t", ValueSchema: customerSchema}); err == nil {
		t.Fatal("schema'd null extracted, want an error")
	}
	out, err := tr.Apply(ctx, &connect.Record{Topic: "t"})
	if err != nil || out.Value != nil || out.ValueSchema != nil {
		t.Fatalf("schemaless null: %v %v", out, err)
	}
}

// A schemaless map with keys of other types is a Map to Kafka Connect: the
// field is looked up among its string keys.
func TestExtractFieldMapWithOtherKeys(t *testing.T) {
	tr := must(extractFieldFactory(Value)(map[string]string{"field": "a"}))
	out := mustApply(t, tr, &connect.Record{Topic: "t", Value: map[any]any{int32(1): "x", "a": int64(5)}})
	eq(t, out.Value, int64(5))
	out = mustApply(t, tr, &connect.Record{Topic: "t", Value: map[any]any{1.5: "x"}})
	eq(t, out.Value, nil)
}
