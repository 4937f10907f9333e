package avro

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
)

// This file maps Connect schemas to Avro schemas and back as Confluent's
// AvroData does (io.confluent.connect.avro.AvroData, with its defaults:
// connect.meta.data=true, enhanced.avro.schema.support=false,
// scrub.invalid.names=false).

// Names and properties of Confluent's Connect ⇄ Avro mapping.
const (
	avroConnectNamespace   = "io.confluent.connect.avro"
	avroDefaultRecordName  = "ConnectDefault"
	avroDefaultFullName    = avroConnectNamespace + "." + avroDefaultRecordName
	avroMapEntryName       = "MapEntry"
	avroUnionName          = avroConnectNamespace + ".Union"
	avroEnumParam          = avroConnectNamespace + ".Enum"
	avroRecordDocParam     = avroConnectNamespace + ".record.doc"
	avroFieldDocParam      = avroConnectNamespace + ".field.doc."
	avroEnumDocParam       = avroConnectNamespace + ".enum.doc."
	avroEnumDefaultParam   = avroConnectNamespace + ".enum.default."
	avroFieldDefaultFlag   = avroConnectNamespace + ".field.default"
	avroPropConnectName    = "connect.name"
	avroPropConnectDoc     = "connect.doc"
	avroPropConnectVersion = "connect.version"
	avroPropConnectDefault = "connect.default"
	avroPropConnectParams  = "connect.parameters"
	avroPropConnectType    = "connect.type"
	avroPropInternalType   = "connect.internal.type"
	avroPropLogicalType    = "logicalType"
	avroDecimalPrecision   = "connect.decimal.precision"
	avroFixedSizeParam     = "connect.fixed.size"
	avroDefaultPrecision   = 64
)

func isUnionStruct(s *connect.Schema) bool {
	return s != nil && s.Type == connect.TypeStruct && s.Name == avroUnionName
}

func isFixedSchema(s *connect.Schema) bool {
	if s.Type != connect.TypeBytes || s.Name == "" {
		return false
	}
	_, ok := s.Parameters.Get(avroFixedSizeParam)
	return ok
}

