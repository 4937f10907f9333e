package transforms

import (
	"math"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// MaskField converts its replacement for numeric fields as Kafka Connect
// 4.3.1 does (new BigDecimal(s), then longValue or a Java narrowing cast, or
// floatValue/doubleValue); the expected values were printed by Kafka
// Connect's Values.convertToByte/Short/Integer/Long/Float/Double.
func TestMaskFieldReplacementJavaNumbers(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		repl   string
		i8     int8
		i16    int16
		i32    int32
		i64    int64
		f32    float32
		f64    float64
		failed bool
	}{
		{repl: "1e3", i8: -24, i16: 1000, i32: 1000, i64: 1000, f32: 1000, f64: 1000},
		{repl: "-1.5", i8: -1, i16: -1, i32: -1, i64: -1, f32: -1.5, f64: -1.5},
		{repl: ".5", f32: 0.5, f64: 0.5},
		{repl: "5.", i8: 5, i16: 5, i32: 5, i64: 5, f32: 5, f64: 5},
		{repl: "+5", i8: 5, i16: 5, i32: 5, i64: 5, f32: 5, f64: 5},
		{repl: "2147483648", i32: -2147483648, i64: 2147483648, f32: 2.14748365e9, f64: 2.147483648e9},
		{repl: "9223372036854775808", i64: -9223372036854775808, f32: 9.223372e18, f64: 9.223372036854776e18},
		{repl: "1.5e10", i16: -10752, i32: 2115098112, i64: 15000000000, f32: 1.50000005e10, f64: 1.5e10},
		{repl: "99999999999999999999", i8: -1, i16: -1, i32: 1661992959, i64: 7766279631452241919, f32: 1e20, f64: 1e20},
		{repl: "1.5E400", f32: inf, f64: math.Inf(1)},
		{repl: "NaN", failed: true},
		{repl: "Infinity", failed: true},
		{repl: " 5 ", failed: true},
		{repl: "0x10", failed: true},
		{repl: "1e", failed: true},
	} {
		m := map[string]any{"b": int8(1), "s": int16(1), "i": int32(1), "l": int64(1), "f": float32(1), "d": float64(1)}
		tr := must(NewMaskField(MaskFieldConfig{Fields: []string{"b", "s", "i", "l", "f", "d"}, Replacement: tc.repl}, Value))
		out, err := tr.Apply(ctx, &connect.Record{Topic: "t", Value: m})
		if tc.failed {
			if err == nil {
				t.Errorf("%q: masked to %v, want an error", tc.repl, out.Value)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.repl, err)
		}
		got := out.Value.(map[string]any)
		want := map[string]any{"b": tc.i8, "s": tc.i16, "i": tc.i32, "l": tc.i64, "f": tc.f32, "d": tc.f64}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%q: field %s = %v (%T), want %v", tc.repl, k, got[k], got[k], w)
			}
		}
	}
}

// A Decimal field's replacement is given the field's scale (Kafka Connect
// keeps the literal's scale, a value its Decimal converter then refuses).
func TestMaskFieldReplacementDecimalExponent(t *testing.T) {
	s := connect.StructBuilder().Field("d", connect.DecimalSchema(2)).MustBuild()
	st := connect.NewStruct(s)
	if err := st.Put("d", connect.NewDecimal(1, 2)); err != nil {
		t.Fatal(err)
	}
	tr := must(NewMaskField(MaskFieldConfig{Fields: []string{"d"}, Replacement: "1e3"}, Value))
	out := mustApply(t, tr, &connect.Record{Topic: "t", ValueSchema: s, Value: st})
	eq(t, get(t, out.Value, "d"), connect.NewDecimal(100000, 2))
}

// A schemaless map with keys of other types is a Map to Kafka Connect: the
// named entries are masked (added as null when missing), the others kept.
func TestMaskFieldMapWithOtherKeys(t *testing.T) {
	tr := must(maskFieldFactory(Value)(map[string]string{"fields": "a,b"}))
	out := mustApply(t, tr, &connect.Record{Topic: "t", Value: map[any]any{int32(1): "x", "a": int64(5)}})
	got := out.Value.(map[any]any)
	if len(got) != 3 || got[int32(1)] != "x" || got["a"] != int64(0) || got["b"] != nil {
		t.Fatalf("masked %v", got)
	}
}

// ValueToKey reads a map[any]any value's string keys.
func TestValueToKeyMapWithOtherKeys(t *testing.T) {
	tr := must(valueToKeyFactory(map[string]string{"fields": "a"}))
	out := mustApply(t, tr, &connect.Record{Topic: "t", Value: map[any]any{int32(1): "x", "a": int64(5)}})
	eq(t, out.Key, map[string]any{"a": int64(5)})
}

