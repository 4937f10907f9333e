package transforms

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// The expectations in this file are what Kafka Connect 4.3.1's own classes
// printed (connect-transforms-4.3.1.jar run through a throwaway Java
// harness: configure(props), then apply(record)); each test quotes it.

func byProps(t *testing.T, typ string, props ...string) Transformation {
	t.Helper()
	m := make(map[string]string)
	for i := 0; i < len(props); i += 2 {
		m[props[i]] = props[i+1]
	}
	tr, err := NewRegistry().NewTransformation(typ, m)
	if err != nil {
		t.Fatalf("%s %q: %v", typ, m, err)
	}
	return tr
}

func byPropsErr(t *testing.T, typ, want string, props ...string) {
	t.Helper()
	m := make(map[string]string)
	for i := 0; i < len(props); i += 2 {
		m[props[i]] = props[i+1]
	}
	_, err := NewRegistry().NewTransformation(typ, m)
	wantErr(t, err, want)
}

// HeaderFrom$Key {fields=a, headers=h, operation=copy} on key Struct{a=5,b=x},
// value null => headers=[h:Schema{INT32} 5], key unchanged; with move the key
// becomes Struct{b=x}. HeaderFrom$Value on a null value =>
// DataException "Only Struct objects supported for [header copy], found: null"
// (schemaless: "Only Map objects supported ...").
func TestKCHeaderFromKeyLooksAtTheKey(t *testing.T) {
	ks := connect.StructBuilder().Field("a", connect.Int32Schema).Field("b", connect.StringSchema).MustBuild()
	for _, op := range []string{"copy", "move"} {
		tr := byProps(t, "HeaderFrom$Key", "fields", "a", "headers", "h", "operation", op)
		rec := &connect.Record{Topic: "t", KeySchema: ks, Key: connect.NewStruct(ks).MustPut("a", int32(5)).MustPut("b", "x")}
		out := mustApply(t, tr, rec)
		if len(out.Headers) != 1 || out.Headers[0].Key != "h" || out.Headers[0].Value != int32(5) || out.Headers[0].Schema.Type != connect.TypeInt32 {
			t.Fatalf("%s: headers %+v", op, out.Headers)
		}
		if n := len(out.KeySchema.Fields); (op == "move") != (n == 1) {
			t.Fatalf("%s: key schema has %d fields", op, n)
		}
		out = mustApply(t, tr, &connect.Record{Topic: "t", Key: map[string]any{"a": int32(5), "b": "x"}})
		if len(out.Headers) != 1 || out.Headers[0].Value != int32(5) {
			t.Fatalf("%s schemaless: headers %+v", op, out.Headers)
		}
		if _, has := out.Key.(map[string]any)["a"]; has != (op == "copy") {
			t.Fatalf("%s schemaless: key %v", op, out.Key)
		}
		val := byProps(t, "HeaderFrom$Value", "fields", "a", "headers", "h", "operation", op)
		_, err := val.Apply(ctx, &connect.Record{Topic: "t", Key: map[string]any{"a": int32(5)}})
		wantErr(t, err, "found: null")
		_, err = tr.Apply(ctx, &connect.Record{Topic: "t", KeySchema: ks, Value: map[string]any{"a": int32(5)}})
		wantErr(t, err, "found: null")
	}
}

// Flatten$Value {delimiter=} on {a={b=1}} => {ab=1}; {delimiter= _ } =>
// {a_b=1} (trimmed); {replace.null.with.default=bogus} is accepted (Flatten has
// no such key) and a null field with a default flattens to the default.
func TestKCFlattenProperties(t *testing.T) {
	in := func() map[string]any { return map[string]any{"a": map[string]any{"b": int32(1)}} }
	out := mustApply(t, byProps(t, "Flatten$Value", "delimiter", ""), sourceRec("t", nil, in()))
	eq(t, out.Value, map[string]any{"ab": int32(1)})
	out = mustApply(t, byProps(t, "Flatten$Value", "delimiter", " _ "), sourceRec("t", nil, in()))
	eq(t, out.Value, map[string]any{"a_b": int32(1)})
	tr := byProps(t, "Flatten$Value", "replace.null.with.default", "false")
	byProps(t, "Flatten$Value", "replace.null.with.default", "bogus")
	out = mustApply(t, tr, sourceRec("t", personSchema, person()))
	eq(t, get(t, out.Value, "age"), int32(18))
}