// splitAvroName splits a full name into namespace and simple name.
func splitAvroName(full string) (ns, name string) {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

// nonOptional returns a copy of s that is required (AvroData.nonOptional).
func nonOptional(s *connect.Schema) *connect.Schema {
	if !s.Optional {
		return s
	}
	c := *s
	c.Optional = false
	return &c
}

// ---------------------------------------------------------------------------
// Connect → Avro

// fromConnectCtx is the state of one Connect → Avro conversion.
type fromConnectCtx struct {
	// done maps the required Connect schemas converted so far to their Avro
	// schemas, so that equal schemas map to one Avro schema (a named type is
	// then written once and referred to by name).
	done    []fromConnectDone
	nameIdx int
	entries []mapEntryDone
}

type mapEntryDone struct {
	text string // the record as emitted on its own
	node *avroSchema
}

type fromConnectDone struct {
	connect *connect.Schema
	avro    *avroSchema
}

func (c *fromConnectCtx) lookup(s *connect.Schema) *avroSchema {
	for _, d := range c.done {
		if d.connect.Type == s.Type && d.connect.Name == s.Name && d.connect.Equal(s) {
			return d.avro
		}
	}
	return nil
}

// mapEntry names the {key, value} record of an unnamed map with
// non-string keys. Confluent names every such record
// io.confluent.connect.avro.MapEntry, so a schema with two different such
// maps cannot be written by Avro Java ("Can't redefine"). Sluice keeps
// Confluent's name for the first (and for records equal to it, which Avro
// writes as a reference) and names the others MapEntry2, MapEntry3, … with
// the connect.internal.type=MapEntry property by which Confluent's reader
// recognises map entries.
func (c *fromConnectCtx) mapEntry(e *avroSchema) *avroSchema {
	text, err := emitAvroSchema(e)
	if err != nil {
		return e
	}
	for _, prev := range c.entries {
		if prev.text == text {
			return prev.node
		}
	}
	if n := len(c.entries); n > 0 {
		e.name = avroMapEntryName + strconv.Itoa(n+1)
		e.props = append(e.props, jsonMember{avroPropInternalType, avroMapEntryName})
	}
	c.entries = append(c.entries, mapEntryDone{text, e})
	return e
}

// nameOrDefault returns the namespace and simple name for a Connect name, or
// the next default name (ConnectDefault, ConnectDefault2, …).
func (c *fromConnectCtx) nameOrDefault(name string) (ns, simple string) {
	if name != "" {
		return splitAvroName(name)
	}
	c.nameIdx++
	if c.nameIdx > 1 {
		return avroConnectNamespace, avroDefaultRecordName + strconv.Itoa(c.nameIdx)
	}
	return avroConnectNamespace, avroDefaultRecordName
}

// avroFromConnect converts a Connect schema to an Avro schema as AvroData's
// fromConnectSchema does. Errors are *converters.DataError values.
func avroFromConnect(s *connect.Schema) (*avroSchema, error) {
	if s == nil {
		return nil, avroErr("the Avro converter needs a schema; schemaless values are not supported")
	}
	c := &fromConnectCtx{}
	return c.convert(s, false, 0)
}

func (c *fromConnectCtx) convert(s *connect.Schema, ignoreOptional bool, depth int) (*avroSchema, error) {
	if depth > maxSchemaDepth {
		return nil, avroErr("schema nested too deeply")
	}
	if !isUnionStruct(s) && !s.Optional {
		if a := c.lookup(s); a != nil {
			return a, nil
		}
	}
	var (
		base        *avroSchema
		connectType string
		err         error
	)
	switch s.Type {
	case connect.TypeInt8:
		connectType, base = "int8", &avroSchema{kind: avroInt}
	case connect.TypeInt16:
		connectType, base = "int16", &avroSchema{kind: avroInt}
	case connect.TypeInt32:
		base = &avroSchema{kind: avroInt}
	case connect.TypeInt64:
		base = &avroSchema{kind: avroLong}
	case connect.TypeFloat32:
		base = &avroSchema{kind: avroFloat}
	case connect.TypeFloat64:
		base = &avroSchema{kind: avroDouble}
	case connect.TypeBoolean:
		base = &avroSchema{kind: avroBoolean}
	case connect.TypeString:
		base = &avroSchema{kind: avroString}
	case connect.TypeBytes:
		if isFixedSchema(s) {
			sz, _ := s.Parameters.Get(avroFixedSizeParam)
			n, err := strconv.Atoi(sz)
			if err != nil || n < 0 {
				return nil, avroErr("schema %s has an invalid %s parameter %q", s.Name, avroFixedSizeParam, sz)
			}
			ns, name := c.nameOrDefault(s.Name)
			base = &avroSchema{kind: avroFixed, name: name, namespace: ns, size: n}
		} else {
			base = &avroSchema{kind: avroBytes}
		}
		if s.Name == connect.DecimalName {
			scale, err := connect.DecimalScaleOf(s)
			if err != nil {
				return nil, avroErr("%v", err)
			}
			base.addProp("scale", json.Number(strconv.Itoa(int(scale))))
			prec, err := decimalPrecision(s)
			if err != nil {
				return nil, err
			}
			base.addProp("precision", json.Number(strconv.Itoa(prec)))
		}
	case connect.TypeArray:
		if s.ValueSchema == nil {
			return nil, avroErr("ARRAY schema without an element schema")
		}
		items, err := c.convert(s.ValueSchema, false, depth+1)
		if err != nil {
			return nil, err
		}
		base = &avroSchema{kind: avroArray, items: items}
	case connect.TypeMap:
		if s.KeySchema == nil || s.ValueSchema == nil {
			return nil, avroErr("MAP schema without key or value schema")
		}
		if s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
			values, err := c.convert(s.ValueSchema, false, depth+1)
			if err != nil {
				return nil, err
			}
			base = &avroSchema{kind: avroMap, values: values}
			break
		}
		entry := &avroSchema{kind: avroRecord, name: avroMapEntryName, namespace: avroConnectNamespace}
		if s.Name != "" {
			entry.namespace, entry.name = c.nameOrDefault(s.Name)
			entry.props = []jsonMember{{avroPropInternalType, avroMapEntryName}}
		}
		for _, kv := range []struct {
			name   string
			schema *connect.Schema
		}{{"key", s.KeySchema}, {"value", s.ValueSchema}} {
			f, err := c.field(kv.name, kv.schema, "", false, depth)
			if err != nil {
				return nil, err
			}
			entry.fields = append(entry.fields, f)
		}
		if s.Name == "" {
			entry = c.mapEntry(entry)
		}
		base = &avroSchema{kind: avroArray, items: entry}
	case connect.TypeStruct:
		switch {
		case isUnionStruct(s):
			base = &avroSchema{kind: avroUnion}
			if s.Optional {
				base.branches = append(base.branches, &avroSchema{kind: avroNull})
			}
			for _, f := range s.Fields {
				b, err := c.convert(nonOptional(f.Schema), true, depth+1)
				if err != nil {
					return nil, err
				}
				base.branches = append(base.branches, b)
			}
		case s.Optional:
			inner, err := c.convert(nonOptional(s), false, depth+1)
			if err != nil {
				return nil, err
			}
			base = &avroSchema{kind: avroUnion, branches: []*avroSchema{{kind: avroNull}, inner}}
		default:
			ns, name := c.nameOrDefault(s.Name)
			if !validAvroName(name) {
				return nil, avroErr("Illegal character in record name %q (Avro names are letters, digits and _)", name)
			}
			base = &avroSchema{kind: avroRecord, name: name, namespace: ns}
			if d, ok := s.Parameters.Get(avroRecordDocParam); ok {
				base.doc, base.hasDoc = d, true
			}
			for _, f := range s.Fields {
				doc, hasDoc := s.Parameters.Get(avroFieldDocParam + f.Name)
				af, err := c.field(f.Name, f.Schema, doc, hasDoc, depth)
				if err != nil {
					return nil, within(err, f.Name)
				}
				base.fields = append(base.fields, af)
			}
		}
	default:
		return nil, avroErr("unknown schema type %s", s.Type)
	}

	final := base
	if base.kind != avroUnion {
		if err = c.addMetadata(base, s, connectType); err != nil {
			return nil, err
		}
		if !ignoreOptional && s.Optional {
			null := &avroSchema{kind: avroNull}
			if s.Default != nil {
				final = &avroSchema{kind: avroUnion, branches: []*avroSchema{base, null}}
			} else {
				final = &avroSchema{kind: avroUnion, branches: []*avroSchema{null, base}}
			}
		}
	}
	if !s.Optional {
		c.done = append(c.done, fromConnectDone{s, final})
	}
	return final, nil
}

