package transforms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// FlattenConfig configures Flatten (Kafka Connect's
// org.apache.kafka.connect.transforms.Flatten$Key / $Value).
type FlattenConfig struct {
	// Delimiter (property "delimiter", default ".") joins the names of
	// nested fields. Empty means the default here; the property set to ""
	// joins names without a delimiter, as in Kafka Connect.
	Delimiter string
	// PreserveNulls copies null fields as null instead of their schema's
	// default. It has no property: Kafka Connect's Flatten always replaces
	// nulls with defaults (and ignores replace.null.with.default).
	PreserveNulls bool
}

// Validate checks the config; every FlattenConfig is valid.
func (c FlattenConfig) Validate() error { return nil }

// Flatten flattens nested Structs (or nested maps, schemaless) of the record
// key or value into one level, naming fields by joining the path with the
// delimiter (address.city). Arrays are kept as they are; a schema with a
// MAP field fails, as in Kafka Connect (schemaless nested maps flatten). A nested field becomes optional when its parent struct is optional,
// and inherits a default from a parent's default. Output schemas are cached
// per input schema; tombstones pass through. It is safe for concurrent use.
type Flatten struct {
	part        Part
	delim       string
	replaceNull bool
	cache       schemaCache
}

// NewFlatten returns a Flatten for the given record part, or the config's
// validation error.
func NewFlatten(cfg FlattenConfig, part Part) (*Flatten, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if cfg.Delimiter == "" {
		cfg.Delimiter = "."
	}
	return &Flatten{part: part, delim: cfg.Delimiter, replaceNull: !cfg.PreserveNulls}, nil
}

// flattenFactory reads Kafka Connect's one Flatten property, delimiter,
// whose empty value is kept (not the default).
func flattenFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		delim := p.str("delimiter", ".")
		if err := p.err(); err != nil {
			return nil, err
		}
		t, err := NewFlatten(FlattenConfig{}, part)
		if err != nil {
			return nil, err
		}
		t.delim = delim
		return t, nil
	}
}

const flattenPurpose = "flattening"

func (t *Flatten) name(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + t.delim + field
}

// Apply flattens the value.
//
// Its failures are Kafka Connect's DataException (connect.JavaClassNamer),
// as all of Flatten's record-time failures in Kafka Connect.
func (t *Flatten) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	out, err := t.apply(rec)
	if err != nil {
		return nil, asDataException(err)
	}
	return out, nil
}