// TimestampRouter {topic.format=} => topic ""; {topic.format= } => "" (trimmed);
// {timestamp.format=} => "t-"; {timestamp.format=bad'} is accepted and the
// record fails (IllegalArgumentException: Illegal pattern character 'b').
func TestKCTimestampRouterEmptyFormats(t *testing.T) {
	rec := func() *connect.Record {
		return &connect.Record{Topic: "t", Timestamp: time.UnixMilli(1000), TimestampType: connect.CreateTime}
	}
	eq(t, mustApply(t, byProps(t, "TimestampRouter", "topic.format", ""), rec()).Topic, "")
	eq(t, mustApply(t, byProps(t, "TimestampRouter", "topic.format", " "), rec()).Topic, "")
	eq(t, mustApply(t, byProps(t, "TimestampRouter", "timestamp.format", ""), rec()).Topic, "t-")
	_, err := byProps(t, "TimestampRouter", "timestamp.format", "bad'").Apply(ctx, rec())
	wantErr(t, err, "illegal pattern character 'b'")
}

// InsertField$Value {static.field=s, static.value="\u0001 \u00a0x\u00a0 \u0085\u001f"}
// => s="\u00a0x\u00a0 \u0085" (String.trim removes only chars <= U+0020);
// {static.field=, static.value=v}, {static.field=!}, {static.field=?} and
// {topic.field= } insert a field named "".
func TestKCInsertFieldJavaTrimAndEmptyNames(t *testing.T) {
	tr := byProps(t, "InsertField$Value", "static.field", "s", "static.value", "\u0001 \u00a0x\u00a0 \u0085\u001f")
	out := mustApply(t, tr, sourceRec("t", nil, map[string]any{}))
	eq(t, out.Value.(map[string]any)["s"], "\u00a0x\u00a0 \u0085")
	for _, f := range []string{"", "!", "?"} {
		out = mustApply(t, byProps(t, "InsertField$Value", "static.field", f, "static.value", "v"), sourceRec("t", nil, map[string]any{}))
		eq(t, out.Value, map[string]any{"": "v"})
	}
	out = mustApply(t, byProps(t, "InsertField$Value", "topic.field", " "), sourceRec("t", nil, map[string]any{}))
	eq(t, out.Value, map[string]any{"": "t"})
	// With a schema the record fails, as Kafka Connect's SchemaBuilder.field
	// rejects the name "" (SchemaBuilderException "fieldName cannot be null.").
	_, err := byProps(t, "InsertField$Value", "topic.field", "!").Apply(ctx, sourceRec("t", personSchema, person()))
	wantErr(t, err, "field name must not be empty")
}

// Config values Kafka Connect 4.3.1 accepts: InsertHeader {header=} adds the
// header "" (and {header= h , value.literal= x } is h:"x"); HoistField
// {field=} hoists under ""; ExtractField {field=} extracts the field ""; MaskField/ValueToKey/DropHeaders/ReplaceField drop duplicate
// list entries and reject empty ones ("Configuration 'fields' values must
// not be empty."); HeaderFrom keeps duplicates ({fields=a,a, headers=h1,h2}
// copies a twice); TimestampConverter {unix.precision=} is rejected.
func TestKCConfigAcceptance(t *testing.T) {
	out := mustApply(t, byProps(t, "InsertHeader", "header", "", "value.literal", "x"), sourceRec("t", nil, nil))
	if len(out.Headers) != 1 || out.Headers[0].Key != "" || out.Headers[0].Value != "x" {
		t.Fatalf("headers %+v", out.Headers)
	}
	out = mustApply(t, byProps(t, "InsertHeader", "header", " h ", "value.literal", " x "), sourceRec("t", nil, nil))
	if out.Headers[0].Key != "h" || out.Headers[0].Value != "x" {
		t.Fatalf("headers %+v", out.Headers)
	}
	out = mustApply(t, byProps(t, "HoistField$Value", "field", ""), sourceRec("t", nil, int32(1)))
	eq(t, out.Value, map[string]any{"": int32(1)})
	out = mustApply(t, byProps(t, "ExtractField$Value", "field", ""), sourceRec("t", nil, map[string]any{"": int32(3)}))
	eq(t, out.Value, int32(3))

	out = mustApply(t, byProps(t, "MaskField$Value", "fields", "id,id"), sourceRec("t", nil, personMap()))
	eq(t, out.Value.(map[string]any)["id"], int32(0))
	for _, c := range [][2]string{{"MaskField$Value", "fields"}, {"ValueToKey", "fields"}, {"DropHeaders", "headers"},
		{"ReplaceField$Value", "exclude"}, {"ReplaceField$Value", "include"}} {
		byPropsErr(t, c[0], "Configuration '"+c[1]+"' values must not be empty.", c[1], "a,")
		byProps(t, c[0], c[1], "a,a")
	}
	byProps(t, "ReplaceField$Value", "exclude", "")

	out = mustApply(t, byProps(t, "HeaderFrom$Value", "fields", "id,id", "headers", "h1,h2", "operation", "copy"), sourceRec("t", nil, personMap()))
	if len(out.Headers) != 2 || out.Headers[1].Value != int32(7) {
		t.Fatalf("headers %+v", out.Headers)
	}
	byPropsErr(t, "TimestampConverter$Value", "unix.precision", "target.type", "unix", "unix.precision", "")
}

