package transforms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestParseChainTypeNames(t *testing.T) {
	r := NewRegistry()
	for _, typ := range []string{
		"org.apache.kafka.connect.transforms.InsertField$Value",
		"InsertField$Value",
		" InsertField$Value ",
	} {
		c, err := r.ParseChain(map[string]string{
			"transforms": "a", "transforms.a.type": typ, "transforms.a.static.field": "s", "transforms.a.static.value": "v",
		})
		if err != nil {
			t.Fatalf("%q: %v", typ, err)
		}
		if _, ok := c.Stages()[0].Transformation.(*InsertField); !ok || c.Stages()[0].Class != strings.TrimSpace(typ) {
			t.Fatalf("%q: got %+v", typ, c.Stages()[0])
		}
	}
	for _, typ := range []string{"org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "TopicNameMatches"} {
		_, err := r.ParseChain(map[string]string{
			"transforms": "a", "transforms.a.type": "Filter", "transforms.a.predicate": "p",
			"predicates": "p", "predicates.p.type": typ, "predicates.p.pattern": "x",
		})
		if err != nil {
			t.Fatalf("%q: %v", typ, err)
		}
	}
}

func TestParseChainBuiltins(t *testing.T) {
	r := NewRegistry()
	want := []string{"Cast$Key", "Cast$Value", "DropHeaders", "ExtractField$Key", "ExtractField$Value", "Filter",
		"Flatten$Key", "Flatten$Value", "HeaderFrom$Key", "HeaderFrom$Value", "HoistField$Key", "HoistField$Value",
		"InsertField$Key", "InsertField$Value", "InsertHeader", "MaskField$Key", "MaskField$Value", "RegexRouter",
		"ReplaceField$Key", "ReplaceField$Value", "SetSchemaMetadata$Key", "SetSchemaMetadata$Value",
		"TimestampConverter$Key", "TimestampConverter$Value", "TimestampRouter", "ValueToKey"}
	if got := strings.Join(r.Transformations(), ","); got != strings.Join(want, ",") {
		t.Fatalf("transformations: %s", got)
	}
	if got := strings.Join(r.Predicates(), ","); got != "HasHeaderKey,RecordIsTombstone,TopicNameMatches" {
		t.Fatalf("predicates: %s", got)
	}
}

func TestParseChainErrors(t *testing.T) {
	base := func(kv ...string) map[string]string {
		m := map[string]string{"connector.class": "x", "tasks.max": "1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		props map[string]string
		want  []string
	}{
		{"missing type", base("transforms", "a"), []string{`transforms.a.type: missing required configuration "transforms.a.type"`}},
		{"unknown type", base("transforms", "a", "transforms.a.type", "InsretField$Value"),
			[]string{`transforms.a.type: unknown transformation type "InsretField$Value"; did you mean InsertField$Value?`}},
		{"variant missing", base("transforms", "a", "transforms.a.type", "org.apache.kafka.connect.transforms.Cast"),
			[]string{"did you mean Cast$Key or Cast$Value?"}},
		{"duplicate alias", base("transforms", "a, a", "transforms.a.type", "Filter"), []string{`transforms: duplicate alias "a"`}},
		{"empty alias", base("transforms", "a,,b", "transforms.a.type", "Filter", "transforms.b.type", "Filter"), []string{"transforms: empty alias"}},
		{"smt key", base("transforms", "ins", "transforms.ins.type", "InsertField$Value", "transforms.ins.static.field", "x"),
			[]string{`transforms.ins.static.value: no value specified for static field "x"`}},
		{"smt missing key", base("transforms", "r", "transforms.r.type", "RegexRouter", "transforms.r.regex", "x"),
			[]string{`transforms.r.replacement: missing required configuration "replacement"`}},
		{"undefined predicate", base("transforms", "a", "transforms.a.type", "Filter", "transforms.a.predicate", "p"),
			[]string{`transforms.a.predicate: predicate "p" is not defined in predicates`}},
		{"negate without predicate", base("transforms", "a", "transforms.a.type", "Filter", "transforms.a.negate", "true"),
			[]string{`transforms.a.negate: negate requires transforms.a.predicate`}},
		{"bad negate", base("transforms", "a", "transforms.a.type", "Filter", "transforms.a.predicate", "p", "transforms.a.negate", "yes",
			"predicates", "p", "predicates.p.type", "RecordIsTombstone"),
			[]string{`transforms.a.negate: invalid value "yes": expected value to be either true or false`}},
		{"predicate type", base("predicates", "p", "predicates.p.type", "TopicNameMatch"),
			[]string{`predicates.p.type: unknown predicate type "TopicNameMatch"; did you mean TopicNameMatches?`}},
		{"predicate config", base("predicates", "p", "predicates.p.type", "TopicNameMatches", "predicates.p.pattern", "a(b"),
			[]string{"predicates.p.pattern: invalid regular expression"}},
		{"predicate missing type", base("predicates", "p"), []string{`predicates.p.type: missing required configuration`}},
		{"duplicate predicate", base("predicates", "p,p", "predicates.p.type", "RecordIsTombstone"), []string{`predicates: duplicate alias "p"`}},
		{"several errors", base("transforms", "a,b", "transforms.b.type", "Cast$Value", "transforms.b.spec", "x:bytes"),
			[]string{"transforms.a.type: missing", "transforms.b.spec: Cast transformation does not support casting to BYTES"}},
	}
	r := NewRegistry()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.ParseChain(tc.props)
			for _, w := range tc.want {
				wantErr(t, err, w)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("not a ConfigError: %T", err)
			}
		})
	}
}

