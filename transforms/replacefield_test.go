package transforms

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestReplaceField(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  map[string]any // output fields (absent = dropped)
	}{
		{"exclude", map[string]string{"exclude": "email"}, map[string]any{"id": int32(7), "name": "Ann", "age": int32(18)}},
		{"include", map[string]string{"include": "id,name"}, map[string]any{"id": int32(7), "name": "Ann"}},
		{"exclude wins", map[string]string{"include": "id,name", "exclude": "name"}, map[string]any{"id": int32(7)}},
		{"renames", map[string]string{"renames": "id:person_id,name:full_name"},
			map[string]any{"person_id": int32(7), "full_name": "Ann", "email": "ann@x.io", "age": int32(18)}},
		{"renames and exclude", map[string]string{"exclude": "email,age", "renames": "name:full_name,email:mail"},
			map[string]any{"id": int32(7), "full_name": "Ann"}},
		// Kafka Connect 4.3.1 ignores the removed whitelist/blacklist keys
		// (ReplaceField$Value {blacklist=a} leaves a in place).
		{"removed whitelist blacklist ignored", map[string]string{"whitelist": "id", "blacklist": "email", "include": "name"},
			map[string]any{"name": "Ann"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			both(t, func(t *testing.T, p Part) {
				tr := must(replaceFieldFactory(p)(tc.props))
				t.Run("schema", func(t *testing.T) {
					out := mustApply(t, tr, withPart(sinkRec("t", personSchema, person()), p))
					checkOther(t, out, p)
					s, v := p.get(out)
					if len(s.Fields) != len(tc.want) || s.Name != personSchema.Name || s.Version != 2 {
						t.Fatalf("schema %v fields %v", s, s.Fields)
					}
					for name, want := range tc.want {
						eq(t, get(t, v, name), want)
					}
					s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("t", personSchema, person()), p)))
					if s2 != s {
						t.Fatal("schema not cached")
					}
				})
				t.Run("schemaless", func(t *testing.T) {
					in := personMap()
					in["age"] = int32(18)
					out := mustApply(t, tr, withPart(sinkRec("t", nil, in), p))
					_, v := p.get(out)
					m := v.(map[string]any)
					if len(m) != len(tc.want) {
						t.Fatalf("got %v", m)
					}
					for name, want := range tc.want {
						eq(t, m[name], want)
					}
					if len(in) != 4 {
						t.Fatal("input modified")
					}
				})
				t.Run("tombstone", func(t *testing.T) {
					out := mustApply(t, tr, withPart(sinkRec("t", personSchema, nil), p))
					if s, v := p.get(out); v != nil || s != personSchema {
						t.Fatal("tombstone changed")
					}
				})
			})
		})
	}
}

func TestReplaceFieldErrors(t *testing.T) {
	_, err := replaceFieldFactory(Value)(map[string]string{"renames": "a:b:c"})
	wantErr(t, err, `renames: invalid rename mapping: "a:b:c"`)
	_, err = replaceFieldFactory(Value)(map[string]string{"renames": "a"})
	wantErr(t, err, `invalid rename mapping: "a"`)
	tr := must(NewReplaceField(ReplaceFieldConfig{Renames: map[string]string{"id": "name"}}, Value))
	_, err = tr.Apply(ctx, sinkRec("t", personSchema, person()))
	wantErr(t, err, `duplicate field "name"`)
	_, err = tr.Apply(ctx, sinkRec("t", connect.Int32Schema, int32(1)))
	wantErr(t, err, "only Struct values supported for [field replacement]")
}

func TestReplaceFieldPreserveNulls(t *testing.T) {
	tr := must(NewReplaceField(ReplaceFieldConfig{Exclude: []string{"email"}, PreserveNulls: true}, Value))
	out := mustApply(t, tr, sinkRec("t", personSchema, person()))
	eq(t, get(t, out.Value, "age"), nil)
}