// LIST values split on Java's \s*,\s*, whose \s includes the vertical tab:
// DropHeaders {headers="a\u000b,\u000bb"} drops a and b.
func TestKCListSplitsOnJavaWhitespace(t *testing.T) {
	r := sourceRec("t", nil, nil)
	r.Headers = connect.Headers{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "c", Value: "3"}}
	out := mustApply(t, byProps(t, "DropHeaders", "headers", "\u000ba\u000b,\u000bb\u000b"), r)
	if len(out.Headers) != 1 || out.Headers[0].Key != "c" {
		t.Fatalf("headers %+v", out.Headers)
	}
}

// ReplaceField$Value {renames=x:amount} on JsonConverter's HashMap
// {amount=2, x=1} => {amount=1}; {renames=a:b} on {a=1, b=2} => {b=2};
// {renames=b:a} => {a=2}; {renames=a:b,b:a} => {a=2, b=1}. The field iterated
// last in the HashMap wins. {blacklist=a} is ignored (removed in 4.0).
func TestKCReplaceFieldRenameCollision(t *testing.T) {
	for _, c := range []struct {
		renames string
		in      map[string]any
		want    map[string]any
	}{
		{"x:amount", map[string]any{"x": int32(1), "amount": int32(2)}, map[string]any{"amount": int32(1)}},
		{"a:b", map[string]any{"a": int32(1), "b": int32(2)}, map[string]any{"b": int32(2)}},
		{"b:a", map[string]any{"a": int32(1), "b": int32(2)}, map[string]any{"a": int32(2)}},
		{"a:b,b:a", map[string]any{"a": int32(1), "b": int32(2)}, map[string]any{"a": int32(2), "b": int32(1)}},
	} {
		for range 20 { // Go's map order varies run to run; the result must not
			out := mustApply(t, byProps(t, "ReplaceField$Value", "renames", c.renames), sourceRec("t", nil, c.in))
			eq(t, out.Value, c.want)
		}
	}
	out := mustApply(t, byProps(t, "ReplaceField$Value", "blacklist", "id"), sourceRec("t", nil, personMap()))
	eq(t, out.Value, personMap())
}

// SetSchemaMetadata$Value {schema.name=} on a null value with schema x v3 =>
// Schema{"":STRUCT}; {schema.version=0} accepted; on a null value without a
// schema the record passes through; a schemaless non-null value fails
// ("Schema required for [updating schema metadata]").
func TestKCSetSchemaMetadata(t *testing.T) {
	in := connect.StructBuilder().Name("x").Version(3).Field("a", connect.Int32Schema).MustBuild()
	out := mustApply(t, byProps(t, "SetSchemaMetadata$Value", "schema.name", ""), sourceRec("t", in, nil))
	if out.ValueSchema.Name != "" || out.ValueSchema.Version != 3 {
		t.Fatalf("schema %+v", out.ValueSchema)
	}
	tr := byProps(t, "SetSchemaMetadata$Value", "schema.version", "0")
	out = mustApply(t, tr, sourceRec("t", in, nil))
	if out.ValueSchema.Name != "x" || out.ValueSchema.Version != 0 {
		t.Fatalf("schema %+v", out.ValueSchema)
	}
	out = mustApply(t, tr, sourceRec("t", nil, nil))
	if out.ValueSchema != nil || out.Value != nil {
		t.Fatal("null passed through changed")
	}
	_, err := tr.Apply(ctx, sourceRec("t", nil, map[string]any{"a": int32(1)}))
	wantErr(t, err, "schema required")
	byPropsErr(t, "SetSchemaMetadata$Value", "neither schema name nor version configured")
}

