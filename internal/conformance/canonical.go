package conformance

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// --- canonical → Sluice ----------------------------------------------------

// toSchema builds a Sluice schema from its canonical form.
func toSchema(s *Schema) (*connect.Schema, error) {
	if s == nil {
		return nil, nil
	}
	t, err := connect.ParseType(s.Type)
	if err != nil {
		return nil, err
	}
	var b *connect.SchemaBuilder
	switch t {
	case connect.TypeArray:
		elem, err := toSchema(s.ValueSchema)
		if err != nil {
			return nil, fmt.Errorf("array element: %w", err)
		}
		b = connect.ArrayBuilder(elem)
	case connect.TypeMap:
		k, err := toSchema(s.KeySchema)
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		v, err := toSchema(s.ValueSchema)
		if err != nil {
			return nil, fmt.Errorf("map value: %w", err)
		}
		b = connect.MapBuilder(k, v)
	case connect.TypeStruct:
		b = connect.StructBuilder()
		for _, f := range s.Fields {
			fs, err := toSchema(f.Schema)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			b.Field(f.Name, fs)
		}
	default:
		b = connect.NewSchemaBuilder(t)
	}
	if s.Optional {
		b.Optional()
	}
	if s.Name != nil {
		b.Name(*s.Name)
	}
	if s.Version != nil {
		b.Version(*s.Version)
	}
	if s.Doc != nil {
		b.Doc(*s.Doc)
	}
	for _, p := range s.Parameters {
		b.Parameter(p[0], p[1])
	}
	if s.Default != nil {
		// The default is decoded against the schema built so far (without
		// the default), as Kafka Connect's SchemaBuilder validates it.
		bare, err := b.Build()
		if err != nil {
			return nil, err
		}
		d, err := toValue(bare, s.Default)
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		b.DefaultValue(d)
	}
	return b.Build()
}

// toValue builds a Sluice value from its canonical form; schema (nil for
// schemaless) picks the Go map type.
func toValue(schema *connect.Schema, v *Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch {
	case v.Int8 != nil:
		return *v.Int8, nil
	case v.Int16 != nil:
		return *v.Int16, nil
	case v.Int32 != nil:
		return *v.Int32, nil
	case v.Int64 != nil:
		return strconv.ParseInt(*v.Int64, 10, 64)
	case v.Float32 != nil:
		bits, err := strconv.ParseUint(*v.Float32, 16, 32)
		return math.Float32frombits(uint32(bits)), err
	case v.Float64 != nil:
		bits, err := strconv.ParseUint(*v.Float64, 16, 64)
		return math.Float64frombits(bits), err
	case v.Boolean != nil:
		return *v.Boolean, nil
	case v.String != nil:
		return *v.String, nil
	case v.Bytes != nil:
		return base64.StdEncoding.DecodeString(*v.Bytes)
	case v.Date != nil:
		ms, err := strconv.ParseInt(*v.Date, 10, 64)
		return time.UnixMilli(ms).UTC(), err
	case v.Decimal != nil:
		u, ok := new(big.Int).SetString(v.Decimal.Unscaled, 10)
		if !ok {
			return nil, fmt.Errorf("bad decimal %q", v.Decimal.Unscaled)
		}
		return connect.Decimal{Unscaled: u, Scale: v.Decimal.Scale}, nil
	case v.Array != nil:
		var elem *connect.Schema
		if schema != nil {
			elem = schema.ValueSchema
		}
		out := make([]any, len(*v.Array))
		for i, e := range *v.Array {
			x, err := toValue(elem, e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case v.Map != nil:
		var ks, vs *connect.Schema
		if schema != nil {
			ks, vs = schema.KeySchema, schema.ValueSchema
		}
		// map[string]any unless a key is not a string: a null key (an
		// optional key schema) needs map[any]any.
		stringKeys := ks == nil || ks.Type == connect.TypeString
		for _, e := range *v.Map {
			if e[0] == nil || e[0].String == nil {
				stringKeys = false
			}
		}
		if stringKeys {
			out := make(map[string]any, len(*v.Map))
			for _, e := range *v.Map {
				if e[0] == nil || e[0].String == nil {
					return nil, fmt.Errorf("map key is not a string")
				}
				x, err := toValue(vs, e[1])
				if err != nil {
					return nil, err
				}
				out[*e[0].String] = x
			}
			return out, nil
		}
		out := make(map[any]any, len(*v.Map))
		for _, e := range *v.Map {
			k, err := toValue(ks, e[0])
			if err != nil {
				return nil, err
			}
			x, err := toValue(vs, e[1])
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case []byte, []any, map[string]any, map[any]any, connect.Decimal, *connect.Struct:
				return nil, fmt.Errorf("map key of type %T is not representable in Go", k)
			}
			out[k] = x
		}
		return out, nil
	case v.Struct != nil:
		ss, err := toSchema(v.Struct.Schema)
		if err != nil {
			return nil, err
		}
		if ss == nil || ss.Type != connect.TypeStruct {
			return nil, fmt.Errorf("struct value without a struct schema")
		}
		st := connect.NewStruct(ss)
		for _, f := range v.Struct.Fields {
			if f.Value == nil {
				continue
			}
			fd := ss.Field(f.Name)
			if fd == nil {
				return nil, fmt.Errorf("struct has no field %q", f.Name)
			}
			x, err := toValue(fd.Schema, f.Value)
			if err != nil {
				return nil, err
			}
			if err := st.Put(f.Name, x); err != nil {
				return nil, err
			}
		}
		return st, nil
	case v.Other != nil:
		return nil, fmt.Errorf("cannot build %q", *v.Other)
	}
	return nil, fmt.Errorf("empty tagged value")
}

func toHeaders(hs []Header) (connect.Headers, error) {
	var out connect.Headers
	for _, h := range hs {
		s, err := toSchema(h.Schema)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Key, err)
		}
		v, err := toValue(s, h.Value)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Key, err)
		}
		out.Add(h.Key, s, v)
	}
	return out, nil
}

