package transforms

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// smtCase is one SMT on a representative record, for benchmarks and the
// schema-cache test.
type smtCase struct {
	name   string
	props  map[string]string
	typ    string
	record func() *connect.Record
}

func benchRecord(schema bool) func() *connect.Record {
	st := person()
	m := personMap()
	return func() *connect.Record {
		r := &connect.Record{Topic: "orders-eu", Partition: 2, HasPartition: true, Offset: 10,
			OriginalTopic: "orders-eu", Timestamp: time.UnixMilli(1700000000000), Key: "k", KeySchema: connect.StringSchema}
		r.Headers = connect.Headers{{Key: "a", Schema: connect.StringSchema, Value: "1"}, {Key: "b", Schema: connect.StringSchema, Value: "2"}}
		if schema {
			r.ValueSchema, r.Value = personSchema, st
		} else {
			r.Value = m
		}
		return r
	}
}

func tsRecord(schema bool) func() *connect.Record {
	s := connect.StructBuilder().Field("id", connect.Int32Schema).Field("ts", connect.Int64Schema).MustBuild()
	st := connect.NewStruct(s).MustPut("id", int32(1)).MustPut("ts", int64(1700000000000))
	m := map[string]any{"id": int32(1), "ts": int64(1700000000000)}
	return func() *connect.Record {
		r := &connect.Record{Topic: "t"}
		if schema {
			r.ValueSchema, r.Value = s, st
		} else {
			r.Value = m
		}
		return r
	}
}

func nestedRecord(schema bool) func() *connect.Record {
	st := customer()
	m := customerMap()
	return func() *connect.Record {
		r := &connect.Record{Topic: "t"}
		if schema {
			r.ValueSchema, r.Value = customerSchema, st
		} else {
			r.Value = m
		}
		return r
	}
}