// TimestampConverter/TimestampRouter text formats use the Julian calendar
// before 1582-10-15, as SimpleDateFormat's GregorianCalendar does. Kafka
// Connect 4.3.1, format "yyyy-MM-dd HH:mm:ss.SSS G D E", printed these for
// epoch milliseconds (target.type=string) and parsed these texts back
// (target.type=unix, format "yyyy-MM-dd HH:mm:ss.SSS G"); TimestampRouter
// {timestamp.format=yyyyMMdd G} gave t-15821004 AD for -12219292800001.
func TestKCJulianCalendarBefore1582(t *testing.T) {
	toString := byProps(t, "TimestampConverter$Value", "target.type", "string", "format", "yyyy-MM-dd HH:mm:ss.SSS G D E")
	for _, c := range []struct {
		ms   int64
		want string
	}{
		{-62135596800000, "0001-01-03 00:00:00.000 AD 3 Mon"},
		{-12219292800001, "1582-10-04 23:59:59.999 AD 277 Thu"},
		{-12219292800000, "1582-10-15 00:00:00.000 AD 278 Fri"},
		{-100000000000000, "1200-02-26 14:13:20.000 BC 57 Thu"},
		{-62198755200001, "0002-01-02 23:59:59.999 BC 2 Thu"},
		{-30610224000000, "0999-12-27 00:00:00.000 AD 361 Wed"},
		{-210866803200000, "4713-01-01 00:00:00.000 BC 1 Mon"},
		{-1, "1969-12-31 23:59:59.999 AD 365 Wed"},
	} {
		out := mustApply(t, toString, sourceRec("t", nil, c.ms))
		eq(t, out.Value, c.want)
	}
	toUnix := byProps(t, "TimestampConverter$Value", "target.type", "unix", "format", "yyyy-MM-dd HH:mm:ss.SSS G")
	for _, c := range []struct {
		text string
		want int64
	}{
		{"0024-01-01 00:00:00.000 AD", -61410009600000},
		{"1582-10-10 00:00:00.000 AD", -12218860800000}, // in the gap: Julian, lenient
		{"1582-10-04 00:00:00.000 AD", -12219379200000},
		{"1582-10-15 00:00:00.000 AD", -12219292800000},
		{"1500-02-29 00:00:00.000 AD", -14825894400000}, // a Julian leap day
		{"0001-01-01 00:00:00.000 BC", -62167392000000},
		{"1581-13-01 00:00:00.000 AD", -12243225600000},
		{"1583-00-01 00:00:00.000 AD", -12215232000000},
	} {
		out := mustApply(t, toUnix, sourceRec("t", nil, c.text))
		eq(t, out.Value, c.want)
	}
	r := &connect.Record{Topic: "t", Timestamp: time.UnixMilli(-12219292800001), TimestampType: connect.CreateTime}
	eq(t, mustApply(t, byProps(t, "TimestampRouter", "timestamp.format", "yyyyMMdd G"), r).Topic, "t-15821004 AD")
}

// INT properties parse as Integer.parseInt: SetSchemaMetadata$Value
// {schema.version= +7 } is accepted (version 7); Unicode digits count
// (Character.digit), so schema.version=٣ is 3.
func TestKCIntPropertiesParseAsJava(t *testing.T) {
	in := connect.StructBuilder().Name("x").Field("a", connect.Int32Schema).MustBuild()
	for lit, want := range map[string]int32{" +7 ": 7, "٣": 3, "-0": 0} {
		out := mustApply(t, byProps(t, "SetSchemaMetadata$Value", "schema.version", lit), sourceRec("t", in, nil))
		eq(t, out.ValueSchema.Version, want)
	}
	for _, lit := range []string{"7.0", "1_0", "2147483648", "+", ""} {
		byPropsErr(t, "SetSchemaMetadata$Value", "schema.version", "schema.version", lit)
	}
}

