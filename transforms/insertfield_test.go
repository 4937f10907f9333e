package transforms

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

func TestInsertField(t *testing.T) {
	cfg := InsertFieldConfig{TopicField: "topic_field!", PartitionField: "partition_field", OffsetField: "offset_field!",
		TimestampField: "timestamp_field?", StaticField: "instance_id", StaticValue: "my-instance-id"}
	ts := time.UnixMilli(1700000000123).UTC()
	both(t, func(t *testing.T, p Part) {
		tr := must(NewInsertField(cfg, p))
		t.Run("schema", func(t *testing.T) {
			orig := person()
			out := mustApply(t, tr, withPart(sinkRec("test", personSchema, orig), p))
			checkOther(t, out, p)
			s, v := p.get(out)
			st := v.(*connect.Struct)
			if s != st.Schema() || s.Name != "com.acme.Person" || s.Version != 2 || s.Doc != "a person" {
				t.Fatalf("schema %v", s)
			}
			for name, want := range map[string]any{"id": int32(7), "name": "Ann", "topic_field": "test", "partition_field": int32(3),
				"offset_field": int64(42), "timestamp_field": ts, "instance_id": "my-instance-id"} {
				eq(t, get(t, st, name), want)
			}
			// null field with a default is copied as the default (replace.null.with.default=true)
			eq(t, get(t, st, "age"), int32(18))
			for name, opt := range map[string]bool{"topic_field": false, "partition_field": true, "offset_field": false, "timestamp_field": true, "instance_id": true} {
				if f := s.Field(name); f.Schema.Optional != opt {
					t.Fatalf("%s optional=%v", name, f.Schema.Optional)
				}
			}
			if s.Field("timestamp_field").Schema.Name != connect.TimestampName {
				t.Fatal("timestamp field is not a Timestamp")
			}
			if err := st.Validate(); err != nil {
				t.Fatal(err)
			}
			// The input is untouched and a second record reuses the schema.
			if orig.Schema() != personSchema || len(orig.Schema().Fields) != 4 {
				t.Fatal("input modified")
			}
			s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("test", personSchema, person()), p)))
			if s2 != s {
				t.Fatal("schema rebuilt for the same input schema")
			}
		})
		t.Run("schemaless", func(t *testing.T) {
			orig := personMap()
			out := mustApply(t, tr, withPart(sinkRec("test", nil, orig), p))
			_, v := p.get(out)
			m := v.(map[string]any)
			for name, want := range map[string]any{"id": int32(7), "topic_field": "test", "partition_field": int32(3),
				"offset_field": int64(42), "timestamp_field": int64(1700000000123), "instance_id": "my-instance-id"} {
				eq(t, m[name], want)
			}
			if len(orig) != 3 {
				t.Fatal("input map modified")
			}
		})
		t.Run("tombstone", func(t *testing.T) {
			for _, s := range []*connect.Schema{nil, personSchema} {
				in := withPart(sinkRec("test", s, nil), p)
				out := mustApply(t, tr, in)
				if os, ov := p.get(out); ov != nil || os != s {
					t.Fatalf("tombstone changed: %v %v", os, ov)
				}
			}
		})
		t.Run("offset on source record", func(t *testing.T) {
			_, err := tr.Apply(ctx, withPart(sourceRec("test", nil, personMap()), p))
			wantErr(t, err, "only sink records supported")
		})
		t.Run("source without partition and timestamp", func(t *testing.T) {
			tr := must(NewInsertField(InsertFieldConfig{PartitionField: "p", TimestampField: "ts"}, p))
			out := mustApply(t, tr, withPart(sourceRec("test", personSchema, person()), p))
			_, v := p.get(out)
			eq(t, get(t, v, "p"), nil)
			eq(t, get(t, v, "ts"), nil)
			out = mustApply(t, tr, withPart(sourceRec("test", nil, personMap()), p))
			_, v = p.get(out)
			if _, ok := v.(map[string]any)["p"]; ok {
				t.Fatal("partition inserted without partition")
			}
		})
		t.Run("not a struct", func(t *testing.T) {
			_, err := tr.Apply(ctx, withPart(sinkRec("t", connect.StringSchema, "x"), p))
			wantErr(t, err, "only Struct values supported for [field insertion], found: string")
			_, err = tr.Apply(ctx, withPart(sinkRec("t", nil, "x"), p))
			wantErr(t, err, "only map[string]any values supported in absence of schema for [field insertion], found: string")
		})
		t.Run("duplicate field", func(t *testing.T) {
			tr := must(NewInsertField(InsertFieldConfig{TopicField: "name"}, p))
			_, err := tr.Apply(ctx, withPart(sinkRec("t", personSchema, person()), p))
			wantErr(t, err, `duplicate field "name"`)
		})
	})
}

func TestInsertFieldPreserveNulls(t *testing.T) {
	tr := must(NewInsertField(InsertFieldConfig{TopicField: "t", PreserveNulls: true}, Value))
	out := mustApply(t, tr, sinkRec("x", personSchema, person()))
	eq(t, get(t, out.Value, "age"), nil)
}

func TestInsertFieldConfig(t *testing.T) {
	f := insertFieldFactory(Value)
	_, err := f(map[string]string{})
	wantErr(t, err, "no field insertion configured")
	_, err = f(map[string]string{"static.field": "s"})
	wantErr(t, err, "static.value: no value specified")
	_, err = f(map[string]string{"static.field": "s", "static.value": "", "replace.null.with.default": "nope"})
	wantErr(t, err, "replace.null.with.default: invalid value")
	tr := must(f(map[string]string{"static.field": "s", "static.value": ""}))
	out := mustApply(t, tr, sourceRec("x", nil, map[string]any{}))
	eq(t, out.Value.(map[string]any)["s"], "")
}
