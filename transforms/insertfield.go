package transforms

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// InsertFieldConfig configures InsertField (Kafka Connect's
// org.apache.kafka.connect.transforms.InsertField$Key / $Value). Each field
// name may end in "!" to make the inserted field required, or "?" to keep it
// optional (the default); an empty name inserts nothing.
type InsertFieldConfig struct {
	// TopicField (property "topic.field") receives the record topic.
	TopicField string
	// PartitionField ("partition.field") receives the Kafka partition, when
	// the record has one.
	PartitionField string
	// OffsetField ("offset.field") receives the Kafka offset; sink records
	// only (records with OriginalTopic set): on a source record it fails.
	OffsetField string
	// TimestampField ("timestamp.field") receives the record timestamp, when
	// the record has one: a Timestamp (time.Time) with a schema, epoch
	// milliseconds (int64) without.
	TimestampField string
	// StaticField ("static.field") receives StaticValue ("static.value").
	StaticField string
	StaticValue string
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

type insertionSpec struct {
	name     string
	optional bool
	set      bool
}

func parseInsertionSpec(s string) insertionSpec {
	switch {
	case s == "":
		return insertionSpec{}
	case strings.HasSuffix(s, "?"):
		return insertionSpec{s[:len(s)-1], true, true}
	case strings.HasSuffix(s, "!"):
		return insertionSpec{s[:len(s)-1], false, true}
	}
	return insertionSpec{s, true, true}
}

// Validate checks that at least one field is configured and that no field
// name is empty once its suffix is removed.
func (c InsertFieldConfig) Validate() error {
	configured := false
	for _, kv := range [...][2]string{{"topic.field", c.TopicField}, {"partition.field", c.PartitionField},
		{"offset.field", c.OffsetField}, {"timestamp.field", c.TimestampField}, {"static.field", c.StaticField}} {
		s := parseInsertionSpec(kv[1])
		if s.set {
			configured = true
			if s.name == "" {
				return configErr(kv[0], "field name must not be empty")
			}
		}
	}
	if !configured {
		return configErr("", "no field insertion configured")
	}
	return nil
}

// InsertField inserts record metadata (topic, partition, offset, timestamp)
// and a static string into the record key or value, a Struct (its schema is
// extended, cached per input schema) or a map[string]any (schemaless).
// Tombstones (null key or value) pass through unchanged. It is safe for
// concurrent use.
type InsertField struct {
	part                                        Part
	topic, partition, offset, timestamp, static insertionSpec
	staticValue                                 string
	replaceNull                                 bool
	cache                                       schemaCache
}

// NewInsertField returns an InsertField for the given record part, or the
// config's validation error.
func NewInsertField(cfg InsertFieldConfig, part Part) (*InsertField, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &InsertField{
		part:        part,
		topic:       parseInsertionSpec(cfg.TopicField),
		partition:   parseInsertionSpec(cfg.PartitionField),
		offset:      parseInsertionSpec(cfg.OffsetField),
		timestamp:   parseInsertionSpec(cfg.TimestampField),
		static:      parseInsertionSpec(cfg.StaticField),
		staticValue: cfg.StaticValue,
		replaceNull: !cfg.PreserveNulls,
	}, nil
}

// insertFieldFactory reads the properties as Kafka Connect does: a field
// property that is present names a field even when empty ("" or a bare "!"
// or "?" inserts a field named ""), and static.value is kept as it is after
// Java's trim.
func insertFieldFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		spec := func(key string) insertionSpec {
			v, ok := p.lookup(key)
			if !ok {
				return insertionSpec{}
			}
			if v == "" {
				return insertionSpec{name: "", optional: true, set: true}
			}
			return parseInsertionSpec(v)
		}
		t := &InsertField{
			part:        part,
			topic:       spec("topic.field"),
			partition:   spec("partition.field"),
			offset:      spec("offset.field"),
			timestamp:   spec("timestamp.field"),
			static:      spec("static.field"),
			staticValue: p.str("static.value", ""),
			replaceNull: p.boolean("replace.null.with.default", true),
		}
		if !t.topic.set && !t.partition.set && !t.offset.set && !t.timestamp.set && !t.static.set {
			p.fail("", "no field insertion configured")
		}
		if t.static.set && !p.has("static.value") {
			p.fail("static.value", "no value specified for static field %q", t.static.name)
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		if err := part.validate(); err != nil {
			return nil, err
		}
		return t, nil
	}
}

