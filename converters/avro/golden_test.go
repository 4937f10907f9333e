package avro

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/connect"
)

// Java's Avro writes each array and map as one block with a positive count;
// hamba/avro configured so produces the same bytes.
var javaLikeAvro = hamba.Config{DisableBlockSizeHeader: true, BlockLength: 1 << 20}.Freeze()

type goldenAddress struct {
	Street string  `avro:"street"`
	Zip    *string `avro:"zip"`
}

type goldenEntry struct {
	Key   int32  `avro:"key"`
	Value string `avro:"value"`
}

type goldenOrder struct {
	ID        int64            `avro:"id"`
	Qty       int              `avro:"qty"`
	Small     int              `avro:"small"`
	Price     float32          `avro:"price"`
	Ratio     float64          `avro:"ratio"`
	Paid      bool             `avro:"paid"`
	Status    string           `avro:"status"`
	Blob      []byte           `avro:"blob"`
	Amount    *big.Rat         `avro:"amount"`
	ShipDate  time.Time        `avro:"ship_date"`
	ShipTime  time.Duration    `avro:"ship_time"`
	Created   time.Time        `avro:"created"`
	Note      *string          `avro:"note"`
	Discount  *float64         `avro:"discount"`
	Address   goldenAddress    `avro:"address"`
	Billing   *goldenAddress   `avro:"billing"`
	Tags      []string         `avro:"tags"`
	Counts    map[string]int64 `avro:"counts"`
	ByCode    []goldenEntry    `avro:"by_code"`
	WithDflt  int32            `avro:"with_default"`
	Nullables []*string        `avro:"nullables"`
}

// TestAvroGoldenBytes checks that a record encoded by the converter equals
// the Confluent framing (0x00, id) followed by hamba/avro's encoding of the
// same value with the registered schema, and that hamba/avro decodes the
// converter's bytes back to that value.
func TestAvroGoldenBytes(t *testing.T) {
	addr := connect.StructBuilder().Name("com.acme.Address").
		Field("street", connect.StringSchema).
		Field("zip", connect.OptionalStringSchema).
		MustBuild()
	optAddr := connect.FromSchema(addr).Optional().MustBuild()
	s := connect.StructBuilder().Name("com.acme.Order").Version(2).
		Field("id", connect.Int64Schema).
		Field("qty", connect.Int16Schema).
		Field("small", connect.Int8Schema).
		Field("price", connect.Float32Schema).
		Field("ratio", connect.Float64Schema).
		Field("paid", connect.BooleanSchema).
		Field("status", connect.StringSchema).
		Field("blob", connect.BytesSchema).
		Field("amount", connect.DecimalSchema(2)).
		Field("ship_date", connect.DateSchema).
		Field("ship_time", connect.TimeSchema).
		Field("created", connect.TimestampSchema).
		Field("note", connect.OptionalStringSchema).
		Field("discount", connect.OptionalFloat64Schema).
		Field("address", addr).
		Field("billing", optAddr).
		Field("tags", connect.ArrayBuilder(connect.StringSchema).MustBuild()).
		Field("counts", connect.MapBuilder(connect.StringSchema, connect.Int64Schema).MustBuild()).
		Field("by_code", connect.MapBuilder(connect.Int32Schema, connect.StringSchema).MustBuild()).
		Field("with_default", connect.NewSchemaBuilder(connect.TypeInt32).DefaultValue(int32(-5)).MustBuild()).
		Field("nullables", connect.ArrayBuilder(connect.OptionalStringSchema).MustBuild()).
		MustBuild()
	created := time.UnixMilli(1700000000123).UTC()
	v := connect.NewStruct(s).
		MustPut("id", int64(-9876543210)).
		MustPut("qty", int16(-300)).
		MustPut("small", int8(100)).
		MustPut("price", float32(19.99)).
		MustPut("ratio", 1e-300).
		MustPut("paid", true).
		MustPut("status", "SHIPPED ✓").
		MustPut("blob", []byte{0, 0xff, 0x10}).
		MustPut("amount", connect.NewDecimal(-1999950, 2)).
		MustPut("ship_date", connect.DaysToDate(19700)).
		MustPut("ship_time", connect.MillisToTime(45296789)).
		MustPut("created", created).
		MustPut("discount", 0.25).
		MustPut("address", connect.NewStruct(addr).MustPut("street", "221B Baker St").MustPut("zip", "NW1")).
		MustPut("billing", connect.NewStruct(optAddr).MustPut("street", "1 Main St")).
		MustPut("tags", []any{"a", "b"}).
		MustPut("counts", map[string]any{"x": int64(1)}).
		MustPut("by_code", map[any]any{int32(7): "seven"}).
		MustPut("nullables", []any{nil, "n"})

	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	got, err := c.FromConnect(avroCtx, "orders", nil, s, v)
	if err != nil {
		t.Fatal(err)
	}
	registered, ok := reg.GetSchema("orders-value", 1)
	if !ok {
		t.Fatal("no schema registered under orders-value")
	}
	// hamba/avro must accept the registered schema as valid Avro.
	schema, err := hamba.ParseWithCache(registered.Schema.Schema, "", &hamba.SchemaCache{})
	if err != nil {
		t.Fatalf("hamba/avro rejects the registered schema: %v\n%s", err, registered.Schema.Schema)
	}
	zip, n := "NW1", "n"
	disc := 0.25
	want := goldenOrder{
		ID: -9876543210, Qty: -300, Small: 100, Price: 19.99, Ratio: 1e-300, Paid: true,
		Status: "SHIPPED ✓", Blob: []byte{0, 0xff, 0x10}, Amount: big.NewRat(-1999950, 100),
		ShipDate: connect.DaysToDate(19700), ShipTime: 45296789 * time.Millisecond, Created: created,
		Discount: &disc,
		Address:  goldenAddress{Street: "221B Baker St", Zip: &zip},
		Billing:  &goldenAddress{Street: "1 Main St"},
		Tags:     []string{"a", "b"}, Counts: map[string]int64{"x": 1},
		ByCode: []goldenEntry{{7, "seven"}}, WithDflt: -5, Nullables: []*string{nil, &n},
	}
	body, err := javaLikeAvro.Marshal(schema, want)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(frame[1:], uint32(registered.ID))
	frame = append(frame, body...)
	if !bytes.Equal(got, frame) {
		t.Errorf("converter bytes differ from hamba/avro's\n got %x\nwant %x", got, frame)
	}

	// hamba/avro reads the converter's bytes back.
	var back goldenOrder
	if err := javaLikeAvro.Unmarshal(schema, got[5:], &back); err != nil {
		t.Fatal(err)
	}
	if back.Amount.Cmp(want.Amount) != 0 || !back.Created.Equal(created) || back.ByCode[0] != want.ByCode[0] || *back.Nullables[1] != "n" || back.Billing.Street != "1 Main St" {
		t.Errorf("hamba/avro read %+v", back)
	}
}

