package transforms

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// ReplaceFieldConfig configures ReplaceField (Kafka Connect's
// org.apache.kafka.connect.transforms.ReplaceField$Key / $Value).
type ReplaceFieldConfig struct {
	// Exclude (property "exclude") lists fields to drop. It takes
	// precedence over Include. (The aliases blacklist and whitelist were
	// removed in Kafka Connect 4.0 and are ignored, as there.)
	Exclude []string
	// Include (property "include") lists the fields to keep; empty keeps
	// all fields not excluded.
	Include []string
	// Renames (property "renames", "old:new,…") maps old field names to new
	// ones. Renaming applies after filtering, which uses the old names.
	Renames map[string]string
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks the config. Every ReplaceFieldConfig is valid; renaming
// two kept fields of a Struct to the same name fails when a record of that
// schema arrives (for maps, the last one wins), as in Kafka Connect.
func (c ReplaceFieldConfig) Validate() error { return nil }

// ReplaceField keeps, drops and renames the fields of the record key or value,
// a Struct (the output schema is cached per input schema) or a map[string]any.
// Tombstones pass through. It is safe for concurrent use.
type ReplaceField struct {
	part    Part
	exclude []string
	include []string
	renames map[string]string
	// reverse maps a rename target back to its source, as Kafka Connect's
	// reverseRenames (the renames HashMap inverted, so that of two sources
	// renamed to one target the later in HashMap order wins).
	reverse     map[string]string
	replaceNull bool
	cache       schemaCache
}

// NewReplaceField returns a ReplaceField for the given record part, or the
// config's validation error.
func NewReplaceField(cfg ReplaceFieldConfig, part Part) (*ReplaceField, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &ReplaceField{
		part:        part,
		exclude:     slices.Clone(cfg.Exclude),
		include:     slices.Clone(cfg.Include),
		renames:     maps.Clone(cfg.Renames),
		reverse:     invertRenames(cfg.Renames, slices.Sorted(maps.Keys(cfg.Renames))),
		replaceNull: !cfg.PreserveNulls,
	}
	return t, nil
}

// invertRenames is Kafka Connect's ReplaceField.invert over a HashMap of
// the renames filled in the given order: it iterates the sources by hash
// bucket (ties in insertion order), so a later source of a shared target
// replaces an earlier one.
func invertRenames(renames map[string]string, order []string) map[string]string {
	if len(renames) == 0 {
		return nil
	}
	srcs := slices.Clone(order)
	pos := make(map[string]int, len(srcs))
	for i, s := range srcs {
		pos[s] = i
	}
	n := len(renames)
	slices.SortStableFunc(srcs, func(a, b string) int {
		return javaHashMapBucket(a, n) - javaHashMapBucket(b, n)
	})
	rev := make(map[string]string, n)
	for _, s := range srcs {
		rev[renames[s]] = s
	}
	return rev
}

func replaceFieldFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := ReplaceFieldConfig{
			Exclude:       p.validList("exclude", p.list("exclude", nil)),
			Include:       p.validList("include", p.list("include", nil)),
			PreserveNulls: !p.boolean("replace.null.with.default", true),
		}
		var order []string // the sources in first-put order, as the HashMap
		for _, mapping := range p.list("renames", nil) {
			parts := javaSplit(mapping, ":")
			if len(parts) != 2 {
				p.fail("renames", "invalid rename mapping: %q", mapping)
				continue
			}
			if cfg.Renames == nil {
				cfg.Renames = make(map[string]string)
			}
			if _, seen := cfg.Renames[parts[0]]; !seen {
				order = append(order, parts[0])
			}
			cfg.Renames[parts[0]] = parts[1]
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		t, err := NewReplaceField(cfg, part)
		if err != nil {
			return nil, err
		}
		t.reverse = invertRenames(cfg.Renames, order)
		return t, nil
	}
}

func (t *ReplaceField) keep(name string) bool {
	return !slices.Contains(t.exclude, name) && (len(t.include) == 0 || slices.Contains(t.include, name))
}