func TestParseChainIgnoresUnrelatedAndEmpty(t *testing.T) {
	c, err := NewRegistry().ParseChain(map[string]string{"name": "x", "transforms": " ", "transformsfoo": "bar"})
	if err != nil || c.Len() != 0 {
		t.Fatalf("got %v %v", c, err)
	}
	c, err = NewRegistry().ParseChain(nil)
	if err != nil || c.Len() != 0 {
		t.Fatalf("got %v %v", c, err)
	}
}

func TestRegistryCustom(t *testing.T) {
	r := NewRegistry()
	r.RegisterTransformation("com.acme.Upper", func(props map[string]string) (Transformation, error) {
		if props["field"] == "" {
			return nil, &ConfigError{Key: "field", Reason: "required"}
		}
		return TransformationFunc(func(_ context.Context, rec *connect.Record) (*connect.Record, error) {
			rec.Topic = strings.ToUpper(rec.Topic)
			return rec, nil
		}), nil
	})
	r.RegisterPredicate("com.acme.Always", func(map[string]string) (Predicate, error) {
		return PredicateFunc(func(context.Context, *connect.Record) (bool, error) { return true, nil }), nil
	})
	_, err := r.ParseChain(map[string]string{"transforms": "u", "transforms.u.type": "com.acme.Upper"})
	wantErr(t, err, "transforms.u.field: required")
	c := must(r.ParseChain(map[string]string{
		"transforms": "u", "transforms.u.type": "com.acme.Upper", "transforms.u.field": "x",
		"transforms.u.predicate": "a", "predicates": "a", "predicates.a.type": "com.acme.Always",
	}))
	out := must(c.Apply(ctx, &connect.Record{Topic: "abc"}))
	if out.Topic != "ABC" {
		t.Fatal(out.Topic)
	}
	// A fresh registry does not see custom registrations.
	if _, err := NewRegistry().NewTransformation("com.acme.Upper", nil); err == nil {
		t.Fatal("registries share state")
	}
}

func TestParseChainSharesPredicate(t *testing.T) {
	c := must(NewRegistry().ParseChain(map[string]string{
		"transforms": "a,b", "transforms.a.type": "Filter", "transforms.a.predicate": "p",
		"transforms.b.type": "Filter", "transforms.b.predicate": "p", "transforms.b.negate": "TRUE",
		"predicates": "p,unused", "predicates.p.type": "HasHeaderKey", "predicates.p.name": "h",
		"predicates.unused.type": "RecordIsTombstone",
	}))
	s := c.Stages()
	if s[0].Predicate != s[1].Predicate || s[0].Negate || !s[1].Negate || s[1].PredicateAlias != "p" {
		t.Fatalf("stages %+v", s)
	}
}
