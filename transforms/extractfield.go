package transforms

import (
	"context"
	"errors"

	"github.com/sluicehq/sluice/connect"
)

// ExtractFieldConfig configures ExtractField (Kafka Connect's
// org.apache.kafka.connect.transforms.ExtractField$Key / $Value).
type ExtractFieldConfig struct {
	// Field (property "field", required) is the field to extract: a name
	// (FieldSyntaxV1) or a dotted path to a nested field (FieldSyntaxV2).
	Field string
	// Syntax (property "field.syntax.version", V1 or V2, default V1).
	Syntax FieldSyntax
	// PreserveNulls extracts a null field as null instead of its schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks that Field is well formed: any text for V1 (the empty
// name included, as Kafka Connect accepts field=""), a non-empty V2 path.
// The properties field="" with field.syntax.version=V2 are accepted, as
// Kafka Connect accepts them; every record then fails, except a schemaless
// null, which stays null.
func (c ExtractFieldConfig) Validate() error {
	if c.Field == "" && c.Syntax == FieldSyntaxV2 {
		return configErr("field", "must be non-empty with field.syntax.version=V2")
	}
	if c.Syntax != FieldSyntaxV1 && c.Syntax != FieldSyntaxV2 {
		return configErr("field.syntax.version", "invalid syntax %d", c.Syntax)
	}
	if _, err := parseFieldPath(c.Field, c.Syntax); err != nil {
		return configErr("field", "%v", err)
	}
	return nil
}

// ExtractField replaces the record key or value by one of its fields: from a
// Struct (the new schema is the field's schema) or a map[string]any. A null
// key or value stays null (with a schema, it takes the field's schema); a
// field missing from a map yields null; a field missing from a schema fails.
// It is safe for concurrent use.
type ExtractField struct {
	part        Part
	path        fieldPath
	replaceNull bool
	// noPath is field="" with field.syntax.version=V2 given as
	// properties: Kafka Connect accepts it and then fails every record
	// but a schemaless null (its path has no step).
	noPath bool
}

// NewExtractField returns an ExtractField for the given record part, or the
// config's validation error.
func NewExtractField(cfg ExtractFieldConfig, part Part) (*ExtractField, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	path, _ := parseFieldPath(cfg.Field, cfg.Syntax)
	return &ExtractField{part: part, path: path, replaceNull: !cfg.PreserveNulls}, nil
}

func extractFieldFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := ExtractFieldConfig{
			Field:         p.required("field"),
			Syntax:        parseFieldSyntax(p),
			PreserveNulls: !p.boolean("replace.null.with.default", true),
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		if cfg.Field == "" && cfg.Syntax == FieldSyntaxV2 {
			if err := part.validate(); err != nil {
				return nil, err
			}
			return &ExtractField{part: part, replaceNull: !cfg.PreserveNulls, noPath: true}, nil
		}
		return NewExtractField(cfg, part)
	}
}

const extractPurpose = "field extraction"

var errExtractNoPath = errors.New("field: the empty V2 path names no field")

// Apply extracts the field.
func (t *ExtractField) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if schema == nil {
		m, err := requireMapOrNull(value, extractPurpose)
		if err != nil {
			return nil, err
		}
		var v any
		if m != nil {
			if t.noPath {
				return nil, errExtractNoPath
			}
			if v, err = t.path.valueFromMap(m); err != nil {
				return nil, err
			}
		}
		t.part.set(rec, nil, v)
		return rec, nil
	}
	st, err := requireStructOrNull(value, extractPurpose)
	if err != nil {
		return nil, err
	}
	if t.noPath {
		return nil, errExtractNoPath
	}
	f := t.path.fieldFrom(schema)
	if f == nil {
		// Kafka Connect: new IllegalArgumentException("Unknown field: " + fieldName).
		return nil, &javaException{class: "java.lang.IllegalArgumentException",
			text: "unknown field: " + t.path.text, msg: "Unknown field: " + t.path.text}
	}
	var v any
	if st != nil {
		if v, err = t.path.valueFromStruct(st, t.replaceNull); err != nil {
			return nil, err
		}
	}
	t.part.set(rec, f.Schema, v)
	return rec, nil
}
