package transforms

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// HoistFieldConfig configures HoistField (Kafka Connect's
// org.apache.kafka.connect.transforms.HoistField$Key / $Value).
type HoistFieldConfig struct {
	// Field (property "field", required) names the single field of the
	// resulting Struct or map.
	Field string
}

// Validate checks the config; every HoistFieldConfig is valid (an empty
// Field hoists under the field "", as Kafka Connect accepts field="").
func (c HoistFieldConfig) Validate() error { return nil }

// HoistField wraps the record key or value in a Struct (schema: a struct with
// the one field, cached per input schema) or a map[string]any (schemaless)
// under Field. A null value is wrapped too ({field: null}), as in Kafka
// Connect; with a required schema that fails. It is safe for concurrent use.
type HoistField struct {
	part  Part
	field string
	cache schemaCache
}

// NewHoistField returns a HoistField for the given record part, or the
// config's validation error.
func NewHoistField(cfg HoistFieldConfig, part Part) (*HoistField, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &HoistField{part: part, field: cfg.Field}, nil
}

func hoistFieldFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := HoistFieldConfig{Field: p.required("field")}
		if err := p.err(); err != nil {
			return nil, err
		}
		return NewHoistField(cfg, part)
	}
}

// Apply wraps the value.
func (t *HoistField) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if schema == nil {
		t.part.set(rec, nil, map[string]any{t.field: value})
		return rec, nil
	}
	updated, err := t.cache.get(schema, t.buildSchema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	if err := out.PutField(&updated.Fields[0], value); err != nil {
		return nil, err
	}
	t.part.set(rec, updated, out)
	return rec, nil
}

func (t *HoistField) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	return connect.StructBuilder().Field(t.field, in).Build()
}
