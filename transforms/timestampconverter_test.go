package transforms

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

const dateFmt = "yyyy MM dd HH mm ss SSS z"

var (
	tsDate         = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	tsTime         = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC)
	tsDatePlusTime = time.Date(1970, 1, 2, 0, 0, 1, 0, time.UTC)
	tsString       = "1970 01 02 00 00 01 000 UTC"
)

// representations of tsDatePlusTime (or its date / time parts) per kind.
func tsValue(kind TimestampKind) (any, *connect.Schema) {
	switch kind {
	case TimestampString:
		return tsString, connect.StringSchema
	case TimestampUnix:
		return int64(86401000), connect.Int64Schema
	case TimestampDate:
		return tsDate, connect.DateSchema
	case TimestampTime:
		return tsTime, connect.TimeSchema
	}
	return tsDatePlusTime, connect.TimestampSchema
}

// expected output of converting tsDatePlusTime (from a source holding the
// whole instant) to kind.
func tsWant(kind TimestampKind, from TimestampKind) any {
	if from == TimestampDate {
		switch kind {
		case TimestampString:
			return "1970 01 02 00 00 00 000 UTC"
		case TimestampUnix:
			return int64(86400000)
		case TimestampTime:
			return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		case TimestampTimestamp, TimestampDate:
			return tsDate
		}
	}
	if from == TimestampTime {
		switch kind {
		case TimestampString:
			return "1970 01 01 00 00 01 000 UTC"
		case TimestampUnix:
			return int64(1000)
		case TimestampDate:
			return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return tsTime
	}
	switch kind {
	case TimestampDate:
		return tsDate
	case TimestampTime:
		return tsTime
	}
	v, _ := tsValue(kind)
	return v
}

var allKinds = []TimestampKind{TimestampString, TimestampUnix, TimestampDate, TimestampTime, TimestampTimestamp}

func TestTimestampConverterRoundTrips(t *testing.T) {
	for _, from := range allKinds {
		for _, to := range allKinds {
			in, inSchema := tsValue(from)
			want := tsWant(to, from)
			_, wantSchema := tsValue(to)
			name := string(from) + "→" + string(to)
			t.Run(name, func(t *testing.T) {
				both(t, func(t *testing.T, p Part) {
					tr := must(timestampConverterFactory(p)(map[string]string{"target.type": string(to), "format": dateFmt}))
					// whole value, with schema
					out := mustApply(t, tr, withPart(sinkRec("t", inSchema, in), p))
					checkOther(t, out, p)
					s, v := p.get(out)
					eq(t, v, want)
					if s != wantSchema {
						t.Fatalf("schema %v, want %v", s, wantSchema)
					}
					// whole value, schemaless (Date and Time are time.Time: inferred as Timestamp)
					out = mustApply(t, tr, withPart(sinkRec("t", nil, in), p))
					if _, v := p.get(out); from != TimestampDate && from != TimestampTime {
						eq(t, v, want)
					}
					// field, with schema
					fieldTr := must(timestampConverterFactory(p)(map[string]string{"target.type": string(to), "format": dateFmt, "field": "ts"}))
					rs := connect.StructBuilder().Name("R").Field("ts", inSchema).Field("other", connect.StringSchema).MustBuild()
					out = mustApply(t, fieldTr, withPart(sinkRec("t", rs, connect.NewStruct(rs).MustPut("ts", in).MustPut("other", "o")), p))
					s, v = p.get(out)
					eq(t, get(t, v, "ts"), want)
					eq(t, get(t, v, "other"), "o")
					if s.Field("ts").Schema != wantSchema || s.Name != "R" {
						t.Fatalf("field schema %v", s.Field("ts").Schema)
					}
					s2, _ := p.get(mustApply(t, fieldTr, withPart(sinkRec("t", rs, connect.NewStruct(rs).MustPut("ts", in).MustPut("other", "o")), p)))
					if s2 != s {
						t.Fatal("schema not cached")
					}
					// field, schemaless
					out = mustApply(t, fieldTr, withPart(sinkRec("t", nil, map[string]any{"ts": in, "other": "o"}), p))
					if _, v := p.get(out); from != TimestampDate && from != TimestampTime {
						eq(t, get(t, v, "ts"), want)
						eq(t, get(t, v, "other"), "o")
					}
				})
			})
		}
	}
}

func TestTimestampConverterUnixPrecision(t *testing.T) {
	ts := time.Date(1970, 1, 2, 0, 0, 1, 0, time.UTC)
	for _, tc := range []struct {
		prec UnixPrecision
		unix int64
	}{
		{UnixSeconds, 86401}, {UnixMilliseconds, 86401000}, {UnixMicroseconds, 86401000000}, {UnixNanoseconds, 86401000000000},
	} {
		toUnix := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix, UnixPrecision: tc.prec}, Value))
		eq(t, mustApply(t, toUnix, sinkRec("t", connect.TimestampSchema, ts)).Value, tc.unix)
		fromUnix := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampTimestamp, UnixPrecision: tc.prec}, Value))
		eq(t, mustApply(t, fromUnix, sinkRec("t", connect.Int64Schema, tc.unix)).Value, ts)
		eq(t, mustApply(t, fromUnix, sinkRec("t", nil, tc.unix)).Value, ts)
	}
	// Sub-millisecond digits are truncated.
	fromMicros := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix, UnixPrecision: UnixMicroseconds}, Value))
	toMicros := fromMicros
	viaTS := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampTimestamp, UnixPrecision: UnixMicroseconds}, Value))
	v := mustApply(t, viaTS, sinkRec("t", nil, int64(86401000123))).Value
	eq(t, v, time.Date(1970, 1, 2, 0, 0, 1, 0, time.UTC))
	eq(t, mustApply(t, toMicros, sinkRec("t", nil, v)).Value, int64(86401000000))
	// string ↔ micros round trip across formats
	toStr := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampString, Format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", UnixPrecision: UnixMicroseconds}, Value))
	s := mustApply(t, toStr, sinkRec("t", connect.Int64Schema, int64(1706704200123456))).Value
	eq(t, s, "2024-01-31T12:30:00.123Z")
	back := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix, Format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", UnixPrecision: UnixMicroseconds}, Value))
	eq(t, mustApply(t, back, sinkRec("t", connect.StringSchema, s)).Value, int64(1706704200123000))
	eq(t, mustApply(t, back, sinkRec("t", connect.StringSchema, "2024-01-31T14:30:00.123+02:00")).Value, int64(1706704200123000))
}