func decimalPrecision(s *connect.Schema) (int, error) {
	p, ok := s.Parameters.Get(avroDecimalPrecision)
	if !ok {
		return avroDefaultPrecision, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0, avroErr("Decimal schema has an invalid %s parameter %q", avroDecimalPrecision, p)
	}
	return n, nil
}

// addMetadata adds the connect.* properties and logical type annotations,
// in AvroData's order.
func (c *fromConnectCtx) addMetadata(base *avroSchema, s *connect.Schema, connectType string) error {
	_, fieldDefaultFlag := s.Parameters.Get(avroFieldDefaultFlag)
	// As AvroData, a doc of "" and a version of 0 that are set are written
	// (schema.doc() != null, schema.version() != null).
	if s.DocSet() {
		base.addProp(avroPropConnectDoc, s.Doc)
	}
	if s.VersionSet() {
		base.addProp(avroPropConnectVersion, json.Number(strconv.Itoa(int(s.Version))))
	}
	if len(s.Parameters) > 0 {
		params := &jsonObject{}
		for _, p := range s.Parameters {
			if p.Key != avroFieldDefaultFlag {
				params.members = append(params.members, jsonMember{p.Key, p.Value})
			}
		}
		if len(params.members) > 0 {
			base.addProp(avroPropConnectParams, params)
		}
	}
	if s.Default != nil && !fieldDefaultFlag {
		d, err := defaultToJSON(s, s.Default, false)
		if err != nil {
			return err
		}
		base.addProp(avroPropConnectDefault, d)
	}
	if s.Name != "" {
		base.addProp(avroPropConnectName, s.Name)
	}
	if connectType != "" {
		base.addProp(avroPropConnectType, connectType)
	}
	if !connect.IsLogical(s) {
		// Kafka Connect parameters starting with "avro" become properties.
		addAvroParams(base, s)
		return nil
	}
	legacyDecimal := false
	switch s.Name {
	case connect.DecimalName:
		prec, err := decimalPrecision(s)
		if err != nil {
			return err
		}
		scale, _ := connect.DecimalScaleOf(s)
		if scale < 0 || int(scale) > prec {
			// Not a valid Avro decimal: Confluent falls back to the legacy
			// annotation below.
			legacyDecimal = true
		} else {
			base.addProp(avroPropLogicalType, "decimal")
		}
		if _, ok := s.Parameters.Get(avroDecimalPrecision); ok || legacyDecimal {
			base.addProp(avroPropLogicalType, "decimal")
		}
	case connect.TimeName:
		base.addProp(avroPropLogicalType, "time-millis")
	case connect.TimestampName:
		base.addProp(avroPropLogicalType, "timestamp-millis")
	case connect.DateName:
		base.addProp(avroPropLogicalType, "date")
	}
	addAvroParams(base, s)
	return nil
}

func addAvroParams(base *avroSchema, s *connect.Schema) {
	for _, p := range s.Parameters {
		if strings.HasPrefix(p.Key, "avro") {
			base.addProp(p.Key, p.Value)
		}
	}
}

// field builds a record field: its Avro default is the Connect default
// (null for an optional field without one); a default Avro would reject is
// dropped, as Confluent does.
func (c *fromConnectCtx) field(name string, fs *connect.Schema, doc string, hasDoc bool, depth int) (*avroField, error) {
	if !validAvroName(name) {
		return nil, avroErr("Illegal character in field name %q (Avro names are letters, digits and _)", name)
	}
	typ, err := c.convert(fs, false, depth+1)
	if err != nil {
		return nil, err
	}
	f := &avroField{name: name, typ: typ, doc: doc, hasDoc: hasDoc}
	switch {
	case fs.Default != nil:
		d, err := defaultToJSON(fs, fs.Default, true)
		if err != nil {
			return nil, err
		}
		f.def, f.hasDef = d, true
	case fs.Optional:
		f.def, f.hasDef = nil, true
	}
	if f.hasDef && !validAvroDefault(typ, f.def, 0) {
		f.def, f.hasDef = nil, false
	}
	return f, nil
}

