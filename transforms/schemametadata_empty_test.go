package transforms

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// TestSetSchemaMetadataEmptyValues checks that schema.name="" and
// schema.version=0 set the name "" and the version 0, as Kafka Connect's
// SetSchemaMetadata does (a present property replaces the schema's, and ""
// and 0 are values, not null).
func TestSetSchemaMetadataEmptyValues(t *testing.T) {
	both(t, func(t *testing.T, p Part) {
		tr := must(setSchemaMetadataFactory(p)(map[string]string{"schema.name": "", "schema.version": "0"}))
		out := mustApply(t, tr, withPart(sinkRec("t", personSchema, person()), p))
		s, _ := p.get(out)
		if s.Name != "" || !s.NameSet() || s.Version != 0 || !s.VersionSet() || s.Doc != "a person" {
			t.Fatalf("schema.name=\"\", schema.version=0: name %q (set %v), version %d (set %v), doc %q; want \"\" and 0 set, doc kept",
				s.Name, s.NameSet(), s.Version, s.VersionSet(), s.Doc)
		}
		// Only the configured one changes.
		nameOnly := must(setSchemaMetadataFactory(p)(map[string]string{"schema.name": ""}))
		s, _ = p.get(mustApply(t, nameOnly, withPart(sinkRec("t", personSchema, person()), p)))
		if !s.NameSet() || s.Name != "" || s.Version != 2 {
			t.Fatalf("schema.name=\"\": name %q (set %v), version %d; want \"\" set, version 2", s.Name, s.NameSet(), s.Version)
		}
	})
}

// TestCopySchemaBasicsEmptyMetadata checks that an SMT rebuilding a STRUCT
// schema (copySchemaBasics, Kafka Connect's SchemaUtil.copySchemaBasics)
// keeps a set name or doc of "" and version of 0, and does not set them on
// a schema that has none.
func TestCopySchemaBasicsEmptyMetadata(t *testing.T) {
	in := connect.StructBuilder().Name("").Version(0).Doc("").Field("a", connect.Int32Schema).Field("b", connect.Int32Schema).MustBuild()
	tr := must(replaceFieldFactory(Value)(map[string]string{"exclude": "b"}))
	st := connect.NewStruct(in)
	if err := st.Put("a", int32(1)); err != nil {
		t.Fatal(err)
	}
	if err := st.Put("b", int32(2)); err != nil {
		t.Fatal(err)
	}
	out := mustApply(t, tr, sinkRec("t", in, st))
	if s := out.ValueSchema; !s.NameSet() || !s.VersionSet() || !s.DocSet() || len(s.Fields) != 1 {
		t.Fatalf("ReplaceField lost the \"\"/0 metadata: %+v", *s)
	}
	bare := connect.StructBuilder().Field("a", connect.Int32Schema).MustBuild()
	if s := copySchemaBasics(bare, connect.StructBuilder()).MustBuild(); s.NameSet() || s.VersionSet() || s.DocSet() {
		t.Fatalf("copySchemaBasics set metadata the source has not: %+v", *s)
	}
}