func toRecord(r *Record) (*connect.Record, error) {
	var out connect.Record
	out.Topic = r.Topic
	if r.Partition != nil {
		out.Partition, out.HasPartition = *r.Partition, true
	}
	var err error
	if out.KeySchema, err = toSchema(r.KeySchema); err != nil {
		return nil, fmt.Errorf("key schema: %w", err)
	}
	if out.Key, err = toValue(out.KeySchema, r.Key); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if out.ValueSchema, err = toSchema(r.ValueSchema); err != nil {
		return nil, fmt.Errorf("value schema: %w", err)
	}
	if out.Value, err = toValue(out.ValueSchema, r.Value); err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	if r.Timestamp != nil {
		ms, err := strconv.ParseInt(*r.Timestamp, 10, 64)
		if err != nil {
			return nil, err
		}
		out.Timestamp = time.UnixMilli(ms).UTC()
	}
	if out.Headers, err = toHeaders(r.Headers); err != nil {
		return nil, err
	}
	if r.Sink != nil {
		off, err := strconv.ParseInt(r.Sink.Offset, 10, 64)
		if err != nil {
			return nil, err
		}
		out.Offset = off
		out.OriginalTopic = r.Topic
		out.OriginalPartition = out.Partition
		out.OriginalOffset = off
		out.HasPartition = true
		switch r.Sink.TimestampType {
		case "CreateTime":
			out.TimestampType = connect.CreateTime
		case "LogAppendTime":
			out.TimestampType = connect.LogAppendTime
		default:
			out.TimestampType = connect.NoTimestampType
		}
	}
	return &out, nil
}

// --- Sluice → canonical ----------------------------------------------------

func ptr[T any](v T) *T { return &v }

// fromSchema writes a Sluice schema in canonical form. Sluice has no
// "unset" apart from the zero value, so "" names/docs and version 0 read as
// absent (CONFORMANCE.md).
func fromSchema(s *connect.Schema) *Schema {
	if s == nil {
		return nil
	}
	out := &Schema{Type: s.Type.String(), Optional: s.Optional}
	if s.NameSet() {
		out.Name = ptr(s.Name)
	}
	if s.VersionSet() {
		out.Version = ptr(s.Version)
	}
	if s.DocSet() {
		out.Doc = ptr(s.Doc)
	}
	for _, p := range s.Parameters {
		out.Parameters = append(out.Parameters, [2]string{p.Key, p.Value})
	}
	if s.Default != nil {
		out.Default = fromValue(s.Default)
	}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, Field{Name: f.Name, Schema: fromSchema(f.Schema)})
	}
	out.KeySchema = fromSchema(s.KeySchema)
	out.ValueSchema = fromSchema(s.ValueSchema)
	return out
}

