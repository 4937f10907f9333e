package converters

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// emptyMetadataSchema has a name and doc of "" and a version of 0 set at
// several levels, and one field with none.
func emptyMetadataSchema() (*connect.Schema, *connect.Struct) {
	inner := connect.NewSchemaBuilder(connect.TypeInt32).Name("").Version(0).Doc("").Optional().MustBuild()
	arr := connect.ArrayBuilder(connect.NewSchemaBuilder(connect.TypeString).Doc("").MustBuild()).Version(0).MustBuild()
	s := connect.StructBuilder().Name("").Version(0).Doc("").
		Field("a", inner).Field("b", arr).Field("c", connect.Int64Schema).MustBuild()
	v := connect.NewStruct(s).MustPut("a", int32(7)).MustPut("b", []any{"x"}).MustPut("c", int64(5))
	return s, v
}

// TestJSONEmptySchemaMetadata checks that a schema name or doc of "" and a
// version of 0 are written as Kafka Connect's JsonConverter writes them
// (members present, in its order) and read back as set, not as absent.
func TestJSONEmptySchemaMetadata(t *testing.T) {
	// Kafka Connect 4.3.1's JsonConverter (schemas.enable=true) on the same
	// schema built with SchemaBuilder.name("").version(0).doc("").
	const kafkaConnect = `{"schema":{"type":"struct","fields":[` +
		`{"type":"int32","optional":true,"name":"","version":0,"doc":"","field":"a"},` +
		`{"type":"array","items":{"type":"string","optional":false,"doc":""},"optional":false,"version":0,"field":"b"},` +
		`{"type":"int64","optional":false,"field":"c"}],` +
		`"optional":false,"name":"","version":0,"doc":""},"payload":{"a":7,"b":["x"],"c":5}}`
	c, err := NewJSON(JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, v := emptyMetadataSchema()
	out, err := c.FromConnect(ctx, "t", nil, s, v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != kafkaConnect {
		t.Fatalf("FromConnect:\n got %s\nwant %s", out, kafkaConnect)
	}
	sv, err := c.ToConnect(ctx, "t", nil, []byte(kafkaConnect))
	if err != nil {
		t.Fatal(err)
	}
	if !sv.Schema.Equal(s) {
		t.Fatalf("ToConnect schema %+v, want name \"\", version 0, doc \"\" set", *sv.Schema)
	}
	if f := sv.Schema.Field("c").Schema; f.NameSet() || f.VersionSet() || f.DocSet() {
		t.Fatalf("field c has metadata it was written without: %+v", *f)
	}
	again, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != kafkaConnect {
		t.Fatalf("round trip:\n got %s\nwant %s", again, kafkaConnect)
	}
}