// A null key or value fails the record, schema'd or schemaless, for $Key and
// $Value alike, as Kafka Connect 4.3.1's MaskField does (requireStruct /
// requireMap on null: "Only Struct/Map objects supported for [mask fields],
// found: null").
func TestMaskFieldNullFails(t *testing.T) {
	both(t, func(t *testing.T, p Part) {
		tr := must(maskFieldFactory(p)(map[string]string{"fields": "int"}))
		for _, s := range []*connect.Schema{maskSchema, nil} {
			out, err := tr.Apply(ctx, withPart(sinkRec("t", s, nil), p))
			if err == nil {
				_, v := p.get(out)
				t.Fatalf("schema %v: null masked to %v, want an error", s, v)
			}
			if want := map[bool]string{true: "only Struct values", false: "only map[string]any values"}[s != nil]; !strings.Contains(err.Error(), want) ||
				!strings.Contains(err.Error(), "found: null") {
				t.Errorf("schema %v: error %q, want %q ... found: null", s, err, want)
			}
		}
	})
}

// Users who want tombstones through gate MaskField with a negated
// RecordIsTombstone predicate, exactly as in Kafka Connect.
func TestMaskFieldTombstoneThroughPredicate(t *testing.T) {
	chain, err := NewRegistry().ParseChain(map[string]string{
		"transforms":                  "mask",
		"transforms.mask.type":        "org.apache.kafka.connect.transforms.MaskField$Value",
		"transforms.mask.fields":      "int",
		"transforms.mask.predicate":   "isTombstone",
		"transforms.mask.negate":      "true",
		"predicates":                  "isTombstone",
		"predicates.isTombstone.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	out, err := chain.Apply(ctx, sinkRec("t", maskSchema, nil))
	if err != nil || out == nil || out.Value != nil {
		t.Fatalf("tombstone: %v, %v", out, err)
	}
	out, err = chain.Apply(ctx, sinkRec("t", maskSchema, maskStruct()))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, get(t, out.Value, "int"), int32(0))
}

// A BYTES field fails the record, schema'd or schemaless, as in Kafka Connect
// ("Cannot mask value of type: class [B"): byte[] has no empty value there.
// A null BYTES field stays null, and other fields' bytes are not touched.
func TestMaskFieldBytesFails(t *testing.T) {
	both(t, func(t *testing.T, p Part) {
		tr := must(maskFieldFactory(p)(map[string]string{"fields": "bytes"}))
		_, err := tr.Apply(ctx, withPart(sinkRec("t", maskSchema, maskStruct()), p))
		wantErr(t, err, "cannot mask value of type: []uint8")
		_, err = tr.Apply(ctx, withPart(sinkRec("t", nil, maskValues()), p))
		wantErr(t, err, "cannot mask value of type: []uint8")

		opt := connect.StructBuilder().Field("bytes", connect.OptionalBytesSchema).MustBuild()
		out := mustApply(t, tr, withPart(sinkRec("t", opt, connect.NewStruct(opt)), p))
		_, v := p.get(out)
		eq(t, get(t, v, "bytes"), nil)
		out = mustApply(t, tr, withPart(sinkRec("t", nil, map[string]any{"bytes": nil, "x": []byte{1}}), p))
		_, v = p.get(out)
		eq(t, v, map[string]any{"bytes": nil, "x": []byte{1}})
	})
}

// In a schemaless map a Decimal masks as Kafka Connect's MaskField does:
// BigDecimal.ZERO (scale 0), or new BigDecimal(replacement) at the literal's
// own scale; only a Struct field takes its schema's scale.
func TestMaskFieldSchemalessDecimal(t *testing.T) {
	m := func() map[string]any { return map[string]any{"d": connect.NewDecimal(1234, 10)} }
	tr := must(NewMaskField(MaskFieldConfig{Fields: []string{"d"}}, Value))
	out := mustApply(t, tr, &connect.Record{Topic: "t", Value: m()})
	eq(t, out.Value.(map[string]any)["d"], connect.NewDecimal(0, 0))
	out = mustApply(t, tr, &connect.Record{Topic: "t", Value: map[any]any{"d": connect.NewDecimal(1234, 10), int32(1): "x"}})
	eq(t, out.Value.(map[any]any)["d"], connect.NewDecimal(0, 0))
	for repl, want := range map[string]connect.Decimal{"1e3": connect.NewDecimal(1, -3), "1.50": connect.NewDecimal(150, 2), "-7": connect.NewDecimal(-7, 0)} {
		tr := must(NewMaskField(MaskFieldConfig{Fields: []string{"d"}, Replacement: repl}, Value))
		out := mustApply(t, tr, &connect.Record{Topic: "t", Value: m()})
		eq(t, out.Value.(map[string]any)["d"], want)
	}
}
