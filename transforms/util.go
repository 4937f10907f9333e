package transforms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// goTypeName names the Go type of v for error messages ("null" for nil).
func goTypeName(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// dataException is a built-in transformation's failure on a record's data
// where Kafka Connect's SMT throws a DataException: Error is Sluice's text,
// JavaClass and JavaMessage are Kafka Connect's class and message
// (connect.JavaClassNamer, connect.JavaMessager), which the dead-letter
// queue's context headers carry.
type dataException struct {
	text  string
	msg   string
	cause error // nil, or the Go error marked (asDataException)
}

func (e *dataException) Error() string       { return e.text }
func (e *dataException) Unwrap() error       { return e.cause }
func (e *dataException) JavaClass() string   { return connect.JavaDataException }
func (e *dataException) JavaMessage() string { return e.msg }

// asDataException marks err, a record-time failure of a built-in whose
// Kafka Connect counterpart throws DataException for every such failure, as
// a DataException whose message is err's text (Sluice's, which follows Kafka
// Connect's wording where it can), unless err already has a Java class.
// errors.Is/As still see err.
func asDataException(err error) error {
	var n connect.JavaClassNamer
	if errors.As(err, &n) {
		return err
	}
	return &dataException{text: err.Error(), msg: err.Error(), cause: err}
}

// javaException is a built-in's failure for which Kafka Connect throws an
// exception of another class than DataException (class), with Kafka
// Connect's message msg; Error is Sluice's text.
type javaException struct {
	class, text, msg string
}

func (e *javaException) Error() string       { return e.text }
func (e *javaException) JavaClass() string   { return e.class }
func (e *javaException) JavaMessage() string { return e.msg }

// javaClassName names the Java class Kafka Connect would see for a value of
// the Connect data model, as Requirements.nullSafeClassName does
// ("java.lang.String", "null" for nil); a Go type outside the model is
// named by its Go type.
func javaClassName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case bool:
		return "java.lang.Boolean"
	case int8:
		return "java.lang.Byte"
	case int16:
		return "java.lang.Short"
	case int32:
		return "java.lang.Integer"
	case int64:
		return "java.lang.Long"
	case float32:
		return "java.lang.Float"
	case float64:
		return "java.lang.Double"
	case []byte:
		return "[B"
	case *connect.Struct:
		return "org.apache.kafka.connect.data.Struct"
	case []any:
		return "java.util.ArrayList"
	case map[string]any, map[any]any:
		return "java.util.HashMap"
	}
	return fmt.Sprintf("%T", v)
}

// requireMap returns the schemaless map v, as Kafka Connect's
// Requirements.requireMap, which takes any Map: a map[string]any as it is, a
// map[any]any as a map[string]any of its string-keyed entries (what a lookup
// by field name finds: Map.get(name) finds only a String key). An SMT whose
// output keeps a map[any]any's other entries handles map[any]any before
// calling it.
func requireMap(v any, purpose string) (map[string]any, error) {
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	case map[any]any:
		return stringKeyedView(m), nil
	}
	return nil, &dataException{
		text: fmt.Sprintf("only map[string]any values supported in absence of schema for [%s], found: %s", purpose, goTypeName(v)),
		msg:  fmt.Sprintf("Only Map objects supported in absence of schema for [%s], found: %s", purpose, javaClassName(v)),
	}
}

// requireMapOrNull is requireMap, except that null gives a nil map and no
// error.
func requireMapOrNull(v any, purpose string) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	return requireMap(v, purpose)
}

// stringKeyedView returns the string-keyed entries of m.
func stringKeyedView(m map[any]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, x := range m {
		if s, ok := k.(string); ok {
			out[s] = x
		}
	}
	return out
}

// javaStringKeys returns the entries of m as a map[string]any, failing as
// Kafka Connect's SMTs do (a ClassCastException) when iterating a Map they
// take as a Map<String, Object> meets a key that is not a String; a null
// key is allowed there and is returned as hasNil, nilValue.
func javaStringKeys(m map[any]any, purpose string) (out map[string]any, hasNil bool, nilValue any, err error) {
	out = make(map[string]any, len(m))
	for k, x := range m {
		switch k := k.(type) {
		case string:
			out[k] = x
		case nil:
			hasNil, nilValue = true, x
		default:
			return nil, false, nil, fmt.Errorf("[%s]: map key %v of type %s is not a string", purpose, k, goTypeName(k))
		}
	}
	return out, hasNil, nilValue, nil
}

func requireStruct(v any, purpose string) (*connect.Struct, error) {
	st, ok := v.(*connect.Struct)
	if !ok || st == nil {
		return nil, &dataException{
			text: fmt.Sprintf("only Struct values supported for [%s], found: %s", purpose, goTypeName(v)),
			msg:  fmt.Sprintf("Only Struct objects supported for [%s], found: %s", purpose, javaClassName(v)),
		}
	}
	return st, nil
}

func requireStructOrNull(v any, purpose string) (*connect.Struct, error) {
	if v == nil {
		return nil, nil
	}
	if st, ok := v.(*connect.Struct); ok && st == nil {
		return nil, nil
	}
	return requireStruct(v, purpose)
}

// copySchemaBasics copies name, version, doc and parameters of src onto b,
// as Kafka Connect's SchemaUtil.copySchemaBasics (optionality and default are
// not copied).
func copySchemaBasics(src *connect.Schema, b *connect.SchemaBuilder) *connect.SchemaBuilder {
	if src.NameSet() { // a name of "", a version of 0 and a doc of "" are copied as set
		b.Name(src.Name)
	}
	if src.VersionSet() {
		b.Version(src.Version)
	}
	if src.DocSet() {
		b.Doc(src.Doc)
	}
	for _, p := range src.Parameters {
		b.Parameter(p.Key, p.Value)
	}
	return b
}

// builderOfType starts a builder of src's type (with its element / key and
// value schemas for ARRAY and MAP) carrying src's name, version, doc and
// parameters.
func builderOfType(src *connect.Schema) *connect.SchemaBuilder {
	var b *connect.SchemaBuilder
	switch src.Type {
	case connect.TypeArray:
		b = connect.ArrayBuilder(src.ValueSchema)
	case connect.TypeMap:
		b = connect.MapBuilder(src.KeySchema, src.ValueSchema)
	default:
		b = connect.NewSchemaBuilder(src.Type)
	}
	return copySchemaBasics(src, b)
}

// fieldValue returns field f of st: the value as set, or the field's default
// when the value is null and replaceNull is set (Kafka Connect's
// replace.null.with.default).
func fieldValue(st *connect.Struct, f *connect.Field, replaceNull bool) any {
	v := st.At(f.Index)
	if v == nil && replaceNull {
		return f.Schema.Default
	}
	return v
}

// levenshtein returns the edit distance of a and b.
func levenshtein(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// fieldAt returns the field of s named name, trying index i first (output
// schemas derived from an input schema often keep field positions).
func fieldAt(s *connect.Schema, i int, name string) *connect.Field {
	if i < len(s.Fields) && s.Fields[i].Name == name {
		return &s.Fields[i]
	}
	return s.Field(name)
}
