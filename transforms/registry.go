package transforms

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
)

// TransformationFactory builds a transformation from its properties: the
// transforms.<alias>.* keys of a connector config with the prefix removed and
// without type, predicate and negate. Errors should be *ConfigError values
// whose Key is relative ("static.value"); ParseChain qualifies them.
type TransformationFactory func(props map[string]string) (Transformation, error)

// PredicateFactory builds a predicate from its properties: the
// predicates.<alias>.* keys with the prefix removed and without type.
type PredicateFactory func(props map[string]string) (Predicate, error)

// Kafka Connect's packages of the built-in transformations and predicates;
// type names under them resolve to the short names registered here.
const (
	KafkaTransformsPackage = "org.apache.kafka.connect.transforms."
	KafkaPredicatesPackage = "org.apache.kafka.connect.transforms.predicates."
)

// Registry maps type names, as used in transforms.<alias>.type and
// predicates.<alias>.type, to factories. A type name resolves by exact match
// first; a name under Kafka Connect's package
// (org.apache.kafka.connect.transforms.InsertField$Value) also resolves to
// its short name (InsertField$Value).
//
// A Registry is safe for concurrent use. It holds no package-level state:
// each NewRegistry is independent.
type Registry struct {
	mu              sync.RWMutex
	transformations map[string]TransformationFactory
	predicates      map[string]PredicateFactory
}

// NewRegistry returns a registry holding Kafka Connect's built-in
// transformations (with their $Key/$Value variants) and predicates under their
// short names.
func NewRegistry() *Registry {
	r := &Registry{
		transformations: make(map[string]TransformationFactory),
		predicates:      make(map[string]PredicateFactory),
	}
	for _, p := range []Part{Key, Value} {
		v := "$" + p.String()
		r.transformations["Cast"+v] = castFactory(p)
		r.transformations["ExtractField"+v] = extractFieldFactory(p)
		r.transformations["Flatten"+v] = flattenFactory(p)
		r.transformations["HeaderFrom"+v] = headerFromFactory(p)
		r.transformations["HoistField"+v] = hoistFieldFactory(p)
		r.transformations["InsertField"+v] = insertFieldFactory(p)
		r.transformations["MaskField"+v] = maskFieldFactory(p)
		r.transformations["ReplaceField"+v] = replaceFieldFactory(p)
		r.transformations["SetSchemaMetadata"+v] = setSchemaMetadataFactory(p)
		r.transformations["TimestampConverter"+v] = timestampConverterFactory(p)
	}
	r.transformations["DropHeaders"] = dropHeadersFactory
	r.transformations["Filter"] = filterFactory
	r.transformations["InsertHeader"] = insertHeaderFactory
	r.transformations["RegexRouter"] = regexRouterFactory
	r.transformations["TimestampRouter"] = timestampRouterFactory
	r.transformations["ValueToKey"] = valueToKeyFactory

	r.predicates["TopicNameMatches"] = topicNameMatchesFactory
	r.predicates["HasHeaderKey"] = hasHeaderKeyFactory
	r.predicates["RecordIsTombstone"] = recordIsTombstoneFactory
	return r
}

// RegisterTransformation registers (or replaces) the transformation type
// name, e.g. "com.acme.MaskPII" for a custom SMT. It panics if name is empty
// or f is nil.
func (r *Registry) RegisterTransformation(name string, f TransformationFactory) {
	if name == "" || f == nil {
		panic("transforms: RegisterTransformation needs a name and a factory")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transformations[name] = f
}

// RegisterPredicate registers (or replaces) the predicate type name. It
// panics if name is empty or f is nil.
func (r *Registry) RegisterPredicate(name string, f PredicateFactory) {
	if name == "" || f == nil {
		panic("transforms: RegisterPredicate needs a name and a factory")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.predicates[name] = f
}

// Transformations returns the registered transformation type names, sorted.
func (r *Registry) Transformations() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.transformations))
}

// Predicates returns the registered predicate type names, sorted.
func (r *Registry) Predicates() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.predicates))
}

// NewTransformation builds a transformation of the given type from its
// properties (keys without the transforms.<alias>. prefix).
func (r *Registry) NewTransformation(typeName string, props map[string]string) (Transformation, error) {
	r.mu.RLock()
	f, ok := lookup(r.transformations, typeName, KafkaTransformsPackage)
	r.mu.RUnlock()
	if !ok {
		return nil, configErr("type", "%s", r.unknown("transformation", typeName, r.Transformations()))
	}
	return f(props)
}

// NewPredicate builds a predicate of the given type from its properties
// (keys without the predicates.<alias>. prefix).
func (r *Registry) NewPredicate(typeName string, props map[string]string) (Predicate, error) {
	r.mu.RLock()
	f, ok := lookup(r.predicates, typeName, KafkaPredicatesPackage)
	r.mu.RUnlock()
	if !ok {
		return nil, configErr("type", "%s", r.unknown("predicate", typeName, r.Predicates()))
	}
	return f(props)
}

func lookup[V any](m map[string]V, name, pkg string) (V, bool) {
	if f, ok := m[name]; ok {
		return f, true
	}
	if short, ok := strings.CutPrefix(name, pkg); ok {
		if f, ok := m[short]; ok {
			return f, true
		}
	}
	var zero V
	return zero, false
}