func smtCases() []smtCase {
	var cs []smtCase
	for _, schema := range []bool{true, false} {
		suffix := "/schemaless"
		if schema {
			suffix = "/schema"
		}
		rec, ts, nested := benchRecord(schema), tsRecord(schema), nestedRecord(schema)
		cs = append(cs,
			smtCase{"Cast" + suffix, map[string]string{"spec": "id:int64,name:string"}, "Cast$Value", rec},
			smtCase{"ExtractField" + suffix, map[string]string{"field": "address.city", "field.syntax.version": "V2"}, "ExtractField$Value", nested},
			smtCase{"Flatten" + suffix, map[string]string{}, "Flatten$Value", nested},
			smtCase{"HeaderFrom" + suffix, map[string]string{"fields": "name", "headers": "n", "operation": "move"}, "HeaderFrom$Value", rec},
			smtCase{"HoistField" + suffix, map[string]string{"field": "wrapped"}, "HoistField$Value", rec},
			smtCase{"InsertField" + suffix, map[string]string{"topic.field": "topic", "partition.field": "partition", "offset.field": "offset",
				"timestamp.field": "ts", "static.field": "s", "static.value": "v"}, "InsertField$Value", rec},
			smtCase{"MaskField" + suffix, map[string]string{"fields": "name,email"}, "MaskField$Value", rec},
			smtCase{"ReplaceField" + suffix, map[string]string{"exclude": "email", "renames": "name:full_name"}, "ReplaceField$Value", rec},
			smtCase{"TimestampConverter" + suffix, map[string]string{"field": "ts", "target.type": "string", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"}, "TimestampConverter$Value", ts},
			smtCase{"ValueToKey" + suffix, map[string]string{"fields": "id,name"}, "ValueToKey", rec},
		)
	}
	rec := benchRecord(false)
	cs = append(cs,
		smtCase{"SetSchemaMetadata/schema", map[string]string{"schema.name": "n", "schema.version": "3"}, "SetSchemaMetadata$Value", benchRecord(true)},
		smtCase{"DropHeaders", map[string]string{"headers": "a"}, "DropHeaders", rec},
		smtCase{"Filter", nil, "Filter", rec},
		smtCase{"InsertHeader", map[string]string{"header": "h", "value.literal": "42"}, "InsertHeader", rec},
		smtCase{"RegexRouter", map[string]string{"regex": "orders-(.*)", "replacement": "sales-$1"}, "RegexRouter", rec},
		smtCase{"TimestampRouter", map[string]string{}, "TimestampRouter", rec},
	)
	return cs
}

// BenchmarkSMT reports ns and allocations per record for every built-in SMT
// (schema'd and schemaless where both apply).
func BenchmarkSMT(b *testing.B) {
	reg := NewRegistry()
	for _, c := range smtCases() {
		b.Run(c.name, func(b *testing.B) {
			tr := must(reg.NewTransformation(c.typ, c.props))
			base := c.record()
			var r connect.Record // reused: the copy the runtime hands the chain is not the SMT's cost
			b.ReportAllocs()
			for b.Loop() {
				r = *base
				if _, err := tr.Apply(ctx, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChain measures a property-built chain with predicates.
func BenchmarkChain(b *testing.B) {
	c := must(NewRegistry().ParseChain(map[string]string{
		"transforms":                   "drop,route,ins",
		"transforms.drop.type":         "Filter",
		"transforms.drop.predicate":    "tomb",
		"transforms.route.type":        "RegexRouter",
		"transforms.route.regex":       "orders-(.*)",
		"transforms.route.replacement": "sales-$1",
		"transforms.ins.type":          "InsertField$Value",
		"transforms.ins.topic.field":   "topic",
		"transforms.ins.predicate":     "audit",
		"transforms.ins.negate":        "true",
		"predicates":                   "tomb,audit",
		"predicates.tomb.type":         "RecordIsTombstone",
		"predicates.audit.type":        "TopicNameMatches",
		"predicates.audit.pattern":     "audit-.*",
	}))
	base := benchRecord(true)()
	var r connect.Record
	b.ReportAllocs()
	for b.Loop() {
		r = *base
		if _, err := c.Apply(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSchemaCacheNoRebuild checks that schema-updating SMTs build one output
// schema per input schema, not one per record, and return the same schema
// pointer for every record of that schema.
func TestSchemaCacheNoRebuild(t *testing.T) {
	reg := NewRegistry()
	for _, c := range smtCases() {
		t.Run(c.name, func(t *testing.T) {
			tr := must(reg.NewTransformation(c.typ, c.props))
			var first *connect.Schema
			for i := 0; i < 50; i++ {
				out, err := tr.Apply(ctx, c.record())
				if err != nil {
					t.Fatal(err)
				}
				if out == nil {
					return
				}
				s := out.ValueSchema
				if c.typ == "ValueToKey" {
					s = out.KeySchema
				}
				if i == 0 {
					first = s
				} else if s != first {
					t.Fatalf("record %d got another schema pointer", i)
				}
			}
			if sc := cacheOf(tr); sc != nil && sc.builds.Load() > 1 {
				t.Fatalf("%d schemas built for one input schema", sc.builds.Load())
			}
		})
	}
}

func cacheOf(tr Transformation) *schemaCache {
	switch x := tr.(type) {
	case *Cast:
		return &x.cache
	case *Flatten:
		return &x.cache
	case *HeaderFrom:
		return &x.cache
	case *HoistField:
		return &x.cache
	case *InsertField:
		return &x.cache
	case *ReplaceField:
		return &x.cache
	case *SetSchemaMetadata:
		return &x.cache
	case *TimestampConverter:
		return &x.cache
	case *ValueToKey:
		return &x.cache
	}
	return nil
}

func TestSchemaCacheEqualSchemasAndEviction(t *testing.T) {
	tr := must(NewInsertField(InsertFieldConfig{TopicField: "t"}, Value))
	// An equal schema under another pointer maps to the same output schema.
	clone := *personSchema
	a := mustApply(t, tr, sinkRec("x", personSchema, person())).ValueSchema
	st := connect.NewStruct(&clone).MustPut("id", int32(1)).MustPut("name", "n")
	b := mustApply(t, tr, sinkRec("x", &clone, st)).ValueSchema
	if a != b || tr.cache.builds.Load() != 1 {
		t.Fatal("equal schema rebuilt")
	}
	// More distinct schemas than the cache holds: bounded, still correct.
	for i := 0; i < 3*schemaCacheSize; i++ {
		s := connect.StructBuilder().Version(int32(i+1)).Field("f", connect.Int32Schema).MustBuild()
		out := mustApply(t, tr, sinkRec("x", s, connect.NewStruct(s).MustPut("f", int32(i))))
		if out.ValueSchema.Version != int32(i+1) {
			t.Fatal("wrong schema from cache")
		}
	}
	if n := len(*tr.cache.entries.Load()); n != schemaCacheSize {
		t.Fatalf("cache holds %d entries", n)
	}
}