const insertPurpose = "field insertion"

// putSchemaless puts the configured fields of a schemaless value.
func (t *InsertField) putSchemaless(rec *connect.Record, put func(k string, v any)) error {
	if t.topic.set {
		put(t.topic.name, rec.Topic)
	}
	if t.partition.set && rec.HasPartition {
		put(t.partition.name, rec.Partition)
	}
	if t.offset.set {
		if !isSinkRecord(rec) {
			return errOffsetSource
		}
		put(t.offset.name, rec.Offset)
	}
	if ms, ok := recordMillis(rec); t.timestamp.set && ok {
		put(t.timestamp.name, ms)
	}
	if t.static.set {
		put(t.static.name, t.staticValue)
	}
	return nil
}

// Apply inserts the configured fields.
func (t *InsertField) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if value == nil {
		return rec, nil
	}
	if schema == nil {
		if m, ok := value.(map[any]any); ok {
			// Any Map to Kafka Connect: a copy with the fields put (the
			// other keys kept).
			out := make(map[any]any, len(m)+5)
			maps.Copy(out, m)
			if err := t.putSchemaless(rec, func(k string, v any) { out[k] = v }); err != nil {
				return nil, err
			}
			t.part.set(rec, nil, out)
			return rec, nil
		}
		m, err := requireMap(value, insertPurpose)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m)+5)
		maps.Copy(out, m)
		if err := t.putSchemaless(rec, func(k string, v any) { out[k] = v }); err != nil {
			return nil, err
		}
		t.part.set(rec, nil, out)
		return rec, nil
	}
	st, err := requireStruct(value, insertPurpose)
	if err != nil {
		return nil, err
	}
	updated, err := t.cache.get(st.Schema(), t.buildSchema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	in := st.Schema()
	for i := range in.Fields {
		f := &in.Fields[i]
		if err := out.PutField(&updated.Fields[i], fieldValue(st, f, t.replaceNull)); err != nil {
			return nil, err
		}
	}
	n := len(in.Fields)
	if t.topic.set {
		if err := out.PutField(&updated.Fields[n], rec.Topic); err != nil {
			return nil, err
		}
		n++
	}
	if t.partition.set {
		if rec.HasPartition {
			if err := out.PutField(&updated.Fields[n], rec.Partition); err != nil {
				return nil, err
			}
		}
		n++
	}
	if t.offset.set {
		if !isSinkRecord(rec) {
			return nil, errOffsetSource
		}
		if err := out.PutField(&updated.Fields[n], rec.Offset); err != nil {
			return nil, err
		}
		n++
	}
	if t.timestamp.set {
		if ms, ok := recordMillis(rec); ok {
			if err := out.PutField(&updated.Fields[n], millisTime(ms)); err != nil {
				return nil, err
			}
		}
		n++
	}
	if t.static.set {
		if err := out.PutField(&updated.Fields[n], t.staticValue); err != nil {
			return nil, err
		}
	}
	t.part.set(rec, updated, out)
	return rec, nil
}

var errOffsetSource = fmt.Errorf("only sink records supported for [%s] of an offset field, found: a source record (no OriginalTopic)", insertPurpose)

var optionalTimestampSchema = connect.TimestampBuilder().Optional().MustBuild()

func (t *InsertField) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	b := copySchemaBasics(in, connect.StructBuilder())
	for _, f := range in.Fields {
		b.Field(f.Name, f.Schema)
	}
	pick := func(spec insertionSpec, opt, req *connect.Schema) {
		if !spec.set {
			return
		}
		if spec.optional {
			b.Field(spec.name, opt)
		} else {
			b.Field(spec.name, req)
		}
	}
	pick(t.topic, connect.OptionalStringSchema, connect.StringSchema)
	pick(t.partition, connect.OptionalInt32Schema, connect.Int32Schema)
	pick(t.offset, connect.OptionalInt64Schema, connect.Int64Schema)
	pick(t.timestamp, optionalTimestampSchema, connect.TimestampSchema)
	pick(t.static, connect.OptionalStringSchema, connect.StringSchema)
	return b.Build()
}
