package transforms

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestHoistField(t *testing.T) {
	both(t, func(t *testing.T, p Part) {
		tr := must(hoistFieldFactory(p)(map[string]string{"field": "magic"}))
		out := mustApply(t, tr, withPart(sinkRec("t", connect.Int32Schema, int32(42)), p))
		checkOther(t, out, p)
		s, v := p.get(out)
		if s.Type != connect.TypeStruct || len(s.Fields) != 1 || s.Fields[0].Schema != connect.Int32Schema {
			t.Fatalf("schema %v", s)
		}
		eq(t, get(t, v, "magic"), int32(42))
		s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("t", connect.Int32Schema, int32(1)), p)))
		if s2 != s {
			t.Fatal("schema not cached")
		}

		out = mustApply(t, tr, withPart(sinkRec("t", nil, int32(42)), p))
		_, v = p.get(out)
		eq(t, v, map[string]any{"magic": int32(42)})

		// null values are wrapped, as in Kafka Connect
		out = mustApply(t, tr, withPart(sinkRec("t", nil, nil), p))
		_, v = p.get(out)
		eq(t, v, map[string]any{"magic": nil})
		out = mustApply(t, tr, withPart(sinkRec("t", connect.OptionalInt32Schema, nil), p))
		_, v = p.get(out)
		eq(t, get(t, v, "magic"), nil)
		_, err := tr.Apply(ctx, withPart(sinkRec("t", connect.Int32Schema, nil), p))
		wantErr(t, err, "null used for required")
	})
	_, err := hoistFieldFactory(Key)(map[string]string{})
	wantErr(t, err, `field: missing required configuration "field"`)
}

func TestValueToKey(t *testing.T) {
	tr := must(valueToKeyFactory(map[string]string{"fields": "id, age"}))
	out := mustApply(t, tr, sinkRec("t", personSchema, person()))
	ks := out.KeySchema
	if len(ks.Fields) != 2 || ks.Fields[0].Name != "id" || ks.Fields[1].Schema != personSchema.Field("age").Schema {
		t.Fatalf("key schema %v", ks.Fields)
	}
	eq(t, get(t, out.Key, "id"), int32(7))
	eq(t, get(t, out.Key, "age"), int32(18)) // default
	if out.ValueSchema != personSchema {
		t.Fatal("value schema changed")
	}
	if out2 := mustApply(t, tr, sinkRec("t", personSchema, person())); out2.KeySchema != ks {
		t.Fatal("key schema not cached")
	}

	out = mustApply(t, tr, sinkRec("t", nil, personMap()))
	eq(t, out.Key, map[string]any{"id": int32(7), "age": nil})
	if out.KeySchema != nil {
		t.Fatal("schemaless key got a schema")
	}

	_, err := tr.Apply(ctx, sinkRec("t", nil, nil))
	wantErr(t, err, "[copying fields from value to key], found: null")
	bad := must(NewValueToKey(ValueToKeyConfig{Fields: []string{"nope"}}))
	_, err = bad.Apply(ctx, sinkRec("t", personSchema, person()))
	wantErr(t, err, "field does not exist: nope")

	_, err = valueToKeyFactory(map[string]string{"fields": ""})
	wantErr(t, err, "fields: empty list")
	// Kafka Connect 4.3.1: ValueToKey {fields=a,a} on Struct{a=5,b=x} gives
	// the key Struct{a=5} (ConfigDef drops duplicate LIST entries), and
	// {fields=a,} fails: "Configuration 'fields' values must not be empty."
	dup := must(valueToKeyFactory(map[string]string{"fields": "age,age"}))
	out = mustApply(t, dup, sinkRec("t", personSchema, person()))
	if n := len(out.KeySchema.Fields); n != 1 {
		t.Fatalf("key has %d fields, want 1", n)
	}
	_, err = valueToKeyFactory(map[string]string{"fields": "age,"})
	wantErr(t, err, "fields: Configuration 'fields' values must not be empty.")

	pn := must(NewValueToKey(ValueToKeyConfig{Fields: []string{"age"}, PreserveNulls: true}))
	eq(t, get(t, mustApply(t, pn, sinkRec("t", personSchema, person())).Key, "age"), nil)
}

func TestFilter(t *testing.T) {
	f := must(NewRegistry().NewTransformation("org.apache.kafka.connect.transforms.Filter", nil))
	for _, r := range []*connect.Record{sinkRec("t", nil, nil), sourceRec("t", personSchema, person())} {
		if out := mustApply(t, f, r); out != nil {
			t.Fatal("not dropped")
		}
	}
}

func TestPredicates(t *testing.T) {
	tn := must(NewTopicNameMatches(TopicNameMatchesConfig{Pattern: "my-prefix-.*"}))
	for topic, want := range map[string]bool{"my-prefix-": true, "my-prefix-foo": true, "x-my-prefix-": false, "my-prefix": false, "": false} {
		if got, _ := tn.Test(ctx, &connect.Record{Topic: topic}); got != want {
			t.Errorf("TopicNameMatches(%q) = %v", topic, got)
		}
	}
	alt := must(NewTopicNameMatches(TopicNameMatchesConfig{Pattern: "a|ab"}))
	if ok, _ := alt.Test(ctx, &connect.Record{Topic: "ab"}); !ok {
		t.Error("full match of an alternation")
	}
	_, err := topicNameMatchesFactory(map[string]string{"pattern": ""})
	wantErr(t, err, "pattern: must be non-empty")
	_, err = topicNameMatchesFactory(map[string]string{})
	wantErr(t, err, `pattern: missing required configuration`)

	hk := must(NewHasHeaderKey(HasHeaderKeyConfig{Name: "h"}))
	r := &connect.Record{}
	if ok, _ := hk.Test(ctx, r); ok {
		t.Error("no headers")
	}
	r.Headers.AddString("x", "1")
	r.Headers.AddString("h", "2")
	if ok, _ := hk.Test(ctx, r); !ok {
		t.Error("header present")
	}
	_, err = hasHeaderKeyFactory(map[string]string{"name": " "})
	wantErr(t, err, "name: must be non-empty")

	var tomb RecordIsTombstone
	if ok, _ := tomb.Test(ctx, &connect.Record{Key: "k"}); !ok {
		t.Error("null value is a tombstone")
	}
	if ok, _ := tomb.Test(ctx, &connect.Record{Value: ""}); ok {
		t.Error("empty string is not a tombstone")
	}
}
