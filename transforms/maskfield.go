package transforms

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// MaskFieldConfig configures MaskField (Kafka Connect's
// org.apache.kafka.connect.transforms.MaskField$Key / $Value).
type MaskFieldConfig struct {
	// Fields (property "fields", required, non-empty) lists the fields to
	// mask.
	Fields []string
	// Replacement (property "replacement") replaces numeric and string
	// values, converted to the field's type; empty masks with the type's
	// empty value instead (0, false, "", empty array/map, the epoch).
	Replacement string
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks that Fields is non-empty.
func (c MaskFieldConfig) Validate() error {
	if len(c.Fields) == 0 {
		return configErr("fields", "empty list")
	}
	return nil
}

// MaskField replaces fields of the record key or value (a Struct, whose
// schema is kept, or a map[string]any) with a type-appropriate empty value or
// a replacement. Null fields stay null. A replacement that does not convert
// to the field's type (e.g. "x" for an int32), or a replacement for a
// boolean, date or container, fails the record, as in Kafka Connect.
//
// Differences from Kafka Connect: tombstones (null key or value) pass through
// instead of failing; BYTES fields mask to an empty byte slice instead of
// failing; a Decimal masks to zero with the field's scale.
// It is safe for concurrent use.
type MaskField struct {
	part        Part
	fields      []string
	replacement string
	hasRepl     bool
	replaceNull bool
}

// NewMaskField returns a MaskField for the given record part, or the config's
// validation error.
func NewMaskField(cfg MaskFieldConfig, part Part) (*MaskField, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &MaskField{part: part, fields: slices.Clone(cfg.Fields), replacement: cfg.Replacement,
		hasRepl: cfg.Replacement != "", replaceNull: !cfg.PreserveNulls}, nil
}

func maskFieldFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := MaskFieldConfig{
			Fields:        p.validList("fields", p.requiredList("fields", true)),
			Replacement:   p.str("replacement", ""),
			PreserveNulls: !p.boolean("replace.null.with.default", true),
		}
		if p.has("replacement") && cfg.Replacement == "" {
			p.fail("replacement", "must be non-empty")
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		return NewMaskField(cfg, part)
	}
}

const maskPurpose = "mask fields"

// Apply masks the fields.
func (t *MaskField) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if value == nil {
		return rec, nil
	}
	if schema == nil {
		m, err := requireMap(value, maskPurpose)
		if err != nil {
			return nil, err
		}
		out := maps.Clone(m)
		for _, name := range t.fields {
			v, err := t.mask(m[name])
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			out[name] = v
		}
		t.part.set(rec, nil, out)
		return rec, nil
	}
	st, err := requireStruct(value, maskPurpose)
	if err != nil {
		return nil, err
	}
	in := st.Schema()
	out := connect.NewStruct(in)
	for i := range in.Fields {
		f := &in.Fields[i]
		v := fieldValue(st, f, t.replaceNull)
		if slices.Contains(t.fields, f.Name) {
			if v, err = t.mask(v); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		if err := out.PutField(f, v); err != nil {
			return nil, err
		}
	}
	t.part.set(rec, schema, out)
	return rec, nil
}

var epoch = time.Unix(0, 0).UTC()

func (t *MaskField) mask(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t.hasRepl {
		return t.replace(v)
	}
	switch x := v.(type) {
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case string:
		return "", nil
	case []byte:
		return []byte{}, nil
	case connect.Decimal:
		return connect.NewDecimal(0, x.Scale), nil
	case time.Time:
		return epoch, nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case map[any]any:
		return map[any]any{}, nil
	}
	return nil, fmt.Errorf("cannot mask value of type: %T", v)
}

func (t *MaskField) replace(v any) (any, error) {
	r := t.replacement
	intOf := func(bits int) (int64, error) {
		n, err := strconv.ParseInt(r, 10, bits)
		if err != nil {
			return 0, fmt.Errorf("unable to convert %s (string) to number: %w", r, err)
		}
		return n, nil
	}
	switch x := v.(type) {
	case int8:
		n, err := intOf(8)
		return int8(n), err
	case int16:
		n, err := intOf(16)
		return int16(n), err
	case int32:
		n, err := intOf(32)
		return int32(n), err
	case int64:
		return intOf(64)
	case float32:
		f, err := strconv.ParseFloat(r, 32)
		if err != nil {
			return nil, fmt.Errorf("unable to convert %s (string) to number: %w", r, err)
		}
		return float32(f), nil
	case float64:
		f, err := strconv.ParseFloat(r, 64)
		if err != nil {
			return nil, fmt.Errorf("unable to convert %s (string) to number: %w", r, err)
		}
		return f, nil
	case string:
		return r, nil
	case connect.Decimal:
		d, err := connect.ParseDecimal(r)
		if err != nil {
			return nil, fmt.Errorf("unable to convert %s (string) to number: %w", r, err)
		}
		if d, err = d.Rescale(x.Scale); err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot mask value of type %T with custom replacement", v)
}