// validAvroDefault reports whether def is a valid default for s, as Avro
// Java's Schema.isValidDefault.
func validAvroDefault(s *avroSchema, def any, depth int) bool {
	if depth > maxSchemaDepth {
		return false
	}
	switch s.kind {
	case avroString, avroBytes, avroEnum, avroFixed:
		_, ok := def.(string)
		return ok
	case avroInt:
		n, ok := jsonInt(def)
		return ok && n >= math.MinInt32 && n <= math.MaxInt32 && !strings.ContainsAny(string(def.(json.Number)), ".eE")
	case avroLong:
		_, ok := jsonInt(def)
		return ok && !strings.ContainsAny(string(def.(json.Number)), ".eE")
	case avroFloat, avroDouble:
		_, ok := def.(json.Number)
		return ok
	case avroBoolean:
		_, ok := def.(bool)
		return ok
	case avroNull:
		return def == nil
	case avroArray:
		arr, ok := def.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if !validAvroDefault(s.items, e, depth+1) {
				return false
			}
		}
		return true
	case avroMap:
		obj, ok := def.(*jsonObject)
		if !ok {
			return false
		}
		for _, m := range obj.members {
			if !validAvroDefault(s.values, m.value, depth+1) {
				return false
			}
		}
		return true
	case avroUnion:
		return len(s.branches) > 0 && validAvroDefault(s.branches[0], def, depth+1)
	case avroRecord:
		obj, ok := def.(*jsonObject)
		if !ok {
			return false
		}
		for _, f := range s.fields {
			v, present := obj.get(f.name)
			if !present {
				if !f.hasDef {
					return false
				}
				v = f.def
			}
			if !validAvroDefault(f.typ, v, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// defaultToJSON converts a Connect default value to JSON as AvroData's
// defaultValueFromConnect. widen formats FLOAT32 values as doubles, as they
// appear in an Avro field default (Avro Java widens them); connect.default
// keeps float formatting.
func defaultToJSON(s *connect.Schema, v any, widen bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	p, err := connect.FromLogical(s, v)
	if err != nil {
		return nil, avroErr("invalid default value: %v", err)
	}
	bad := func() error {
		return avroErr("invalid default value of type %T for a %s schema", v, s.Type)
	}
	switch s.Type {
	case connect.TypeInt8:
		n, ok := p.(int8)
		if !ok {
			return nil, bad()
		}
		return json.Number(strconv.Itoa(int(n))), nil
	case connect.TypeInt16:
		n, ok := p.(int16)
		if !ok {
			return nil, bad()
		}
		return json.Number(strconv.Itoa(int(n))), nil
	case connect.TypeInt32:
		n, ok := p.(int32)
		if !ok {
			return nil, bad()
		}
		return json.Number(strconv.Itoa(int(n))), nil
	case connect.TypeInt64:
		n, ok := p.(int64)
		if !ok {
			return nil, bad()
		}
		return json.Number(strconv.FormatInt(n, 10)), nil
	case connect.TypeFloat32:
		f, ok := p.(float32)
		if !ok {
			return nil, bad()
		}
		if widen {
			return javaFloatJSON(float64(f), 64), nil
		}
		return javaFloatJSON(float64(f), 32), nil
	case connect.TypeFloat64:
		f, ok := p.(float64)
		if !ok {
			return nil, bad()
		}
		return javaFloatJSON(f, 64), nil
	case connect.TypeBoolean:
		b, ok := p.(bool)
		if !ok {
			return nil, bad()
		}
		return b, nil
	case connect.TypeString:
		str, ok := p.(string)
		if !ok {
			return nil, bad()
		}
		return str, nil
	case connect.TypeBytes:
		b, ok := p.([]byte)
		if !ok {
			return nil, bad()
		}
		return latin1String(b), nil
	case connect.TypeArray:
		arr, ok := p.([]any)
		if !ok {
			return nil, bad()
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			if out[i], err = defaultToJSON(s.ValueSchema, e, widen); err != nil {
				return nil, err
			}
		}
		return out, nil
	case connect.TypeMap:
		keys, vals, err := sortedMapEntries(p)
		if err != nil {
			return nil, err
		}
		if s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
			obj := &jsonObject{}
			for i, k := range keys {
				ks, ok := k.(string)
				if !ok {
					return nil, bad()
				}
				jv, err := defaultToJSON(s.ValueSchema, vals[i], widen)
				if err != nil {
					return nil, err
				}
				obj.members = append(obj.members, jsonMember{ks, jv})
			}
			return obj, nil
		}
		out := make([]any, len(keys))
		for i, k := range keys {
			jk, err := defaultToJSON(s.KeySchema, k, widen)
			if err != nil {
				return nil, err
			}
			jv, err := defaultToJSON(s.ValueSchema, vals[i], widen)
			if err != nil {
				return nil, err
			}
			out[i] = []any{jk, jv}
		}
		return out, nil
	case connect.TypeStruct:
		st, ok := p.(*connect.Struct)
		if !ok {
			return nil, bad()
		}
		obj := &jsonObject{}
		for _, f := range s.Fields {
			fv, _ := st.Get(f.Name)
			jv, err := defaultToJSON(f.Schema, fv, widen)
			if err != nil {
				return nil, err
			}
			if isUnionStruct(s) {
				return jv, nil
			}
			obj.members = append(obj.members, jsonMember{f.Name, jv})
		}
		return obj, nil
	}
	return nil, bad()
}

// javaFloatJSON formats f as Jackson writes a float (bits 32) or double:
// Java's Float.toString / Double.toString, and NaN and the infinities as
// strings.
func javaFloatJSON(f float64, bits int) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return json.Number(javafmt.AppendFloat(nil, f, bits))
}

// latin1String maps bytes 0-255 to code points 0-255, as Avro JSON defaults
// encode bytes.
func latin1String(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// latin1Bytes is the inverse of latin1String; it fails on code points above
// 255.
func latin1Bytes(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// ---------------------------------------------------------------------------
// Avro → Connect

// toConnectCtx is the state of one Avro → Connect conversion.
type toConnectCtx struct {
	active map[*avroSchema]bool // records being converted, to reject cycles
	nodes  int
}

// connectFromAvro converts an Avro schema to a Connect schema as AvroData's
// toConnectSchema does. version, when positive, is the schema version to use
// when the schema has no connect.version (Confluent passes the registry's
// version of the schema under the subject). Errors are *converters.DataError values.
func connectFromAvro(a *avroSchema, version int) (*connect.Schema, error) {
	c := &toConnectCtx{active: map[*avroSchema]bool{}}
	return c.convert(a, false, nil, false, version)
}

func (c *toConnectCtx) convert(a *avroSchema, forceOptional bool, fieldDef any, hasFieldDef bool, version int) (*connect.Schema, error) {
	if c.nodes++; c.nodes > maxSchemaNodes {
		return nil, avroErr("Avro schema too large to convert")
	}
	logical := a.propString(avroPropLogicalType)
	connectType := a.propString(avroPropConnectType)
	var b *connect.SchemaBuilder
	switch a.kind {
	case avroBoolean:
		b = connect.NewSchemaBuilder(connect.TypeBoolean)
	case avroBytes, avroFixed:
		if strings.EqualFold(logical, "decimal") {
			scale := 0
			if n, ok := jsonInt(a.propOrNil("scale")); ok {
				scale = int(n)
			}
			b = connect.DecimalBuilder(int32(scale))
			if pv, ok := a.prop("precision"); ok {
				prec, ok := jsonInt(pv)
				if !ok {
					return nil, avroErr("Decimal precision property must be a JSON integer, got %v", pv)
				}
				if prec != avroDefaultPrecision {
					b.Parameter(avroDecimalPrecision, strconv.FormatInt(prec, 10))
				}
			}
		} else {
			b = connect.NewSchemaBuilder(connect.TypeBytes)
		}
		if a.kind == avroFixed {
			b.Parameter(avroFixedSizeParam, strconv.Itoa(a.size))
		}
	case avroDouble:
		b = connect.NewSchemaBuilder(connect.TypeFloat64)
	case avroFloat:
		b = connect.NewSchemaBuilder(connect.TypeFloat32)
	case avroInt:
		switch {
		case connectType == "" && logical == "":
			b = connect.NewSchemaBuilder(connect.TypeInt32)
		case logical != "":
			switch {
			case strings.EqualFold(logical, "date"):
				b = connect.DateBuilder()
			case strings.EqualFold(logical, "time-millis"):
				b = connect.TimeBuilder()
			default:
				b = connect.NewSchemaBuilder(connect.TypeInt32)
			}
		case connectType == "int8":
			b = connect.NewSchemaBuilder(connect.TypeInt8)
		case connectType == "int16":
			b = connect.NewSchemaBuilder(connect.TypeInt16)
		default:
			return nil, avroErr("unknown Connect type annotation %q for an Avro int", connectType)
		}
	case avroLong:
		if strings.EqualFold(logical, "timestamp-millis") {
			b = connect.TimestampBuilder()
		} else {
			b = connect.NewSchemaBuilder(connect.TypeInt64)
		}
	case avroString:
		b = connect.NewSchemaBuilder(connect.TypeString)
	case avroArray:
		if isMapEntry(a.items) {
			e := a.items
			kf, vf := e.field("key"), e.field("value")
			if len(e.fields) != 2 || kf == nil || vf == nil {
				return nil, avroErr("found a map encoded as an array of key-value records, but the records are not {key, value}")
			}
			ks, err := c.convert(kf.typ, false, nil, false, 0)
			if err != nil {
				return nil, err
			}
			vs, err := c.convert(vf.typ, false, nil, false, 0)
			if err != nil {
				return nil, err
			}
			b = connect.MapBuilder(ks, vs)
		} else {
			es, err := c.convert(a.items, false, nil, false, 0)
			if err != nil {
				return nil, err
			}
			b = connect.ArrayBuilder(es)
		}
	case avroMap:
		vs, err := c.convert(a.values, false, nil, false, 0)
		if err != nil {
			return nil, err
		}
		b = connect.MapBuilder(connect.StringSchema, vs)
	case avroRecord:
		if c.active[a] {
			return nil, avroErr("recursive Avro schemas are not supported (record %s refers to itself)", a.fullName())
		}
		c.active[a] = true
		defer delete(c.active, a)
		b = connect.StructBuilder()
		if a.hasDoc {
			b.Parameter(avroRecordDocParam, a.doc)
		}
		for _, f := range a.fields {
			if f.hasDoc {
				b.Parameter(avroFieldDocParam+f.name, f.doc)
			}
			fs, err := c.convert(f.typ, false, f.def, f.hasDef, 0)
			if err != nil {
				return nil, within(err, f.name)
			}
			b.Field(f.name, fs)
		}
	case avroEnum:
		b = connect.NewSchemaBuilder(connect.TypeString)
		if a.hasDoc {
			b.Parameter(avroEnumDocParam+a.name, a.doc)
		}
		if a.hasEnumDef {
			b.Parameter(avroEnumDefaultParam+a.name, a.enumDefault)
		}
		b.Parameter(avroEnumParam, a.fullName())
		for _, sym := range a.symbols {
			b.Parameter(avroEnumParam+"."+sym, sym)
		}
	case avroUnion:
		if len(a.branches) == 2 {
			for i, br := range a.branches {
				if br.kind == avroNull && len(br.props) == 0 {
					return c.convert(a.branches[1-i], true, nil, false, 0)
				}
			}
		}
		b = connect.StructBuilder().Name(avroUnionName)
		seen := map[string]bool{}
		for _, br := range a.branches {
			if br.kind == avroNull {
				b.Optional()
				continue
			}
			name := unionMemberName(br)
			if seen[name] {
				return nil, avroErr("multiple union branches map to the Connect union field %q", name)
			}
			seen[name] = true
			fs, err := c.convert(br, true, nil, false, 0)
			if err != nil {
				return nil, err
			}
			b.Field(name, fs)
		}
	case avroNull:
		return nil, avroErr("standalone null schemas are not supported")
	default:
		return nil, avroErr("unsupported Avro schema type %s", a.kind)
	}

	if doc, ok := a.prop(avroPropConnectDoc); ok {
		if ds, isStr := doc.(string); isStr {
			b.Doc(ds)
		}
	}
	if vv, ok := a.prop(avroPropConnectVersion); ok {
		n, isInt := jsonInt(vv)
		if !isInt || n < math.MinInt32 || n > math.MaxInt32 {
			return nil, avroErr("invalid Connect version %v", vv)
		}
		b.Version(int32(n))
	} else if version > 0 && builderName(a, logical) == "" {
		// (A logical type keeps its version 1; Confluent fails instead.)
		b.Version(int32(version))
	}
	if pv, ok := a.prop(avroPropConnectParams); ok {
		params, isObj := pv.(*jsonObject)
		if !isObj {
			return nil, avroErr("expected a JSON object for schema parameters, got %s", jsonKind(pv))
		}
		for _, m := range params.members {
			s, isStr := m.value.(string)
			if !isStr {
				return nil, avroErr("expected schema parameter values to be strings, got %s", jsonKind(m.value))
			}
			b.Parameter(m.key, s)
		}
	}
	for _, m := range a.props {
		if strings.HasPrefix(m.key, "avro") {
			if s, isStr := m.value.(string); isStr {
				b.Parameter(m.key, s)
			} else {
				b.Parameter(m.key, string(appendJSONValue(nil, m.value)))
			}
		}
	}
	connectDefault, hasConnectDefault := a.prop(avroPropConnectDefault)
	def, hasDef := fieldDef, hasFieldDef
	if !hasDef {
		def, hasDef = connectDefault, hasConnectDefault
	} else if !hasConnectDefault {
		b.Parameter(avroFieldDefaultFlag, "true")
	}

	name, explicit := "", false
	if nv, ok := a.prop(avroPropConnectName); ok {
		ns, isStr := nv.(string)
		if !isStr {
			return nil, avroErr("invalid schema name %v", nv)
		}
		name, explicit = ns, true
	} else if a.kind.named() {
		name = a.fullName()
	}
	if name != "" && !strings.HasPrefix(name, avroDefaultFullName) {
		switch bn := builderName(a, logical); {
		case bn == "":
			b.Name(name)
		case bn != name && explicit:
			return nil, avroErr("mismatched names: schema name %s differs from name in source schema %s", bn, name)
		}
		// A logical type keeps its Connect name; the name of a fixed
		// holding a decimal is dropped (Confluent fails on it instead).
	}
	if forceOptional {
		b.Optional()
	}
	s, err := b.Build()
	if err != nil {
		return nil, avroErr("%v", err)
	}
	if hasDef && def != nil {
		// An invalid default is ignored, as Confluent does.
		if v, err := defaultFromJSON(s, a, def, 0); err == nil && v != nil {
			if connect.ValidateValue(s, v) == nil {
				s.Default = v
			}
		}
	}
	return s, nil
}

// builderName is the name the Connect builder of a logical type already has.
func builderName(a *avroSchema, logical string) string {
	switch {
	case (a.kind == avroBytes || a.kind == avroFixed) && strings.EqualFold(logical, "decimal"):
		return connect.DecimalName
	case a.kind == avroInt && strings.EqualFold(logical, "date"):
		return connect.DateName
	case a.kind == avroInt && strings.EqualFold(logical, "time-millis"):
		return connect.TimeName
	case a.kind == avroLong && strings.EqualFold(logical, "timestamp-millis"):
		return connect.TimestampName
	}
	return ""
}

func (s *avroSchema) propOrNil(key string) any {
	v, _ := s.prop(key)
	return v
}

func isMapEntry(a *avroSchema) bool {
	if a.kind != avroRecord {
		return false
	}
	if a.namespace == avroConnectNamespace && a.name == avroMapEntryName {
		return true
	}
	return a.propString(avroPropInternalType) == avroMapEntryName
}

// unionMemberName is the Connect field name of a union branch: the simple
// name of a record or enum, else the Avro type name.
func unionMemberName(a *avroSchema) string {
	if a.kind == avroRecord || a.kind == avroEnum {
		return a.name
	}
	return a.kind.String()
}

// defaultFromJSON converts a JSON default (an Avro field default or a
// connect.default property) for Avro schema a to a Connect value of schema s.
func defaultFromJSON(s *connect.Schema, a *avroSchema, v any, depth int) (any, error) {
	if v == nil {
		return nil, nil
	}
	if depth > maxSchemaDepth {
		return nil, avroErr("default value nested too deeply")
	}
	bad := func() (any, error) {
		return nil, avroErr("invalid default %s for %s", string(appendJSONValue(nil, v)), a.describe())
	}
	var p any
	switch a.kind {
	case avroUnion:
		if isUnionStruct(s) {
			// The default is of the first branch.
			br := a.branches[0]
			if br.kind == avroNull {
				return nil, nil
			}
			f := s.Field(unionMemberName(br))
			if f == nil {
				return bad()
			}
			fv, err := defaultFromJSON(f.Schema, br, v, depth+1)
			if err != nil {
				return nil, err
			}
			st := connect.NewStruct(s)
			if err := st.PutField(f, fv); err != nil {
				return nil, avroErr("%v", err)
			}
			return st, nil
		}
		for _, br := range a.branches {
			if br.kind != avroNull {
				return defaultFromJSON(s, br, v, depth+1)
			}
		}
		return bad()
	case avroInt, avroLong:
		n, ok := jsonInt(v)
		if !ok {
			return bad()
		}
		switch s.Type {
		case connect.TypeInt8:
			if n < math.MinInt8 || n > math.MaxInt8 {
				return bad()
			}
			p = int8(n)
		case connect.TypeInt16:
			if n < math.MinInt16 || n > math.MaxInt16 {
				return bad()
			}
			p = int16(n)
		case connect.TypeInt32:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return bad()
			}
			p = int32(n)
		case connect.TypeInt64:
			p = n
		default:
			return bad()
		}
	case avroFloat, avroDouble:
		var f float64
		switch t := v.(type) {
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(string(t), 64); err != nil {
				return bad()
			}
		case string:
			switch t {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return bad()
			}
		default:
			return bad()
		}
		if s.Type == connect.TypeFloat32 {
			p = float32(f)
		} else if s.Type == connect.TypeFloat64 {
			p = f
		} else {
			return bad()
		}
	case avroBoolean:
		bv, ok := v.(bool)
		if !ok || s.Type != connect.TypeBoolean {
			return bad()
		}
		p = bv
	case avroString, avroEnum:
		str, ok := v.(string)
		if !ok || s.Type != connect.TypeString {
			return bad()
		}
		p = str
	case avroBytes, avroFixed:
		str, ok := v.(string)
		if !ok || s.Type != connect.TypeBytes {
			return bad()
		}
		bs, ok := latin1Bytes(str)
		if !ok || (a.kind == avroFixed && len(bs) != a.size) {
			return bad()
		}
		p = bs
	case avroArray:
		arr, ok := v.([]any)
		if !ok {
			return bad()
		}
		if s.Type == connect.TypeMap {
			return mapEntriesFromJSON(s, a.items, arr, depth)
		}
		if s.Type != connect.TypeArray {
			return bad()
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			ev, err := defaultFromJSON(s.ValueSchema, a.items, e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		p = out
	case avroMap:
		obj, ok := v.(*jsonObject)
		if !ok || s.Type != connect.TypeMap {
			return bad()
		}
		out := make(map[string]any, len(obj.members))
		for _, m := range obj.members {
			ev, err := defaultFromJSON(s.ValueSchema, a.values, m.value, depth+1)
			if err != nil {
				return nil, err
			}
			out[m.key] = ev
		}
		p = out
	case avroRecord:
		obj, ok := v.(*jsonObject)
		if !ok || s.Type != connect.TypeStruct {
			return bad()
		}
		st := connect.NewStruct(s)
		for _, af := range a.fields {
			f := s.Field(af.name)
			if f == nil {
				continue
			}
			fv, present := obj.get(af.name)
			var cv any
			if present {
				var err error
				if cv, err = defaultFromJSON(f.Schema, af.typ, fv, depth+1); err != nil {
					return nil, err
				}
			} else {
				cv = f.Schema.Default
			}
			if cv != nil {
				if err := st.PutField(f, cv); err != nil {
					return nil, avroErr("%v", err)
				}
			}
		}
		return st, nil
	default:
		return bad()
	}
	lv, err := connect.ToLogical(s, p)
	if err != nil {
		return nil, avroErr("%v", err)
	}
	return lv, nil
}

// mapEntriesFromJSON reads the default of a map with non-string keys: an
// array of [key, value] pairs (as Confluent writes connect.default) or of
// {"key":…, "value":…} records.
func mapEntriesFromJSON(s *connect.Schema, entry *avroSchema, arr []any, depth int) (any, error) {
	if entry.kind != avroRecord || entry.field("key") == nil || entry.field("value") == nil {
		return nil, avroErr("invalid map default")
	}
	kt, vt := entry.field("key").typ, entry.field("value").typ
	var strMap map[string]any
	var anyMap map[any]any
	var dedup decimalKeys
	if s.KeySchema.Type == connect.TypeString {
		strMap = make(map[string]any, len(arr))
	} else {
		anyMap = make(map[any]any, len(arr))
	}
	for _, e := range arr {
		var kj, vj any
		switch t := e.(type) {
		case []any:
			if len(t) != 2 {
				return nil, avroErr("invalid map default entry")
			}
			kj, vj = t[0], t[1]
		case *jsonObject:
			kj, _ = t.get("key")
			vj, _ = t.get("value")
		default:
			return nil, avroErr("invalid map default entry")
		}
		k, err := defaultFromJSON(s.KeySchema, kt, kj, depth+1)
		if err != nil {
			return nil, err
		}
		val, err := defaultFromJSON(s.ValueSchema, vt, vj, depth+1)
		if err != nil {
			return nil, err
		}
		if strMap != nil {
			ks, ok := k.(string)
			if !ok {
				return nil, avroErr("invalid map default key")
			}
			strMap[ks] = val
			continue
		}
		if !hashableKey(k) {
			return nil, avroErr("a map key of schema type %s cannot be held in a Go map", s.KeySchema.Type)
		}
		anyMap[dedup.key(k)] = val
	}
	if strMap != nil {
		return strMap, nil
	}
	return anyMap, nil
}

// decimalKeys makes equal Decimal map keys one key: connect.Decimal holds a
// *big.Int, so Go compares Decimal keys by pointer, while Kafka Connect's
// maps (BigDecimal keys) hold one entry per value. The first key is kept
// and the last value wins, as Java's HashMap.put does.
type decimalKeys map[string]any

func (d *decimalKeys) key(k any) any {
	dec, ok := k.(connect.Decimal)
	if !ok {
		return k
	}
	id := dec.String() + "/" + strconv.Itoa(int(dec.Scale))
	if *d == nil {
		*d = decimalKeys{}
	}
	if prev, ok := (*d)[id]; ok {
		return prev
	}
	(*d)[id] = k
	return k
}

func hashableKey(k any) bool {
	switch k.(type) {
	case []byte, []any, map[string]any, map[any]any:
		return false
	}
	return true
}

// sortedMapEntries returns the entries of a Connect map value (map[string]any
// or map[any]any) sorted by key, for deterministic output.
func sortedMapEntries(v any) (keys, vals []any, err error) {
	switch m := v.(type) {
	case map[string]any:
		ks := sortedKeys(m)
		keys, vals = make([]any, len(ks)), make([]any, len(ks))
		for i, k := range ks {
			keys[i], vals[i] = k, m[k]
		}
		return keys, vals, nil
	case map[any]any:
		// Ranging, not looking keys up: a NaN key's value is found only so.
		keys, vals = make([]any, 0, len(m)), make([]any, 0, len(m))
		for k, v := range m {
			keys, vals = append(keys, k), append(vals, v)
		}
		// Keys that compare equal (Decimals or Structs equal by value but
		// distinct in Go) are ordered by value, for deterministic output.
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool {
			if c := avroCompareKeys(keys[idx[a]], keys[idx[b]]); c != 0 {
				return c < 0
			}
			return fmt.Sprint(vals[idx[a]]) < fmt.Sprint(vals[idx[b]])
		})
		sk, sv := make([]any, len(keys)), make([]any, len(keys))
		for i, j := range idx {
			sk[i], sv[i] = keys[j], vals[j]
		}
		return sk, sv, nil
	}
	return nil, nil, avroErr("expected map[string]any or map[any]any for a MAP, got %T", v)
}

// avroCompareKeys orders map keys of the Connect Go types: nil first, then by
// type, then by value.
func avroCompareKeys(a, b any) int {
	ra, rb := avroKeyRank(a), avroKeyRank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int8:
		return cmpOrdered(int64(x), int64(b.(int8)))
	case int16:
		return cmpOrdered(int64(x), int64(b.(int16)))
	case int32:
		return cmpOrdered(int64(x), int64(b.(int32)))
	case int64:
		return cmpOrdered(x, b.(int64))
	case float32:
		return cmpOrdered(float64(x), float64(b.(float32)))
	case float64:
		return cmpOrdered(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	case connect.Decimal:
		y := b.(connect.Decimal)
		if c := x.Rat().Cmp(y.Rat()); c != 0 {
			return c
		}
		return cmpOrdered(x.Scale, y.Scale)
	case *big.Int:
		return x.Cmp(b.(*big.Int))
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func avroKeyRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case int8:
		return 2
	case int16:
		return 3
	case int32:
		return 4
	case int64:
		return 5
	case float32:
		return 6
	case float64:
		return 7
	case string:
		return 8
	case time.Time:
		return 9
	case connect.Decimal:
		return 10
	}
	return 11
}

func cmpOrdered[T int64 | float64 | int32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// converterName is the converter named in *converters.DataError values, as
// Kafka Connect's class simple name.
const converterName = "AvroConverter"

// avroErr returns a *converters.DataError of the Avro converter.
func avroErr(format string, args ...any) error {
	return &converters.DataError{Converter: converterName, Reason: fmt.Sprintf(format, args...)}
}
