package transforms

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// TestJavaClassCanonical: every built-in transformation and predicate,
// however the configuration names it (Kafka Connect's class name or the
// short alias), reports its canonical Kafka Connect class through
// connect.ClassName, including the $Key/$Value nested class — what Kafka
// Connect's TransformationStage.transformClass puts in the dead-letter
// queue's __connect.errors.class.name header. Class names are those of
// connect-transforms-4.3.1.jar.
func TestJavaClassCanonical(t *testing.T) {
	const pkg, ppkg = "org.apache.kafka.connect.transforms.", "org.apache.kafka.connect.transforms.predicates."
	cases := []struct {
		typ   string
		props map[string]string
		want  string
	}{
		{"Cast$Value", map[string]string{"spec": "int32"}, pkg + "Cast$Value"},
		{pkg + "Cast$Key", map[string]string{"spec": "int32"}, pkg + "Cast$Key"},
		{"ExtractField$Key", map[string]string{"field": "id"}, pkg + "ExtractField$Key"},
		{"Flatten$Value", nil, pkg + "Flatten$Value"},
		{"HeaderFrom$Key", map[string]string{"fields": "a", "headers": "h", "operation": "copy"}, pkg + "HeaderFrom$Key"},
		{"HoistField$Value", map[string]string{"field": "f"}, pkg + "HoistField$Value"},
		{"InsertField$Key", map[string]string{"static.field": "s", "static.value": "v"}, pkg + "InsertField$Key"},
		{"MaskField$Value", map[string]string{"fields": "a"}, pkg + "MaskField$Value"},
		{"ReplaceField$Key", map[string]string{"exclude": "a"}, pkg + "ReplaceField$Key"},
		{"SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}, pkg + "SetSchemaMetadata$Value"},
		{"TimestampConverter$Key", map[string]string{"target.type": "unix"}, pkg + "TimestampConverter$Key"},
		{"DropHeaders", map[string]string{"headers": "h"}, pkg + "DropHeaders"},
		{"Filter", nil, pkg + "Filter"},
		{"InsertHeader", map[string]string{"header": "h", "value.literal": "v"}, pkg + "InsertHeader"},
		{pkg + "RegexRouter", map[string]string{"regex": "a", "replacement": "b"}, pkg + "RegexRouter"},
		{"TimestampRouter", nil, pkg + "TimestampRouter"},
		{"ValueToKey", map[string]string{"fields": "a"}, pkg + "ValueToKey"},
	}
	r := NewRegistry()
	for _, c := range cases {
		tr, err := r.NewTransformation(c.typ, c.props)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if got := connect.ClassName(tr); got != c.want {
			t.Errorf("ClassName(%s) = %q, want %q", c.typ, got, c.want)
		}
	}
	for typ, props := range map[string]map[string]string{
		"TopicNameMatches":        {"pattern": "a.*"},
		ppkg + "HasHeaderKey":     {"name": "h"},
		"RecordIsTombstone":       nil,
		ppkg + "TopicNameMatches": {"pattern": "b"},
		"org.apache.kafka.connect.transforms.predicates.RecordIsTombstone": nil,
	} {
		p, err := r.NewPredicate(typ, props)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		want := ppkg + shortName(typ)
		if got := connect.ClassName(p); got != want {
			t.Errorf("ClassName(%s) = %q, want %q", typ, got, want)
		}
	}
}

func shortName(typ string) string {
	for i := len(typ) - 1; i >= 0; i-- {
		if typ[i] == '.' {
			return typ[i+1:]
		}
	}
	return typ
}

// TestChainErrorComponentByAlias: a chain configured with the short alias
// names the failing component, whose class is the canonical one, while the
// ChainError keeps the configured name.
func TestChainErrorComponentByAlias(t *testing.T) {
	c, err := NewRegistry().ParseChain(map[string]string{
		"transforms": "toInt", "transforms.toInt.type": "Cast$Value", "transforms.toInt.spec": "id:int32",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Apply(context.Background(), &connect.Record{Topic: "t", Value: "not a map"})
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("Apply: %v, want a *ChainError", err)
	}
	if ce.Class != "Cast$Value" || connect.ClassName(ce.Component) != "org.apache.kafka.connect.transforms.Cast$Value" {
		t.Errorf("Class %q, component class %q", ce.Class, connect.ClassName(ce.Component))
	}
}

// TestRequirementsDataException: the built-ins' Requirements failures are
// Kafka Connect's DataException with Requirements' message
// (connect-transforms-4.3.1.jar, util.Requirements.requireMap /
// requireStruct: "Only Map objects supported in absence of schema for
// [%s], found: %s", "Only Struct objects supported for [%s], found: %s",
// the class by nullSafeClassName), while Error keeps Sluice's text.
func TestRequirementsDataException(t *testing.T) {
	cases := []struct {
		err       error
		msg, text string
	}{
		{second(requireMap("x", "cast types")),
			"Only Map objects supported in absence of schema for [cast types], found: java.lang.String",
			"only map[string]any values supported in absence of schema for [cast types], found: string"},
		{second(requireMap(nil, "p")),
			"Only Map objects supported in absence of schema for [p], found: null",
			"only map[string]any values supported in absence of schema for [p], found: null"},
		{second(requireStruct(int32(1), "field extraction")),
			"Only Struct objects supported for [field extraction], found: java.lang.Integer",
			"only Struct values supported for [field extraction], found: int32"},
	}
	for _, c := range cases {
		var n connect.JavaClassNamer
		if !errors.As(c.err, &n) || n.JavaClass() != "org.apache.kafka.connect.errors.DataException" {
			t.Errorf("%v: not a DataException", c.err)
			continue
		}
		if m := n.(connect.JavaMessager).JavaMessage(); m != c.msg {
			t.Errorf("JavaMessage %q, want %q", m, c.msg)
		}
		if c.err.Error() != c.text {
			t.Errorf("Error %q, want %q", c.err.Error(), c.text)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestBuiltinFailuresJavaClass: the built-ins' record-time failures carry
// the class Kafka Connect's SMT throws for them (connect-transforms-4.3.1.jar:
// every record-time failure of Cast, Flatten, MaskField, ValueToKey and
// TimestampRouter is a DataException; ExtractField's unknown field an
// IllegalArgumentException("Unknown field: …"); SetSchemaMetadata's
// Requirements.requireSchema and ConnectSchema.fields() DataExceptions),
// with Kafka Connect's message where Sluice has it, else Sluice's text; the
// Go error stays in the chain.
func TestBuiltinFailuresJavaClass(t *testing.T) {
	const dataEx = "org.apache.kafka.connect.errors.DataException"
	r := NewRegistry()
	st := connect.NewStruct(connect.StructBuilder().Field("a", connect.Int32Schema).MustBuild())
	if err := st.Put("a", int32(1)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		typ   string
		props map[string]string
		rec   connect.Record
		class string
		msg   string // "" means: the error's own text
	}{
		{"Cast$Value", map[string]string{"spec": "int32"}, connect.Record{Value: "abc"}, dataEx, ""},
		{"Cast$Value", map[string]string{"spec": "a:int32"}, connect.Record{Value: "abc"}, dataEx,
			"Only Map objects supported in absence of schema for [cast types], found: java.lang.String"},
		{"Flatten$Value", nil, connect.Record{Value: map[string]any{"a": struct{}{}}}, dataEx, ""},
		{"MaskField$Value", map[string]string{"fields": "a"}, connect.Record{Value: int32(3)}, dataEx,
			"Only Map objects supported in absence of schema for [mask fields], found: java.lang.Integer"},
		{"ValueToKey", map[string]string{"fields": "missing"}, connect.Record{ValueSchema: st.Schema(), Value: st}, dataEx, ""},
		{"TimestampRouter", nil, connect.Record{Topic: "t", Value: "v"}, dataEx, ""},
		{"ExtractField$Value", map[string]string{"field": "missing"}, connect.Record{ValueSchema: st.Schema(), Value: st},
			"java.lang.IllegalArgumentException", "Unknown field: missing"},
		{"SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}, connect.Record{Value: "v"}, dataEx,
			"Schema required for [updating schema metadata]"},
		{"SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}, connect.Record{ValueSchema: connect.StringSchema, Value: "v"}, dataEx,
			"Cannot list fields on non-struct type"},
	}
	for _, c := range cases {
		tr, err := r.NewTransformation(c.typ, c.props)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		rec := c.rec
		_, err = tr.Apply(context.Background(), &rec)
		if err == nil {
			t.Errorf("%s %v: no error", c.typ, c.rec.Value)
			continue
		}
		var n connect.JavaClassNamer
		if !errors.As(err, &n) || n.JavaClass() != c.class {
			t.Errorf("%s: %v: Java class %v, want %s", c.typ, err, n, c.class)
			continue
		}
		want := c.msg
		if want == "" {
			want = err.Error()
		}
		if m := n.(connect.JavaMessager).JavaMessage(); m != want {
			t.Errorf("%s: JavaMessage %q, want %q", c.typ, m, want)
		}
	}
	// The Go error stays in the chain.
	tr, _ := r.NewTransformation("Cast$Value", map[string]string{"spec": "int32"})
	_, err := tr.Apply(context.Background(), &connect.Record{Value: "abc"})
	if inner := errors.Unwrap(err); inner == nil || inner.Error() != err.Error() {
		t.Errorf("Cast: %v does not wrap its Go error (%v)", err, inner)
	}
}