// Flatten$Value on a Struct with a MAP field: Kafka Connect 4.3.1 fails with
// DataException "Flatten transformation does not support MAP for record with
// schemas (for field x-y)." (seen by the differential tester, seed 7).
func TestKCFlattenRejectsSchemaMaps(t *testing.T) {
	s := connect.StructBuilder().
		Field("x-y", connect.MapBuilder(connect.StringSchema, connect.Int32Schema).MustBuild()).
		Field("id", connect.Int16Schema).MustBuild()
	v := connect.NewStruct(s).MustPut("x-y", map[string]any{"k": int32(1)}).MustPut("id", int16(1))
	_, err := byProps(t, "Flatten$Value").Apply(ctx, sourceRec("t", s, v))
	wantErr(t, err, "Flatten transformation does not support MAP for record with schemas (for field x-y).")
}

// Unix precisions convert as Java's TimeUnit, which clamps to the long
// range: Kafka Connect 4.3.1 turned the Timestamp -62135596800000 ms into
// -9223372036854775808 nanoseconds and the Long 9223372036854775807 seconds
// into the Timestamp 9223372036854775807 ms.
func TestKCUnixPrecisionSaturates(t *testing.T) {
	for _, c := range []struct {
		precision string
		ms        int64
		want      int64
	}{
		{"seconds", -62135596800000, -62135596800},
		{"microseconds", -62135596800000, -62135596800000000},
		{"microseconds", 9223372036854775, 9223372036854775000},
		{"nanoseconds", -62135596800000, math.MinInt64},
		{"nanoseconds", 9223372036854775, math.MaxInt64},
	} {
		tr := byProps(t, "TimestampConverter$Value", "target.type", "unix", "unix.precision", c.precision)
		out := mustApply(t, tr, sourceRec("t", connect.TimestampSchema, time.UnixMilli(c.ms).UTC()))
		eq(t, out.Value, c.want)
	}
	for _, c := range []struct {
		precision string
		n, wantMs int64
	}{
		{"seconds", math.MinInt64, math.MinInt64},
		{"seconds", math.MaxInt64, math.MaxInt64},
		{"microseconds", math.MinInt64, -9223372036854775},
		{"nanoseconds", math.MaxInt64, 9223372036854},
	} {
		tr := byProps(t, "TimestampConverter$Value", "target.type", "Timestamp", "unix.precision", c.precision)
		out := mustApply(t, tr, sourceRec("t", nil, c.n))
		eq(t, out.Value.(time.Time).UnixMilli(), c.wantMs)
	}
}

// The week letters format as Kafka Connect's SimpleDateFormat does on its
// JVM's en locale (weeks start on Sunday; week 1 holds 1 January): the
// expectations in testdata/kc431_weekfields.txt were printed by Java 17,
// year ends, 1582 and year 100 (Julian) included. They do not parse: a
// string input then fails the record (Kafka Connect would parse it).
func TestKCWeekFieldsFormat(t *testing.T) {
	b, err := os.ReadFile("testdata/kc431_weekfields.txt")
	if err != nil {
		t.Fatal(err)
	}
	tr := byProps(t, "TimestampConverter$Value", "target.type", "string", "format", "YYYY-ww W F E yyyy-MM-dd")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		ms, want, _ := strings.Cut(line, " ")
		v, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out := mustApply(t, tr, sourceRec("t", connect.TimestampSchema, time.UnixMilli(v).UTC()))
		if out.Value != want {
			t.Errorf("%d: got %v, Kafka Connect %s", v, out.Value, want)
		}
		n++
	}
	if n < 90 {
		t.Fatalf("only %d cases", n)
	}
	r := &connect.Record{Topic: "t", Timestamp: time.UnixMilli(1735430400000), TimestampType: connect.CreateTime}
	eq(t, mustApply(t, byProps(t, "TimestampRouter", "timestamp.format", "YYYY-ww"), r).Topic, "t-2025-01")
}