// fromValue writes a Sluice value in canonical form.
func fromValue(v any) *Value {
	switch x := v.(type) {
	case nil:
		return nil
	case int8:
		return &Value{Int8: &x}
	case int16:
		return &Value{Int16: &x}
	case int32:
		return &Value{Int32: &x}
	case int64:
		return &Value{Int64: ptr(strconv.FormatInt(x, 10))}
	case float32:
		return &Value{Float32: ptr(float32Bits(x))}
	case float64:
		return &Value{Float64: ptr(float64Bits(x))}
	case bool:
		return &Value{Boolean: &x}
	case string:
		return &Value{String: &x}
	case []byte:
		return &Value{Bytes: ptr(base64.StdEncoding.EncodeToString(x))}
	case time.Time:
		return &Value{Date: ptr(strconv.FormatInt(x.UnixMilli(), 10))}
	case connect.Decimal:
		u := x.Unscaled
		if u == nil {
			u = new(big.Int)
		}
		return &Value{Decimal: &DecimalValue{Unscaled: u.String(), Scale: x.Scale}}
	case []any:
		arr := make([]*Value, len(x))
		for i, e := range x {
			arr[i] = fromValue(e)
		}
		return &Value{Array: &arr}
	case map[string]any:
		m := make([][2]*Value, 0, len(x))
		for k, e := range x {
			m = append(m, [2]*Value{fromValue(k), fromValue(e)})
		}
		return &Value{Map: &m}
	case map[any]any:
		m := make([][2]*Value, 0, len(x))
		for k, e := range x {
			m = append(m, [2]*Value{fromValue(k), fromValue(e)})
		}
		return &Value{Map: &m}
	case *connect.Struct:
		if x == nil {
			return nil
		}
		ss := x.Schema()
		sv := &StructValue{Schema: fromSchema(ss), Fields: make([]FieldValue, 0, len(ss.Fields))}
		for i, f := range ss.Fields {
			sv.Fields = append(sv.Fields, FieldValue{Name: f.Name, Value: fromValue(x.At(i))})
		}
		return &Value{Struct: sv}
	}
	return &Value{Other: ptr(fmt.Sprintf("%T: %v", v, v))}
}

func float32Bits(f float32) string {
	if f != f {
		return "7fc00000"
	}
	return fmt.Sprintf("%08x", math.Float32bits(f))
}

func float64Bits(f float64) string {
	if f != f {
		return "7ff8000000000000"
	}
	return fmt.Sprintf("%016x", math.Float64bits(f))
}

func fromHeaders(hs connect.Headers) []Header {
	out := make([]Header, 0, len(hs))
	for _, h := range hs {
		out = append(out, Header{Key: h.Key, Schema: fromSchema(h.Schema), Value: fromValue(h.Value)})
	}
	return out
}

// fromRecord writes r in canonical form; sink says whether the input was a
// sink record (an SMT returns the kind of record it was given).
func fromRecord(r *connect.Record, sink bool) *Record {
	out := &Record{
		Topic:       r.Topic,
		KeySchema:   fromSchema(r.KeySchema),
		Key:         fromValue(r.Key),
		ValueSchema: fromSchema(r.ValueSchema),
		Value:       fromValue(r.Value),
		Headers:     fromHeaders(r.Headers),
	}
	if r.HasPartition {
		out.Partition = ptr(r.Partition)
	}
	if !r.Timestamp.IsZero() {
		out.Timestamp = ptr(strconv.FormatInt(r.Timestamp.UnixMilli(), 10))
	}
	if sink {
		out.Sink = &Sink{Offset: strconv.FormatInt(r.Offset, 10), TimestampType: r.TimestampType.String()}
	}
	return out
}