func (t *ReplaceField) renamed(name string) string {
	if to, ok := t.renames[name]; ok {
		return to
	}
	return name
}

// writeInJavaOrder writes the kept entries of m, renamed, into out in the
// order Kafka Connect's loop meets them, so that of keys renamed onto one
// name (e.g. renames=x:amount on a map holding both x and amount) the one
// iterated last wins. Its schemaless maps are java.util.HashMaps
// (JsonConverter's) of n entries, iterated by hash bucket; keys in one
// bucket (whose order there is their insertion order, unknown here) go
// renamed ones last, then by key.
func (t *ReplaceField) writeInJavaOrder(m map[string]any, n int, out map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if t.keep(k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := javaHashMapBucket(a, n) - javaHashMapBucket(b, n); d != 0 {
			return d
		}
		ra, rb := t.renamed(a) != a, t.renamed(b) != b
		switch {
		case ra && !rb:
			return 1
		case rb && !ra:
			return -1
		}
		return strings.Compare(a, b)
	})
	clear(out)
	for _, k := range keys {
		out[t.renamed(k)] = m[k]
	}
}

const replacePurpose = "field replacement"

// Apply filters and renames the fields.
func (t *ReplaceField) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if value == nil {
		return rec, nil
	}
	if schema == nil {
		var (
			m       map[string]any
			keepNil bool
			nilVal  any
			err     error
		)
		if am, ok := value.(map[any]any); ok {
			// Any Map to Kafka Connect, iterated as a Map<String, Object>:
			// a key that is not a String fails; a null key is kept (as
			// null) unless include names fields.
			if m, keepNil, nilVal, err = javaStringKeys(am, replacePurpose); err != nil {
				return nil, err
			}
			keepNil = keepNil && len(t.include) == 0
		} else if m, err = requireMap(value, replacePurpose); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		collided := false
		for k, v := range m {
			if !t.keep(k) {
				continue
			}
			name := t.renamed(k)
			if _, taken := out[name]; taken {
				collided = true
			}
			out[name] = v
		}
		if collided {
			n := len(m)
			if am, ok := value.(map[any]any); ok {
				n = len(am)
			}
			t.writeInJavaOrder(m, n, out)
		}
		if keepNil {
			withNil := make(map[any]any, len(out)+1)
			for k, v := range out {
				withNil[k] = v
			}
			withNil[nil] = nilVal
			t.part.set(rec, nil, withNil)
			return rec, nil
		}
		t.part.set(rec, nil, out)
		return rec, nil
	}
	st, err := requireStruct(value, replacePurpose)
	if err != nil {
		return nil, err
	}
	in := st.Schema()
	updated, err := t.cache.get(in, t.buildSchema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	// The output fields are the kept input fields, in order. Kafka Connect
	// reads each output field's value from the input field its name maps
	// back to (reverseRenamed), which is that same field unless two sources
	// share a target.
	j := 0
	for i := range in.Fields {
		f := &in.Fields[i]
		if !t.keep(f.Name) {
			continue
		}
		of := &updated.Fields[j]
		src := f
		if back, ok := t.reverse[of.Name]; ok && back != f.Name {
			if src = in.Field(back); src == nil {
				return nil, fmt.Errorf("%s is not a valid field name", back)
			}
		}
		v := fieldValue(st, src, t.replaceNull)
		if v == nil && !of.Schema.Optional {
			// Kafka Connect's Struct.put refuses null for a required
			// field even when its schema has a default (a null read
			// through another source of a shared target).
			return nil, fmt.Errorf("invalid value for field %q: null used for required %s schema", of.Name, of.Schema.Type)
		}
		if err := out.PutField(of, v); err != nil {
			return nil, err
		}
		j++
	}
	t.part.set(rec, updated, out)
	return rec, nil
}

func (t *ReplaceField) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	b := copySchemaBasics(in, connect.StructBuilder())
	for _, f := range in.Fields {
		if t.keep(f.Name) {
			b.Field(t.renamed(f.Name), f.Schema)
		}
	}
	return b.Build()
}
