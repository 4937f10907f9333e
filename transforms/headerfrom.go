package transforms

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/connect"
)

// HeaderFromOperation says whether HeaderFrom moves or copies fields.
type HeaderFromOperation string

// HeaderFrom operations (property "operation").
const (
	HeaderFromMove HeaderFromOperation = "move"
	HeaderFromCopy HeaderFromOperation = "copy"
)

// HeaderFromConfig configures HeaderFrom (Kafka Connect's
// org.apache.kafka.connect.transforms.HeaderFrom$Key / $Value).
type HeaderFromConfig struct {
	// Fields (property "fields", required) lists the fields to turn into
	// headers; Headers (property "headers", required) the header key for
	// each, in the same order.
	Fields  []string
	Headers []string
	// Operation (property "operation", required): move (remove the fields)
	// or copy (keep them).
	Operation HeaderFromOperation
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks that Fields and Headers are non-empty and of equal length
// and that Operation is move or copy.
func (c HeaderFromConfig) Validate() error {
	switch {
	case len(c.Fields) == 0:
		return configErr("fields", "empty list")
	case len(c.Headers) == 0:
		return configErr("headers", "empty list")
	case len(c.Fields) != len(c.Headers):
		return configErr("headers", "'fields' config must have the same number of elements as 'headers' config")
	case c.Operation != HeaderFromMove && c.Operation != HeaderFromCopy:
		return configErr("operation", "invalid value %q: must be one of move, copy", c.Operation)
	}
	return nil
}

// HeaderFrom moves or copies fields of the record key or value (a Struct or a
// map[string]any) into headers. With a schema the header carries the field's
// schema, and a move drops the fields from the schema (cached per input
// schema). A null key or value (whichever part it operates on) fails, as in
// Kafka Connect; the other part is not looked at. It is safe for concurrent
// use.
type HeaderFrom struct {
	part        Part
	fields      []string
	headers     []string
	move        bool
	replaceNull bool
	cache       schemaCache
}

// NewHeaderFrom returns a HeaderFrom for the given record part, or the
// config's validation error.
func NewHeaderFrom(cfg HeaderFromConfig, part Part) (*HeaderFrom, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &HeaderFrom{part: part, fields: slices.Clone(cfg.Fields), headers: slices.Clone(cfg.Headers),
		move: cfg.Operation == HeaderFromMove, replaceNull: !cfg.PreserveNulls}, nil
}

func headerFromFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := HeaderFromConfig{
			Fields:        p.requiredList("fields", true),
			Headers:       p.requiredList("headers", true),
			PreserveNulls: !p.boolean("replace.null.with.default", true),
		}
		if p.has("operation") {
			cfg.Operation = HeaderFromOperation(p.oneOf("operation", p.str("operation", ""), false, "move", "copy"))
		} else {
			p.required("operation")
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		return NewHeaderFrom(cfg, part)
	}
}

func (t *HeaderFrom) purpose() string {
	if t.move {
		return "header move"
	}
	return "header copy"
}

// Apply moves or copies the fields.
func (t *HeaderFrom) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	headers := make(connect.Headers, len(rec.Headers), len(rec.Headers)+len(t.fields))
	copy(headers, rec.Headers)
	if m, ok := value.(map[any]any); ok && schema == nil {
		// Any Map to Kafka Connect: the headers from its entries (a move
		// removes them from a copy, the other keys kept).
		out := m
		if t.move {
			out = maps.Clone(m)
		}
		for i, name := range t.fields {
			headers = append(headers, connect.Header{Key: t.headers[i], Value: m[name]})
			if t.move {
				delete(out, name)
			}
		}
		t.part.set(rec, nil, out)
		rec.Headers = headers
		return rec, nil
	}
	if schema == nil {
		m, err := requireMap(value, t.purpose())
		if err != nil {
			return nil, err
		}
		out := m
		if t.move {
			out = maps.Clone(m)
		}
		for i, name := range t.fields {
			headers = append(headers, connect.Header{Key: t.headers[i], Value: m[name]})
			if t.move {
				delete(out, name)
			}
		}
		t.part.set(rec, nil, out)
		rec.Headers = headers
		return rec, nil
	}
	st, err := requireStruct(value, t.purpose())
	if err != nil {
		return nil, err
	}
	in := st.Schema()
	for i, name := range t.fields {
		f := schema.Field(name)
		if f == nil {
			return nil, fmt.Errorf("field does not exist: %s", name)
		}
		var v any
		if sf := in.Field(name); sf != nil {
			v = fieldValue(st, sf, t.replaceNull)
		}
		headers = append(headers, connect.Header{Key: t.headers[i], Schema: f.Schema, Value: v})
	}
	if t.move {
		updated, err := t.cache.get(schema, t.buildSchema)
		if err != nil {
			return nil, err
		}
		out := connect.NewStruct(updated)
		k := 0 // the input field after the last one found: fields keep their order
		for i := range updated.Fields {
			f := &updated.Fields[i]
			sf := fieldAt(in, k, f.Name)
			if sf == nil {
				continue
			}
			k = sf.Index + 1
			if err := out.PutField(f, fieldValue(st, sf, t.replaceNull)); err != nil {
				return nil, err
			}
		}
		t.part.set(rec, updated, out)
	}
	rec.Headers = headers
	return rec, nil
}

func (t *HeaderFrom) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	b := copySchemaBasics(in, connect.StructBuilder())
	for _, f := range in.Fields {
		if !slices.Contains(t.fields, f.Name) {
			b.Field(f.Name, f.Schema)
		}
	}
	return b.Build()
}