func TestTimestampConverterNulls(t *testing.T) {
	optTS := connect.TimestampBuilder().Optional().MustBuild()
	rs := connect.StructBuilder().Optional().Field("ts", optTS).MustBuild()
	both(t, func(t *testing.T, p Part) {
		whole := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix}, p))
		out := mustApply(t, whole, withPart(sinkRec("t", optTS, nil), p))
		if s, v := p.get(out); v != nil || s != connect.OptionalInt64Schema {
			t.Fatalf("got %v %v", s, v)
		}
		out = mustApply(t, whole, withPart(sinkRec("t", nil, nil), p))
		if s, v := p.get(out); v != nil || s != nil {
			t.Fatal("schemaless null")
		}
		field := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix, Field: "ts"}, p))
		out = mustApply(t, field, withPart(sinkRec("t", rs, nil), p))
		if s, v := p.get(out); v != nil || !s.Optional || s.Field("ts").Schema != connect.OptionalInt64Schema {
			t.Fatal("null struct")
		}
		out = mustApply(t, field, withPart(sinkRec("t", rs, connect.NewStruct(rs)), p))
		_, v := p.get(out)
		eq(t, get(t, v, "ts"), nil)
		out = mustApply(t, field, withPart(sinkRec("t", nil, map[string]any{}), p))
		_, v = p.get(out)
		if m := v.(map[string]any); len(m) != 1 || m["ts"] != nil {
			t.Fatalf("absent field: %v", m)
		}
	})
}

func TestTimestampConverterErrors(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{}, `target.type: missing required configuration "target.type"`},
		{map[string]string{"target.type": "date"}, `target.type: invalid value "date"`},
		{map[string]string{"target.type": "string"}, "format: TimestampConverter requires format option"},
		{map[string]string{"target.type": "string", "format": "yyyy-MM-dd bb"}, "format: TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: illegal pattern character 'b'"},
		{map[string]string{"target.type": "unix", "unix.precision": "minutes"}, `unix.precision: invalid value "minutes"`},
	} {
		_, err := timestampConverterFactory(Value)(tc.props)
		wantErr(t, err, tc.want)
	}
	tr := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix, Format: "yyyy-MM-dd"}, Value))
	_, err := tr.Apply(ctx, sinkRec("t", connect.StringSchema, "31/01/2024"))
	wantErr(t, err, "could not parse timestamp: value (31/01/2024) does not match pattern (yyyy-MM-dd)")
	_, err = tr.Apply(ctx, sinkRec("t", connect.Int32Schema, int32(1)))
	wantErr(t, err, "does not correspond to a known timestamp type format")
	_, err = tr.Apply(ctx, sinkRec("t", nil, 1.5))
	wantErr(t, err, "TimestampConverter does not support float64 objects as timestamps")
	noFmt := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampUnix}, Value))
	_, err = noFmt.Apply(ctx, sinkRec("t", nil, "2024"))
	wantErr(t, err, "needs the format option")
}

