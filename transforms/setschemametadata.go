package transforms

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// SetSchemaMetadataConfig configures SetSchemaMetadata (Kafka Connect's
// org.apache.kafka.connect.transforms.SetSchemaMetadata$Key / $Value).
type SetSchemaMetadataConfig struct {
	// SchemaName (property "schema.name") replaces the schema name when set.
	SchemaName string
	// SchemaVersion (property "schema.version") replaces the schema version
	// when non-zero.
	SchemaVersion int32
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks that a name or a version is set.
func (c SetSchemaMetadataConfig) Validate() error {
	if c.SchemaName == "" && c.SchemaVersion == 0 {
		return configErr("", "neither schema name nor version configured")
	}
	return nil
}

// SetSchemaMetadata sets the name and/or version of the key or value schema,
// keeping everything else (a Struct value is rebuilt on the new schema). The
// key or value must have a schema, unless it is null (a null without a
// schema passes through, as in Kafka Connect). As in Kafka Connect 4.3.1,
// whose SetSchemaMetadata lists the schema's fields unconditionally, only a
// STRUCT schema can be updated: any other schema fails the record. New
// schemas are cached per input schema. It is safe for concurrent use.
type SetSchemaMetadata struct {
	part        Part
	name        string
	version     int32
	nameSet     bool // name replaces the schema's, even when ""
	versionSet  bool // version replaces the schema's, even when 0
	replaceNull bool
	cache       schemaCache
}

// NewSetSchemaMetadata returns a SetSchemaMetadata for the given record part,
// or the config's validation error.
func NewSetSchemaMetadata(cfg SetSchemaMetadataConfig, part Part) (*SetSchemaMetadata, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SetSchemaMetadata{part: part, name: cfg.SchemaName, version: cfg.SchemaVersion,
		nameSet: cfg.SchemaName != "", versionSet: cfg.SchemaVersion != 0, replaceNull: !cfg.PreserveNulls}, nil
}

// setSchemaMetadataFactory reads the properties as Kafka Connect does: a
// schema.name or schema.version that is present is set, even as "" (no
// name) or 0 (no version).
func setSchemaMetadataFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		name, nameSet := p.lookup("schema.name")
		version, versionSet := p.int32Value("schema.version")
		replaceNull := p.boolean("replace.null.with.default", true)
		if !nameSet && !versionSet && !p.has("schema.version") {
			p.fail("", "neither schema name nor version configured")
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		if err := part.validate(); err != nil {
			return nil, err
		}
		return &SetSchemaMetadata{part: part, name: name, version: version, nameSet: nameSet,
			versionSet: versionSet, replaceNull: replaceNull}, nil
	}
}

var (
	// Kafka Connect: Requirements.requireSchema's DataException.
	errSchemaRequired = &dataException{text: "schema required for [updating schema metadata]", msg: "Schema required for [updating schema metadata]"}
	// Kafka Connect: ConnectSchema.fields()'s DataException (connect-api).
	errNotStruct = &dataException{text: "cannot list fields on non-struct type (SetSchemaMetadata updates STRUCT schemas only, as Kafka Connect)",
		msg: "Cannot list fields on non-struct type"}
)

// Apply replaces the schema metadata.
func (t *SetSchemaMetadata) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if schema == nil && value == nil {
		return rec, nil
	}
	if schema == nil {
		return nil, errSchemaRequired
	}
	if schema.Type != connect.TypeStruct {
		return nil, errNotStruct
	}
	updated, err := t.cache.get(schema, t.buildSchema)
	if err != nil {
		return nil, err
	}
	if st, ok := value.(*connect.Struct); ok && st != nil {
		out := connect.NewStruct(updated)
		in := st.Schema()
		for i := range updated.Fields {
			f := &updated.Fields[i]
			if sf := fieldAt(in, i, f.Name); sf != nil {
				if err := out.PutField(f, fieldValue(st, sf, t.replaceNull)); err != nil {
					return nil, err
				}
			}
		}
		value = out
	}
	t.part.set(rec, updated, value)
	return rec, nil
}

func (t *SetSchemaMetadata) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	out := *in // fields, parameters and nested schemas are shared, never modified
	if t.nameSet {
		out.Name, out.HasName = t.name, true
	}
	if t.versionSet {
		out.Version, out.HasVersion = t.version, true
	}
	return &out, nil
}