// TestAvroReadForeign reads Avro written by a non-Connect producer (encoded
// with hamba/avro): enums, fixed, general unions, docs, defaults and
// logical types Connect does not know.
func TestAvroReadForeign(t *testing.T) {
	const text = `{"type":"record","name":"Reading","namespace":"io.sensor","doc":"A reading",
	 "fields":[
	  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["TEMP","HUMIDITY"],"doc":"what","default":"TEMP"}},
	  {"name":"mac","type":{"type":"fixed","name":"Mac","size":6}},
	  {"name":"value","type":["null","int","string",{"type":"record","name":"Pair","fields":[{"name":"a","type":"int"}]}]},
	  {"name":"level","type":"int","default":3,"doc":"level doc"},
	  {"name":"uuid","type":{"type":"string","logicalType":"uuid"}},
	  {"name":"micros","type":{"type":"long","logicalType":"timestamp-micros"}},
	  {"name":"fixed_dec","type":{"type":"fixed","name":"Dec","size":8,"logicalType":"decimal","precision":18,"scale":3}},
	  {"name":"labels","type":{"type":"map","values":["null","string"]}}
	 ]}`
	type reading struct {
		Kind     string             `avro:"kind"`
		Mac      [6]byte            `avro:"mac"`
		Value    any                `avro:"value"`
		Level    int                `avro:"level"`
		UUID     string             `avro:"uuid"`
		Micros   int64              `avro:"micros"`
		FixedDec *big.Rat           `avro:"fixed_dec"`
		Labels   map[string]*string `avro:"labels"`
	}
	schema, err := hamba.ParseWithCache(text, "", &hamba.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := startSRFake(t)
	id, _, err := reg.RegisterSchema("sensors-value", sr.Schema{Schema: text})
	if err != nil {
		t.Fatal(err)
	}
	lbl := "x"
	body, err := javaLikeAvro.Marshal(schema, reading{
		Kind: "HUMIDITY", Mac: [6]byte{1, 2, 3, 4, 5, 6},
		Value: map[string]any{"string": "hi"}, Level: 9, UUID: "u-u-i-d", Micros: 5,
		FixedDec: big.NewRat(-12345, 1000), Labels: map[string]*string{"k": &lbl, "n": nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte{0, 0, 0, 0, byte(id)}, body...)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	sv, err := c.ToConnect(avroCtx, "sensors", nil, data)
	if err != nil {
		t.Fatal(err)
	}
	s := sv.Schema
	if s.Name != "io.sensor.Reading" || s.Version != 1 {
		t.Errorf("schema name %q version %d, want io.sensor.Reading version 1 (from the registry)", s.Name, s.Version)
	}
	if d, _ := s.Parameters.Get(avroRecordDocParam); d != "A reading" {
		t.Errorf("record doc parameter %q", d)
	}
	if d, _ := s.Parameters.Get(avroFieldDocParam + "level"); d != "level doc" {
		t.Errorf("field doc parameter %q", d)
	}
	kind := s.Field("kind").Schema
	wantKind := connect.Parameters{
		{Key: avroEnumDocParam + "Kind", Value: "what"}, {Key: avroEnumDefaultParam + "Kind", Value: "TEMP"},
		{Key: avroEnumParam, Value: "io.sensor.Kind"}, {Key: avroEnumParam + ".TEMP", Value: "TEMP"}, {Key: avroEnumParam + ".HUMIDITY", Value: "HUMIDITY"},
	}
	if kind.Type != connect.TypeString || kind.Name != "io.sensor.Kind" || !kind.Equal(&connect.Schema{Type: connect.TypeString, Name: "io.sensor.Kind", Parameters: wantKind}) {
		t.Errorf("enum schema %s", dumpAvroSchema(kind))
	}
	if p, _ := s.Field("mac").Schema.Parameters.Get(avroFixedSizeParam); p != "6" || s.Field("mac").Schema.Name != "io.sensor.Mac" {
		t.Errorf("fixed schema %s", dumpAvroSchema(s.Field("mac").Schema))
	}
	level := s.Field("level").Schema
	if level.Default != int32(3) {
		t.Errorf("level default %v", level.Default)
	}
	if f, _ := level.Parameters.Get(avroFieldDefaultFlag); f != "true" {
		t.Error("a field default without connect.default lacks the field.default flag")
	}
	union := s.Field("value").Schema
	if union.Name != avroUnionName || !union.Optional || len(union.Fields) != 3 || union.Fields[2].Name != "Pair" {
		t.Errorf("union schema %s", dumpAvroSchema(union))
	}
	dec := s.Field("fixed_dec").Schema
	if dec.Name != connect.DecimalName {
		t.Errorf("fixed decimal schema %s", dumpAvroSchema(dec))
	}
	st := sv.Value.(*connect.Struct)
	get := func(n string) any { v, _ := st.Get(n); return v }
	if get("kind") != "HUMIDITY" || string(get("mac").([]byte)) != "\x01\x02\x03\x04\x05\x06" || get("level") != int32(9) || get("uuid") != "u-u-i-d" || get("micros") != int64(5) {
		t.Errorf("value %v", st)
	}
	if u := get("value").(*connect.Struct); u.At(1) != "hi" {
		t.Errorf("union value %v", u)
	}
	if d := get("fixed_dec").(connect.Decimal); !d.Equal(connect.NewDecimal(-12345, 3)) {
		t.Errorf("fixed decimal %v", d)
	}
	if l := get("labels").(map[string]any); l["k"] != "x" || l["n"] != nil || len(l) != 2 {
		t.Errorf("labels %v", l)
	}

	// Writing the Connect schema back produces Avro that reads the same.
	out, err := c.FromConnect(avroCtx, "sensors-copy", nil, s, st)
	if err != nil {
		t.Fatal(err)
	}
	sv2, err := c.ToConnect(avroCtx, "sensors-copy", nil, out)
	if err != nil {
		t.Fatal(err)
	}
	// The schema is the same but for the general union: its Avro field now
	// has a null default, read back with the field.default flag (as in
	// Confluent).
	st2 := sv2.Value.(*connect.Struct)
	for i, f := range s.Fields {
		g := sv2.Schema.Fields[i].Schema
		if f.Name == "value" {
			g = connect.FromSchema(g).MustBuild()
			g.Parameters = nil
		}
		if !g.Equal(f.Schema) || !connect.ValuesEqual(st2.At(i), st.At(i)) && f.Name != "value" {
			t.Errorf("field %s written back and read: %v (%s), want %v (%s)", f.Name, st2.At(i), dumpAvroSchema(g), st.At(i), dumpAvroSchema(f.Schema))
		}
	}
	if text, _ := reg.GetSchema("sensors-copy-value", 1); !strings.Contains(text.Schema.Schema, `"io.confluent.connect.avro.Enum":"io.sensor.Kind"`) {
		t.Errorf("enum metadata lost: %s", text.Schema.Schema)
	}
}
