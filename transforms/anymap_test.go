package transforms

import (
	"maps"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// Kafka Connect's Requirements.requireMap takes any Map, so a schemaless
// value that is a map with non-string keys (map[any]any in Go) reaches the
// SMTs. Expectations: what Kafka Connect 4.3.1's classes printed for the
// same inputs (java.util.HashMap values; the smt3-anymap corpus cases).
func TestKCSchemalessAnyMap(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		props []string
		in    any
		want  any // nil: want an error
	}{
		{"ExtractField V2 path through a map[any]any", "ExtractField$Value",
			[]string{"field", "a.b", "field.syntax.version", "V2"},
			map[string]any{"a": map[any]any{int32(1): "x", "b": "y"}}, "y"},
		{"InsertField keeps the other keys", "InsertField$Value", []string{"topic.field", "t"},
			map[any]any{int32(1): "x"}, map[any]any{int32(1): "x", "t": "orders"}},
		{"TimestampConverter keeps the other keys", "TimestampConverter$Value",
			[]string{"field", "ts", "target.type", "unix"},
			map[any]any{true: int64(0), "ts": int64(1000)}, map[any]any{true: int64(0), "ts": int64(1000)}},
		{"ValueToKey looks fields up", "ValueToKey", []string{"fields", "a"},
			map[any]any{int32(1): "x", "a": "v"}, map[any]any{int32(1): "x", "a": "v"}},
		{"Flatten names a nested null key null", "Flatten$Value", nil,
			map[string]any{"n": map[any]any{nil: int64(1), "x": true}},
			map[string]any{"n.null": int64(1), "n.x": true}},
		{"Flatten keeps a top-level null key", "Flatten$Value", nil,
			map[any]any{nil: int32(5), "a": map[string]any{"b": int32(1)}},
			map[any]any{nil: int32(5), "a.b": int32(1)}},
		{"Flatten: null key under an empty prefix", "Flatten$Value", nil,
			map[string]any{"": map[any]any{nil: int32(1)}}, map[any]any{nil: int32(1)}},
		{"Flatten fails on a map under a null key", "Flatten$Value", nil,
			map[any]any{nil: map[string]any{"b": int32(1)}}, nil},
		{"Flatten fails on a non-string key", "Flatten$Value", nil, map[any]any{int32(1): int32(5)}, nil},
		{"ReplaceField keeps a null key", "ReplaceField$Value", []string{"exclude", "b"},
			map[any]any{nil: int32(1), "a": int32(2)}, map[any]any{nil: int32(1), "a": int32(2)}},
		{"ReplaceField include drops a null key", "ReplaceField$Value", []string{"include", "a"},
			map[any]any{nil: int32(1), "a": int32(2)}, map[string]any{"a": int32(2)}},
		{"ReplaceField fails on a non-string key", "ReplaceField$Value", []string{"renames", "a:c"},
			map[any]any{int32(1): int32(1), "a": int32(2)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := byProps(t, tc.typ, tc.props...)
			out, err := tr.Apply(ctx, sourceRec("orders", nil, tc.in))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %#v, want an error", out.Value)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := out.Value
			if tc.typ == "ValueToKey" {
				got = out.Key
				tc.want = map[string]any{"a": "v"}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestKCHeaderFromAnyMap(t *testing.T) {
	tr := byProps(t, "HeaderFrom$Value", "fields", "a", "headers", "h", "operation", "move")
	out := mustApply(t, tr, sourceRec("orders", nil, map[any]any{int32(1): "x", "a": "v"}))
	if want := (map[any]any{int32(1): "x"}); !reflect.DeepEqual(out.Value, want) {
		t.Fatalf("value %#v, want %#v", out.Value, want)
	}
	if len(out.Headers) != 1 || out.Headers[0].Key != "h" || out.Headers[0].Value != "v" {
		t.Fatalf("headers %#v, want h=v", out.Headers)
	}
}

// ReplaceField$Key {include=amount,c, renames=amount:renamed,name:renamed}
// on Struct{nested=0, c=null, name=null, amount=1.5} (amount: FLOAT64 with a
// default): Kafka Connect 4.3.1 reads "renamed" back through the inverted
// renames from name, whose null its Struct.put refuses for the required
// field ("Invalid value: null used for required field: \"renamed\"") even
// though the schema has a default.
func TestKCReplaceFieldNullIntoRequiredWithDefault(t *testing.T) {
	amount := connect.NewSchemaBuilder(connect.TypeFloat64).DefaultValue(763.0).MustBuild()
	s := connect.StructBuilder().Field("nested", connect.Int8Schema).Field("c", connect.OptionalStringSchema).
		Field("name", connect.OptionalInt16Schema).Field("amount", amount).MustBuild()
	v := connect.NewStruct(s).MustPut("amount", 1.5).MustPut("nested", int8(0))
	tr := byProps(t, "ReplaceField$Key", "include", "amount,c", "renames", "amount:renamed,name:renamed,amount:renamed")
	_, err := tr.Apply(ctx, withPart(sourceRec("t", s, v), Key))
	wantErr(t, err, "null used for required FLOAT64")
}

// ReplaceField$Value {renames=name:c,ts:c} on the JsonConverter (HashMap)
// value {a, id, ts=null, c={…}, name="", b, amount}: three keys end up as
// c and Kafka Connect 4.3.1 keeps the one its HashMap iterates last (ts, in
// bucket 15 after c's 3 and name's 8): c=null.
func TestKCReplaceFieldThreeWayCollision(t *testing.T) {
	in := map[string]any{"a": []any{int8(13)}, "id": int64(1), "ts": nil, "c": map[string]any{"id": []byte{1}},
		"name": "", "b": false, "amount": int8(127)}
	for range 20 { // Go's map order varies from run to run
		out := mustApply(t, byProps(t, "ReplaceField$Value", "renames", "name:c,ts:c"), sourceRec("t", nil, maps.Clone(in)))
		m := out.Value.(map[string]any)
		if v, ok := m["c"]; !ok || v != nil || len(m) != 5 {
			t.Fatalf("got %#v, want c=null among 5 keys", m)
		}
	}
}
