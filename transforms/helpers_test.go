package transforms

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

var ctx = context.Background()

// sourceRec returns a source record on topic with the given value.
func sourceRec(topic string, vs *connect.Schema, v any) *connect.Record {
	return &connect.Record{Topic: topic, ValueSchema: vs, Value: v,
		SourcePartition: map[string]any{"file": "a"}, SourceOffset: map[string]any{"pos": int64(1)}}
}

// sinkRec returns a consumed record (partition 3, offset 42) on topic.
func sinkRec(topic string, vs *connect.Schema, v any) *connect.Record {
	return &connect.Record{Topic: topic, Partition: 3, HasPartition: true, Offset: 42,
		OriginalTopic: topic, OriginalPartition: 3, OriginalOffset: 42,
		Timestamp: time.UnixMilli(1700000000123), TimestampType: connect.CreateTime,
		ValueSchema: vs, Value: v}
}

// withPart returns a copy of r with (s, v) moved to the given part; the other
// part gets a marker value.
func withPart(r *connect.Record, p Part) *connect.Record {
	c := *r
	if p == Key {
		c.KeySchema, c.Key = c.ValueSchema, c.Value
		c.ValueSchema, c.Value = connect.StringSchema, "other"
	} else {
		c.KeySchema, c.Key = connect.StringSchema, "other"
	}
	return &c
}

func mustApply(t *testing.T, tr Transformation, r *connect.Record) *connect.Record {
	t.Helper()
	out, err := tr.Apply(ctx, r)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// get returns field name of a Struct or map value.
func get(t *testing.T, v any, name string) any {
	t.Helper()
	switch x := v.(type) {
	case *connect.Struct:
		out, err := x.GetWithoutDefault(name)
		if err != nil {
			t.Fatalf("Get %q: %v", name, err)
		}
		return out
	case map[string]any:
		return x[name]
	}
	t.Fatalf("not a struct or map: %T", v)
	return nil
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if !connect.ValuesEqual(got, want) {
		t.Fatalf("got %#v (%T), want %#v (%T)", got, got, want, want)
	}
}

// both runs f for the Key and the Value variant.
func both(t *testing.T, f func(t *testing.T, p Part)) {
	for _, p := range []Part{Key, Value} {
		t.Run(p.String(), func(t *testing.T) { f(t, p) })
	}
}

// checkOther verifies the part not transformed kept its marker.
func checkOther(t *testing.T, out *connect.Record, p Part) {
	t.Helper()
	if p == Key && out.Value != "other" || p == Value && out.Key != "other" {
		t.Fatalf("the other part changed: key %v value %v", out.Key, out.Value)
	}
}

// schemaless and schema'd fixtures.
var (
	personSchema = connect.StructBuilder().Name("com.acme.Person").Version(2).Doc("a person").
		Field("id", connect.Int32Schema).
		Field("name", connect.StringSchema).
		Field("email", connect.OptionalStringSchema).
		Field("age", connect.NewSchemaBuilder(connect.TypeInt32).Optional().DefaultValue(int32(18)).MustBuild()).
		MustBuild()
)

func person() *connect.Struct {
	return connect.NewStruct(personSchema).MustPut("id", int32(7)).MustPut("name", "Ann").MustPut("email", "ann@x.io")
}

func personMap() map[string]any {
	return map[string]any{"id": int32(7), "name": "Ann", "email": "ann@x.io"}
}
