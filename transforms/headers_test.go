package transforms

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

func TestTimestampRouter(t *testing.T) {
	r := sourceRec("test", nil, nil)
	r.Timestamp = time.UnixMilli(1482425100000) // 2016-12-22T16:45:00Z
	out := mustApply(t, must(timestampRouterFactory(map[string]string{})), r)
	if out.Topic != "test-20161222" {
		t.Fatal(out.Topic)
	}
	r = sourceRec("test", nil, nil)
	r.Timestamp = time.UnixMilli(1482425100000)
	tr := must(NewTimestampRouter(TimestampRouterConfig{TopicFormat: "${timestamp}/${topic}/${topic}", TimestampFormat: "yyyy-MM-dd'T'HH"}))
	if out := mustApply(t, tr, r); out.Topic != "2016-12-22T16/test/test" {
		t.Fatal(out.Topic)
	}
	_, err := tr.Apply(ctx, sourceRec("test", nil, nil))
	wantErr(t, err, "timestamp missing on record for topic test")
	// Kafka Connect 4.3.1 accepts timestamp.format=yyyy-bb and fails each
	// record (IllegalArgumentException: Illegal pattern character 'b').
	bad := must(timestampRouterFactory(map[string]string{"timestamp.format": "yyyy-bb"}))
	r.Timestamp = time.UnixMilli(1000)
	_, err = bad.Apply(ctx, r)
	wantErr(t, err, "illegal pattern character 'b'")
}

func TestDropHeaders(t *testing.T) {
	r := sourceRec("t", nil, nil)
	r.Headers.AddString("a", "1")
	r.Headers.AddString("drop", "2")
	r.Headers.AddString("b", "3")
	r.Headers.AddString("drop", "4")
	r.Headers.AddString("also", "5")
	orig := r.Headers
	tr := must(dropHeadersFactory(map[string]string{"headers": "drop,also,absent"}))
	out := mustApply(t, tr, r)
	if len(out.Headers) != 2 || out.Headers[0].Key != "a" || out.Headers[1].Key != "b" {
		t.Fatalf("got %v", out.Headers)
	}
	if len(orig) != 5 || orig[1].Key != "drop" {
		t.Fatal("original headers modified")
	}
	r2 := sourceRec("t", nil, nil)
	r2.Headers.AddString("keep", "1")
	if out := mustApply(t, tr, r2); len(out.Headers) != 1 {
		t.Fatal("kept header dropped")
	}
	_, err := dropHeadersFactory(map[string]string{"headers": ""})
	wantErr(t, err, "headers: empty list")
}

func TestInsertHeader(t *testing.T) {
	for _, tc := range []struct {
		literal string
		schema  *connect.Schema
		want    any
	}{
		{"hello world", connect.StringSchema, "hello world"},
		{"", connect.StringSchema, ""},
		{"true", connect.BooleanSchema, true},
		{"42", connect.Int8Schema, int8(42)},
		{"-300", connect.Int16Schema, int16(-300)},
		{"70000", connect.Int32Schema, int32(70000)},
		{"5000000000", connect.Int64Schema, int64(5000000000)},
		{"1.0", connect.Int8Schema, int8(1)},
		{"1.5", connect.Float32Schema, float32(1.5)},
		{"12345678901234567890", connect.DecimalSchema(0), must(connect.ParseDecimal("12345678901234567890"))},
		{"2024-01-31", connect.DateSchema, time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2024-01-31T10:00:00.000Z", connect.TimestampSchema, time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC)},
		{"10:00:00.000Z", connect.TimeSchema, time.Date(1970, 1, 1, 10, 0, 0, 0, time.UTC)},
	} {
		tr := must(insertHeaderFactory(map[string]string{"header": "h", "value.literal": tc.literal}))
		r := sourceRec("t", nil, nil)
		r.Headers.AddString("existing", "x")
		orig := r.Headers
		out := mustApply(t, tr, r)
		h := out.Headers[len(out.Headers)-1]
		if len(out.Headers) != 2 || h.Key != "h" || !h.Schema.Equal(tc.schema) || !connect.ValuesEqual(h.Value, tc.want) {
			t.Errorf("%q: got %v %#v", tc.literal, h.Schema, h.Value)
		}
		if len(orig) != 1 {
			t.Fatal("original headers modified")
		}
	}
	_, err := insertHeaderFactory(map[string]string{"header": "h"})
	wantErr(t, err, `value.literal: missing required configuration`)
}

func TestHeaderFrom(t *testing.T) {
	for _, op := range []string{"move", "copy"} {
		t.Run(op, func(t *testing.T) {
			both(t, func(t *testing.T, p Part) {
				tr := must(headerFromFactory(p)(map[string]string{"fields": "name,age", "headers": "h-name,h-age", "operation": op}))
				r := withPart(sinkRec("t", personSchema, person()), p)
				r.Headers.AddString("existing", "x")
				orig := r.Headers
				out := mustApply(t, tr, r)
				checkOther(t, out, p)
				if len(out.Headers) != 3 || len(orig) != 1 {
					t.Fatalf("headers %v", out.Headers)
				}
				h1, h2 := out.Headers[1], out.Headers[2]
				if h1.Key != "h-name" || h1.Value != "Ann" || h1.Schema != connect.StringSchema ||
					h2.Key != "h-age" || h2.Value != int32(18) || h2.Schema != personSchema.Field("age").Schema {
					t.Fatalf("headers %+v %+v", h1, h2)
				}
				s, v := p.get(out)
				if op == "move" {
					if len(s.Fields) != 2 || s.Field("name") != nil || s.Name != "com.acme.Person" {
						t.Fatalf("schema %v", s.Fields)
					}
					eq(t, get(t, v, "email"), "ann@x.io")
					s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("t", personSchema, person()), p)))
					if s2 != s {
						t.Fatal("schema not cached")
					}
				} else if s != personSchema {
					t.Fatal("copy changed the schema")
				}

				m := personMap()
				out = mustApply(t, tr, withPart(sinkRec("t", nil, m), p))
				_, v = p.get(out)
				if h := out.Headers[0]; h.Key != "h-name" || h.Value != "Ann" || h.Schema != nil {
					t.Fatalf("header %+v", h)
				}
				if h := out.Headers[1]; h.Key != "h-age" || h.Value != nil {
					t.Fatalf("header %+v", h)
				}
				_, has := v.(map[string]any)["name"]
				if has != (op == "copy") || len(m) != 3 {
					t.Fatal("schemaless move/copy")
				}
			})
		})
	}
	tr := must(headerFromFactory(Value)(map[string]string{"fields": "nope", "headers": "h", "operation": "copy"}))
	_, err := tr.Apply(ctx, sinkRec("t", personSchema, person()))
	wantErr(t, err, "field does not exist: nope")
	// Kafka Connect 4.3.1: DataException "Only Struct objects supported for
	// [header copy], found: null".
	_, err = tr.Apply(ctx, sinkRec("t", personSchema, nil))
	wantErr(t, err, "found: null")
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"fields": "a,b", "headers": "h", "operation": "move"}, "'fields' config must have the same number of elements as 'headers' config"},
		{map[string]string{"fields": "a", "headers": "h", "operation": "Move"}, `operation: invalid value "Move": must be one of move, copy`},
		{map[string]string{"fields": "a", "headers": "h"}, `operation: missing required configuration`},
		{map[string]string{"fields": "", "headers": "h", "operation": "move"}, "fields: empty list"},
	} {
		_, err := headerFromFactory(Value)(tc.props)
		wantErr(t, err, tc.want)
	}
}