// unknown builds the error text for an unknown type, suggesting close names.
func (r *Registry) unknown(kind, name string, known []string) string {
	short := name
	if i := strings.LastIndexByte(short, '.'); i >= 0 {
		short = short[i+1:]
	}
	var close []string
	for _, k := range known {
		ks := k
		if i := strings.LastIndexByte(ks, '.'); i >= 0 {
			ks = ks[i+1:]
		}
		d := levenshtein(short, ks)
		if d <= max(2, len(short)/4) || strings.HasPrefix(ks, short+"$") {
			close = append(close, k)
		}
	}
	msg := fmt.Sprintf("unknown %s type %q", kind, name)
	if len(close) > 0 {
		msg += "; did you mean " + strings.Join(close, " or ") + "?"
	} else {
		msg += "; known types: " + strings.Join(known, ", ")
	}
	return msg
}

// ParseChain builds a Chain from a connector's properties in Kafka Connect's
// form, ignoring keys it does not know:
//
//	transforms=a,b
//	transforms.a.type=org.apache.kafka.connect.transforms.InsertField$Value
//	transforms.a.static.field=origin
//	transforms.a.predicate=p
//	transforms.a.negate=true
//	predicates=p
//	predicates.p.type=TopicNameMatches
//	predicates.p.pattern=orders-.*
//
// Every configuration error is reported (joined), each a *ConfigError whose
// Key is the fully qualified property, e.g. "transforms.a.static.value".
// Predicates are built once per predicate alias and shared by the stages that
// name them. With no transforms key (or an empty one) the chain is empty.
func (r *Registry) ParseChain(props map[string]string) (*Chain, error) {
	p := newProps(props)
	aliases := p.list("transforms", nil)
	predAliases := p.list("predicates", nil)
	if dup := firstDuplicate(aliases); dup != "" {
		p.fail("transforms", "duplicate alias %q", dup)
	}
	if dup := firstDuplicate(predAliases); dup != "" {
		p.fail("predicates", "duplicate alias %q", dup)
	}

	preds := make(map[string]builtPredicate, len(predAliases))
	for _, alias := range predAliases {
		prefix := "predicates." + alias
		if alias == "" {
			p.fail("predicates", "empty alias")
			continue
		}
		typ, ok := p.lookup(prefix + ".type")
		if !ok || typ == "" {
			p.fail(prefix+".type", "missing required configuration %q which has no default value", prefix+".type")
			continue
		}
		sub := subProps(props, prefix+".", "type")
		pred, err := r.NewPredicate(typ, sub)
		if err != nil {
			p.addErr(prefixConfigErrors(prefix, err))
			continue
		}
		preds[alias] = builtPredicate{pred, typ}
	}

	stages := make([]Stage, 0, len(aliases))
	for _, alias := range aliases {
		prefix := "transforms." + alias
		if alias == "" {
			p.fail("transforms", "empty alias")
			continue
		}
		st := Stage{Alias: alias}
		ok := true
		predAlias, hasPred := p.lookup(prefix + ".predicate")
		hasPred = hasPred && predAlias != ""
		if hasPred {
			bp, found := preds[predAlias]
			switch {
			case found:
				st.Predicate, st.PredicateAlias, st.PredicateClass = bp.pred, predAlias, bp.class
			case slices.Contains(predAliases, predAlias):
				ok = false // its own error is already reported
			default:
				p.fail(prefix+".predicate", "predicate %q is not defined in predicates (defined: %s)", predAlias, strings.Join(predAliases, ", "))
				ok = false
			}
		}
		if v, present := p.lookup(prefix + ".negate"); present {
			b, err := parseBool(v)
			switch {
			case err != nil:
				p.fail(prefix+".negate", "invalid value %q: expected value to be either true or false", v)
				ok = false
			case !hasPred:
				p.fail(prefix+".negate", "negate requires transforms.%s.predicate to name a predicate", alias)
				ok = false
			default:
				st.Negate = b
			}
		}
		typ, present := p.lookup(prefix + ".type")
		if !present || typ == "" {
			p.fail(prefix+".type", "missing required configuration %q which has no default value", prefix+".type")
			continue
		}
		st.Class = typ
		sub := subProps(props, prefix+".", "type", "predicate", "negate")
		t, err := r.NewTransformation(typ, sub)
		if err != nil {
			p.addErr(prefixConfigErrors(prefix, err))
			continue
		}
		st.Transformation = t
		if ok {
			stages = append(stages, st)
		}
	}
	// Close the predicates no stage uses; the chain closes the others.
	used := make(map[string]bool)
	for _, st := range stages {
		used[st.PredicateAlias] = true
	}
	for alias, bp := range preds {
		if !used[alias] {
			closeQuietly(bp.pred)
		}
	}
	if err := p.err(); err != nil {
		_ = (&Chain{stages: stages}).Close()
		return nil, err
	}
	return NewChain(stages...)
}

type builtPredicate struct {
	pred  Predicate
	class string
}

func closeQuietly(v any) {
	if c, ok := v.(io.Closer); ok {
		_ = c.Close()
	}
}

func firstDuplicate(l []string) string {
	seen := make(map[string]bool, len(l))
	for _, s := range l {
		if seen[s] && s != "" {
			return s
		}
		seen[s] = true
	}
	return ""
}

// subProps returns the keys of props under prefix, with the prefix removed,
// leaving out the given keys.
func subProps(props map[string]string, prefix string, without ...string) map[string]string {
	out := make(map[string]string)
	for k, v := range props {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !slices.Contains(without, rest) {
			out[rest] = v
		}
	}
	return out
}