// Dates parse as SimpleDateFormat does (spaces and tabs skipped before
// numbers, a minus sign taken, week dates resolved as CalendarBuilder does)
// (testdata/kc431_dateparse.txt: pattern, text, epoch ms as Java 17 parsed
// them, lenient, UTC): YYYY-MM-dd takes the Sunday starting week 1 of the
// week year, ignoring month and day, as in Java. W and F do not parse.
func TestKCWeekFieldsParse(t *testing.T) {
	b, err := os.ReadFile("testdata/kc431_dateparse.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, "\t")
		tr := byProps(t, "TimestampConverter$Value", "target.type", "unix", "format", p[0])
		if p[2] == "ERR" {
			_, err := tr.Apply(ctx, sourceRec("t", nil, p[1]))
			wantErr(t, err, "unparseable date")
			n++
			continue
		}
		want, err := strconv.ParseInt(p[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out := mustApply(t, tr, sourceRec("t", nil, p[1]))
		if out.Value != want {
			t.Errorf("%q with %q: got %v, Kafka Connect %d", p[1], p[0], out.Value, want)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("only %d cases", n)
	}
	_, err = byProps(t, "TimestampConverter$Value", "target.type", "unix", "format", "yyyy-MM W").Apply(ctx, sourceRec("t", nil, "2025-01 2"))
	wantErr(t, err, "the pattern letters W and F are not supported")
}

// ReplaceField$Value on a Struct reads each output field from the input
// field its name maps back to through the inverted renames (Kafka Connect's
// reverseRenamed); Kafka Connect 4.3.1 printed, for Structs of INT32 fields:
func TestKCReplaceFieldReverseRenames(t *testing.T) {
	for _, c := range []struct {
		fields, renames string
		want            string // the error, or the output field name
	}{
		{"a,c", "z:a", "z is not a valid field name"},
		{"c", "\u2028b:renamed,c:renamed", "\u2028b is not a valid field name"},
		{"a", "a:x,c:x", "c is not a valid field name"},
		{"c", "a:x,c:x", "x"},
		{"b", "b:x,c:x", "c is not a valid field name"},
		{"c", "b:x,c:x", "x"},
		{"q", "p:x,q:x,r:x", "r is not a valid field name"},
		{"r", "p:x,q:x,r:x", "x"},
		{"aa", "aa:t,bb:t", "bb is not a valid field name"},
		{"bb", "aa:t,bb:t", "t"},
		{"x", "y:x", "y is not a valid field name"},
	} {
		b := connect.StructBuilder()
		for _, f := range strings.Split(c.fields, ",") {
			b.Field(f, connect.Int32Schema)
		}
		s := b.MustBuild()
		v := connect.NewStruct(s)
		for _, f := range strings.Split(c.fields, ",") {
			v.MustPut(f, int32(1))
		}
		out, err := byProps(t, "ReplaceField$Value", "renames", c.renames).Apply(ctx, sourceRec("t", s, v))
		if strings.Contains(c.want, " ") {
			wantErr(t, err, c.want)
			continue
		}
		if err != nil {
			t.Fatalf("%s on %s: %v", c.renames, c.fields, err)
		}
		eq(t, get(t, out.Value, c.want), int32(1))
	}
}

// Flatten$Value on JsonConverter's (HashMap) schemaless values where two
// paths flatten to one name: Kafka Connect 4.3.1 printed {a.b=1} for
// {"a.b":1,"a":{"b":2}} (either order), {x.y=2} for {"x.y":1,"x":{"y":2}},
// {b.c.d=3} for {"b":{"c":{"d":1}},"b.c":{"d":2},"b.c.d":3} and, with
// delimiter=_, {zz_a=1} for {"zz_a":1,"zz":{"a":2}}.
func TestKCFlattenCollisionsInHashMapOrder(t *testing.T) {
	for _, c := range []struct {
		delim string
		in    map[string]any
		want  map[string]any
	}{
		{".", map[string]any{"a.b": int64(1), "a": map[string]any{"b": int64(2)}}, map[string]any{"a.b": int64(1)}},
		{".", map[string]any{"x.y": int64(1), "x": map[string]any{"y": int64(2)}}, map[string]any{"x.y": int64(2)}},
		{".", map[string]any{"b": map[string]any{"c": map[string]any{"d": int64(1)}}, "b.c": map[string]any{"d": int64(2)}, "b.c.d": int64(3)},
			map[string]any{"b.c.d": int64(3)}},
		{"_", map[string]any{"zz_a": int64(1), "zz": map[string]any{"a": int64(2)}}, map[string]any{"zz_a": int64(1)}},
	} {
		tr := byProps(t, "Flatten$Value", "delimiter", c.delim)
		for range 20 { // Go's map order varies; the result must not
			eq(t, mustApply(t, tr, sourceRec("t", nil, c.in)).Value, c.want)
		}
	}
}