func (t *Flatten) apply(rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if value == nil {
		return rec, nil
	}
	if schema == nil {
		if _, ok := value.(map[any]any); !ok {
			if _, err := requireMap(value, flattenPurpose); err != nil {
				return nil, err
			}
		}
		out := &flatOut{m: make(map[string]any)}
		leaves := 0
		if err := t.flattenMapValue(value, "", out, &leaves, false); err != nil {
			return nil, err
		}
		if leaves != out.len() {
			// Two paths flattened to one name ({"a.b": 1, "a": {"b": 2}}):
			// the one Kafka Connect writes last wins. Its schemaless maps are
			// java.util.HashMaps (JsonConverter's), iterated by hash bucket;
			// write in that order.
			*out = flatOut{m: make(map[string]any, len(out.m))}
			leaves = 0
			if err := t.flattenMapValue(value, "", out, &leaves, true); err != nil {
				return nil, err
			}
		}
		t.part.set(rec, nil, out.value())
		return rec, nil
	}
	st, err := requireStruct(value, flattenPurpose)
	if err != nil {
		return nil, err
	}
	updated, err := t.cache.get(schema, t.buildSchema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	n := 0
	if err := t.flattenStruct(st, out, &n); err != nil {
		return nil, err
	}
	t.part.set(rec, updated, out)
	return rec, nil
}

// flatOut is the flattened schemaless map: string names, and the null name
// Kafka Connect gives a null key met under an empty prefix.
type flatOut struct {
	m      map[string]any
	hasNil bool
	nilVal any
}

func (o *flatOut) len() int {
	if o.hasNil {
		return len(o.m) + 1
	}
	return len(o.m)
}

// value returns the map: a map[any]any when it has the null name.
func (o *flatOut) value() any {
	if !o.hasNil {
		return o.m
	}
	out := make(map[any]any, len(o.m)+1)
	for k, v := range o.m {
		out[k] = v
	}
	out[nil] = o.nilVal
	return out
}

// flattenMapValue writes the leaves of the map v (map[string]any or
// map[any]any) under prefix into out. A map[any]any is any Map to Kafka
// Connect, iterated as a Map<String, Object>: a key that is not a String
// fails; a null key names its entry null: prefix.null, or the null name
// itself under an empty prefix.
func (t *Flatten) flattenMapValue(v any, prefix string, out *flatOut, leaves *int, javaOrder bool) error {
	x, ok := v.(map[any]any)
	if !ok {
		return t.flattenMap(v.(map[string]any), prefix, out, leaves, javaOrder)
	}
	m, hasNil, nilVal, err := javaStringKeys(x, flattenPurpose)
	if err != nil {
		return err
	}
	if hasNil {
		if prefix == "" {
			if err := flattenNilKeyed(nilVal); err != nil {
				return err
			}
			out.hasNil, out.nilVal = true, nilVal
			*leaves++
		} else if _, taken := m["null"]; !taken {
			m["null"] = nilVal
		}
	}
	return t.flattenMap(m, prefix, out, leaves, javaOrder)
}

// flattenMap writes the leaves of m into out, counting them in *leaves;
// javaOrder visits each map's keys in java.util.HashMap order (by bucket,
// ties by key).
func (t *Flatten) flattenMap(m map[string]any, prefix string, out *flatOut, leaves *int, javaOrder bool) error {
	if javaOrder {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		n := len(m)
		slices.SortFunc(keys, func(a, b string) int {
			if d := javaHashMapBucket(a, n) - javaHashMapBucket(b, n); d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			if err := t.flattenEntry(prefix, k, m[k], out, leaves, true); err != nil {
				return err
			}
		}
		return nil
	}
	for k, v := range m {
		if err := t.flattenEntry(prefix, k, v, out, leaves, false); err != nil {
			return err
		}
	}
	return nil
}

func (t *Flatten) flattenEntry(prefix, k string, v any, out *flatOut, leaves *int, javaOrder bool) error {
	name := t.name(prefix, k)
	switch x := v.(type) {
	case nil, int8, int16, int32, int64, float32, float64, bool, string, []byte, []any:
		out.m[name] = v
		*leaves++
	case map[string]any, map[any]any:
		if err := t.flattenMapValue(x, name, out, leaves, javaOrder); err != nil {
			return err
		}
	case connect.Decimal, time.Time:
		return fmt.Errorf("Flatten transformation was passed a value of type %T which is not supported by Connect's data API", v)
	default:
		return fmt.Errorf("Flatten transformation does not support %T for record without schemas (for field %s)", v, name)
	}
	return nil
}

// flattenStruct writes the leaves of st into out, whose fields are in the
// depth-first order buildSchema produced; *n is the next output field.
func (t *Flatten) flattenStruct(st *connect.Struct, out *connect.Struct, n *int) error {
	s := st.Schema()
	for i := range s.Fields {
		f := &s.Fields[i]
		v := fieldValue(st, f, t.replaceNull)
		if f.Schema.Type == connect.TypeStruct {
			nested, err := requireStructOrNull(v, flattenPurpose)
			if err != nil {
				return err
			}
			if nested == nil {
				*n += countLeaves(f.Schema)
				continue
			}
			if err := t.flattenStruct(nested, out, n); err != nil {
				return err
			}
			continue
		}
		of := &out.Schema().Fields[*n]
		*n++
		if err := out.PutField(of, v); err != nil {
			return err
		}
	}
	return nil
}

func countLeaves(s *connect.Schema) int {
	n := 0
	for _, f := range s.Fields {
		if f.Schema.Type == connect.TypeStruct {
			n += countLeaves(f.Schema)
		} else {
			n++
		}
	}
	return n
}

func (t *Flatten) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	if in.Type != connect.TypeStruct {
		return nil, fmt.Errorf("only Struct values supported for [%s], found schema %s", flattenPurpose, in)
	}
	b := copySchemaBasics(in, connect.StructBuilder())
	def, _ := in.Default.(*connect.Struct)
	if err := t.buildFields(in, "", b, in.Optional, def); err != nil {
		return nil, err
	}
	return b.Build()
}

func (t *Flatten) buildFields(s *connect.Schema, prefix string, b *connect.SchemaBuilder, optional bool, parentDefault *connect.Struct) error {
	for i := range s.Fields {
		f := &s.Fields[i]
		name := t.name(prefix, f.Name)
		fieldOptional := optional || f.Schema.Optional
		var def any
		if f.Schema.Default != nil {
			def = f.Schema.Default
		} else if parentDefault != nil {
			def = fieldValue(parentDefault, f, true)
		}
		switch f.Schema.Type {
		case connect.TypeStruct:
			d, _ := def.(*connect.Struct)
			if err := t.buildFields(f.Schema, name, b, fieldOptional, d); err != nil {
				return err
			}
			continue
		case connect.TypeMap:
			//lint:ignore ST1005 Kafka Connect's message, word for word
			return fmt.Errorf("Flatten transformation does not support MAP for record with schemas (for field %s).", name)
		}
		fb := builderOfType(f.Schema)
		if fieldOptional {
			fb.Optional()
		}
		if def != nil {
			fb.DefaultValue(def)
		}
		fs, err := fb.Build()
		if err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
		b.Field(name, fs)
	}
	return nil
}

// flattenNilKeyed checks the value of a top-level null key, which Kafka
// Connect's Flatten writes under the null key as it is when it is a leaf;
// a map under a null name fails there (the prefix is null).
func flattenNilKeyed(v any) error {
	switch v.(type) {
	case nil, int8, int16, int32, int64, float32, float64, bool, string, []byte, []any:
		return nil
	case map[string]any, map[any]any:
		return errors.New("Flatten transformation cannot flatten a map under a null key")
	}
	return fmt.Errorf("Flatten transformation does not support %T for record without schemas (for field null)", v)
}
