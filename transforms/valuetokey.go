package transforms

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/connect"
)

// ValueToKeyConfig configures ValueToKey (Kafka Connect's
// org.apache.kafka.connect.transforms.ValueToKey).
type ValueToKeyConfig struct {
	// Fields (property "fields", required, non-empty) lists the value fields
	// that form the new key, in order.
	Fields []string
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks that Fields is non-empty. Duplicates are allowed and
// dropped (the first kept), as Kafka Connect's ConfigDef drops them.
func (c ValueToKeyConfig) Validate() error {
	if len(c.Fields) == 0 {
		return configErr("fields", "empty list")
	}
	return nil
}

// ValueToKey replaces the record key with a Struct (schema'd values; key
// schema cached per value schema) or a map[string]any (schemaless) made of
// the given value fields. The value must be a Struct or map: a null value
// (tombstone) fails, as in Kafka Connect. It is safe for concurrent use.
type ValueToKey struct {
	fields      []string
	replaceNull bool
	cache       schemaCache
}

// NewValueToKey returns a ValueToKey, or the config's validation error.
func NewValueToKey(cfg ValueToKeyConfig) (*ValueToKey, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &ValueToKey{fields: dedup(slices.Clone(cfg.Fields)), replaceNull: !cfg.PreserveNulls}, nil
}

func valueToKeyFactory(m map[string]string) (Transformation, error) {
	p := newProps(m)
	cfg := ValueToKeyConfig{
		Fields:        p.validList("fields", p.requiredList("fields", true)),
		PreserveNulls: !p.boolean("replace.null.with.default", true),
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return NewValueToKey(cfg)
}

const valueToKeyPurpose = "copying fields from value to key"

// Apply builds the key.
//
// Its failures are Kafka Connect's DataException (connect.JavaClassNamer),
// as all of ValueToKey's record-time failures in Kafka Connect.
func (t *ValueToKey) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	out, err := t.apply(rec)
	if err != nil {
		return nil, asDataException(err)
	}
	return out, nil
}

func (t *ValueToKey) apply(rec *connect.Record) (*connect.Record, error) {
	if rec.ValueSchema == nil {
		m, err := requireMap(rec.Value, valueToKeyPurpose)
		if err != nil {
			return nil, err
		}
		key := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			key[f] = m[f]
		}
		rec.KeySchema, rec.Key = nil, key
		return rec, nil
	}
	st, err := requireStruct(rec.Value, valueToKeyPurpose)
	if err != nil {
		return nil, err
	}
	in := st.Schema()
	keySchema, err := t.cache.get(in, t.buildSchema)
	if err != nil {
		return nil, err
	}
	key := connect.NewStruct(keySchema)
	for i, name := range t.fields {
		if err := key.PutField(&keySchema.Fields[i], fieldValue(st, in.Field(name), t.replaceNull)); err != nil {
			return nil, err
		}
	}
	rec.KeySchema, rec.Key = keySchema, key
	return rec, nil
}

func (t *ValueToKey) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	b := connect.StructBuilder()
	for _, name := range t.fields {
		f := in.Field(name)
		if f == nil {
			return nil, fmt.Errorf("field does not exist: %s", name)
		}
		b.Field(name, f.Schema)
	}
	return b.Build()
}