func TestDateFormat(t *testing.T) {
	ts := time.Date(2024, 2, 5, 13, 4, 9, 7e6, time.UTC) // a Monday
	for _, tc := range []struct{ pattern, want string }{
		{"yyyyMMdd", "20240205"},
		{"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "2024-02-05T13:04:09.007Z"},
		{"yy/M/d H:m:s.S", "24/2/5 13:4:9.7"},
		{"dd MMM yyyy", "05 Feb 2024"},
		{"EEEE, MMMM d", "Monday, February 5"},
		{"EEE hh:mm a", "Mon 01:04 PM"},
		{"K k h H", "1 13 1 13"},
		{"D u G", "36 1 AD"},
		{"HH:mm z zzzz Z X XX XXX", "13:04 UTC Coordinated Universal Time +0000 Z Z Z"},
		{"'It''s' yyyy", "It's 2024"},
		{"''yy''", "'24'"},
		{"SSSSSS", "000007"},
	} {
		f, err := compileDateFormat(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := f.format(ts); got != tc.want {
			t.Errorf("format %q: got %q, want %q", tc.pattern, got, tc.want)
		}
	}
	for _, tc := range []struct {
		pattern, in string
		want        time.Time
	}{
		{"yyyyMMdd", "20240205", time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)},
		{"yyyyMMddHHmmss", "20240205130409", time.Date(2024, 2, 5, 13, 4, 9, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm:ss.SSS", "2024-2-5 1:4:9.7", time.Date(2024, 2, 5, 1, 4, 9, 7e6, time.UTC)},
		{"yyyy-MM-dd", "2024-02-05T10:00 trailing", time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)},
		{"yyyy-MM-dd", "2024-13-01", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, // lenient
		{"dd MMM yyyy", "05 feb 2024", time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)},
		{"dd MMMM yyyy", "05 February 2024", time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)},
		{"EEE, d MMM yyyy HH:mm:ss Z", "Mon, 5 Feb 2024 13:04:09 +0100", time.Date(2024, 2, 5, 12, 4, 9, 0, time.UTC)},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "2024-02-05T13:04:09-05:30", time.Date(2024, 2, 5, 18, 34, 9, 0, time.UTC)},
		{"yyyy-MM-dd'T'HH:mm:ssX", "2024-02-05T13:04:09Z", time.Date(2024, 2, 5, 13, 4, 9, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm z", "2024-02-05 13:04 GMT+01:00", time.Date(2024, 2, 5, 12, 4, 0, 0, time.UTC)},
		{"hh:mm a", "12:30 AM", time.Date(1970, 1, 1, 0, 30, 0, 0, time.UTC)},
		{"hh:mm a", "01:30 PM", time.Date(1970, 1, 1, 13, 30, 0, 0, time.UTC)},
		{"HH:mm", "24:00", time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"yyyy D", "2024 36", time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)},
	} {
		f := must(compileDateFormat(tc.pattern))
		got, err := f.parse(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parse %q with %q: got %v, %v; want %v", tc.in, tc.pattern, got, err, tc.want)
		}
	}
	f := must(compileDateFormat("yy-MM-dd"))
	got := must(f.parse("99-01-01"))
	if y := got.Year(); y != 1999 && y != 2099 {
		t.Errorf("two-digit year: %d", y)
	}
	for _, bad := range []struct{ pattern, in string }{{"yyyy-MM-dd", "2024/01/01"}, {"yyyy-MM-dd", "2024-01"}, {"MMM", "Foo"}, {"Z", "+x"}} {
		if _, err := must(compileDateFormat(bad.pattern)).parse(bad.in); err == nil {
			t.Errorf("parse %q with %q: no error", bad.in, bad.pattern)
		}
	}
	for _, bad := range []string{"'unterminated", "q"} {
		if _, err := compileDateFormat(bad); err == nil {
			t.Errorf("compile %q: no error", bad)
		}
	}
}

func TestTimestampConverterStructDefault(t *testing.T) {
	base := connect.StructBuilder().Optional().Field("ts", connect.Int64Schema).MustBuild()
	def := connect.NewStruct(base).MustPut("ts", int64(86400000))
	withDef := *base
	withDef.Default = def
	tr := must(NewTimestampConverter(TimestampConverterConfig{TargetType: TimestampDate, Field: "ts"}, Value))
	out := mustApply(t, tr, sinkRec("t", &withDef, nil))
	d, ok := out.ValueSchema.Default.(*connect.Struct)
	if !ok || d.Schema() != out.ValueSchema || !out.ValueSchema.Optional {
		t.Fatalf("default %#v", out.ValueSchema.Default)
	}
	eq(t, get(t, d, "ts"), time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC))
}
