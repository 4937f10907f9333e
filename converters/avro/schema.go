package avro

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice/internal/jackson"
)

// This file holds the converter's own Avro schema model: a parser for schema
// JSON that keeps the order of properties and the exact text of numbers
// (Kafka Connect's schema metadata lives in properties such as
// connect.parameters, whose order is part of the schema), and an emitter that
// writes schemas exactly as Avro Java's Schema.toString does, so that the
// schemas Sluice registers are byte-identical to Kafka Connect's.

// avroKind is an Avro schema type.
type avroKind uint8

const (
	avroNull avroKind = iota + 1
	avroBoolean
	avroInt
	avroLong
	avroFloat
	avroDouble
	avroBytes
	avroString
	avroRecord
	avroEnum
	avroArray
	avroMap
	avroUnion
	avroFixed
)

var avroKindNames = [...]string{"", "null", "boolean", "int", "long", "float", "double", "bytes", "string", "record", "enum", "array", "map", "union", "fixed"}

// String returns the Avro type name ("int", "record", …).
func (k avroKind) String() string {
	if int(k) < len(avroKindNames) {
		return avroKindNames[k]
	}
	return fmt.Sprintf("avroKind(%d)", uint8(k))
}

func (k avroKind) named() bool { return k == avroRecord || k == avroEnum || k == avroFixed }

var avroPrimitives = map[string]avroKind{
	"null": avroNull, "boolean": avroBoolean, "int": avroInt, "long": avroLong,
	"float": avroFloat, "double": avroDouble, "bytes": avroBytes, "string": avroString,
}

// jsonObject is a JSON object that keeps its members in order. Values of the
// JSON trees used here are nil, bool, string, json.Number, []any and
// *jsonObject.
type jsonObject struct {
	members []jsonMember
}

type jsonMember struct {
	key   string
	value any
}

func (o *jsonObject) get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	for _, m := range o.members {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// avroSchema is one node of a parsed or generated Avro schema. Named types
// are shared: every reference to a record, enum or fixed points to the node
// that defines it.
type avroSchema struct {
	kind avroKind
	// name and namespace of a named type; namespace "" is the null namespace.
	name, namespace string
	aliases         []string
	doc             string
	hasDoc          bool
	// props are the schema's other attributes ("logicalType",
	// "connect.name", …), in order.
	props []jsonMember

	fields      []*avroField // record
	symbols     []string     // enum
	enumDefault string       // enum
	hasEnumDef  bool         // enum
	size        int          // fixed
	items       *avroSchema  // array
	values      *avroSchema  // map
	branches    []*avroSchema
	isError     bool // record declared as "error"
}

// avroField is a record field.
type avroField struct {
	name    string
	aliases []string
	doc     string
	hasDoc  bool
	typ     *avroSchema
	// def is the default value as a JSON tree; hasDef says whether there is
	// one (a JSON null default is hasDef with def == nil).
	def    any
	hasDef bool
	order  string // "" = ascending
	props  []jsonMember
}

func (s *avroSchema) fullName() string {
	if s.namespace == "" {
		return s.name
	}
	return s.namespace + "." + s.name
}

func (s *avroSchema) prop(key string) (any, bool) {
	for _, m := range s.props {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

// propString returns a string property, or "" when it is absent or not a
// string.
func (s *avroSchema) propString(key string) string {
	v, _ := s.prop(key)
	str, _ := v.(string)
	return str
}

// addProp adds a property unless it is already present (Avro Java's
// JsonProperties.addProp keeps the first value).
func (s *avroSchema) addProp(key string, value any) {
	if _, ok := s.prop(key); !ok {
		s.props = append(s.props, jsonMember{key, value})
	}
}

func (s *avroSchema) field(name string) *avroField {
	for _, f := range s.fields {
		if f.name == name {
			return f
		}
	}
	return nil
}

// describe names a schema node for error messages: "record com.acme.Order",
// "int", "union".
func (s *avroSchema) describe() string {
	if s.kind.named() {
		return s.kind.String() + " " + s.fullName()
	}
	return s.kind.String()
}

// ---------------------------------------------------------------------------
// Parsing

// parseJSONTree parses JSON text into an ordered tree, numbers kept as
// json.Number.
func parseJSONTree(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := readJSONValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

const maxSchemaDepth = 1000

func readJSONValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &jsonObject{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := readJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj.members = append(obj.members, jsonMember{key, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := readJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// parseAvroSchema parses Avro schema JSON. It is lenient where Avro Java is
// lenient (names are not validated: the registry validated them) and keeps
// everything the Connect mapping needs.
func parseAvroSchema(text string) (*avroSchema, error) {
	tree, err := parseJSONTree(text)
	if err != nil {
		return nil, fmt.Errorf("invalid Avro schema JSON: %w", err)
	}
	p := avroParser{named: map[string]*avroSchema{}}
	s, err := p.parse(tree, "", 0)
	if err != nil {
		return nil, fmt.Errorf("invalid Avro schema: %w", err)
	}
	return s, nil
}

type avroParser struct {
	named map[string]*avroSchema
	nodes int
}

// maxSchemaNodes bounds the work spent on one schema.
const maxSchemaNodes = 100_000

func (p *avroParser) parse(v any, ns string, depth int) (*avroSchema, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("schema nested too deeply")
	}
	if p.nodes++; p.nodes > maxSchemaNodes {
		return nil, errors.New("schema too large")
	}
	switch t := v.(type) {
	case string:
		return p.lookup(t, ns)
	case []any:
		u := &avroSchema{kind: avroUnion}
		for _, b := range t {
			bs, err := p.parse(b, ns, depth+1)
			if err != nil {
				return nil, err
			}
			if bs.kind == avroUnion {
				return nil, errors.New("a union may not immediately contain another union")
			}
			for _, o := range u.branches {
				if o.kind == bs.kind && (!o.kind.named() || o.fullName() == bs.fullName()) {
					return nil, fmt.Errorf("duplicate %s in union", bs.describe())
				}
			}
			u.branches = append(u.branches, bs)
		}
		return u, nil
	case *jsonObject:
		return p.parseObject(t, ns, depth)
	}
	return nil, fmt.Errorf("unexpected %s where a schema was expected", jsonKind(v))
}

func (p *avroParser) lookup(name, ns string) (*avroSchema, error) {
	if k, ok := avroPrimitives[name]; ok {
		return &avroSchema{kind: k}, nil
	}
	if !strings.Contains(name, ".") && ns != "" {
		if s, ok := p.named[ns+"."+name]; ok {
			return s, nil
		}
	}
	if s, ok := p.named[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("undefined name %q", name)
}

func (p *avroParser) parseObject(o *jsonObject, ns string, depth int) (*avroSchema, error) {
	tv, ok := o.get("type")
	if !ok {
		return nil, errors.New(`schema object has no "type"`)
	}
	t, isString := tv.(string)
	if !isString {
		// {"type": [..]} or {"type": {..}}: Avro Java rejects this, other
		// libraries accept it; the nested schema is the type.
		return p.parse(tv, ns, depth+1)
	}
	if k, ok := avroPrimitives[t]; ok {
		return &avroSchema{kind: k, props: otherMembers(o, "type")}, nil
	}
	switch t {
	case "record", "error":
		return p.parseRecord(o, ns, depth, t == "error")
	case "enum":
		s := &avroSchema{kind: avroEnum}
		if err := p.parseName(s, o, ns); err != nil {
			return nil, err
		}
		syms, _ := o.get("symbols")
		arr, ok := syms.([]any)
		if !ok {
			return nil, fmt.Errorf("enum %s has no symbols array", s.fullName())
		}
		seen := map[string]bool{}
		for _, sv := range arr {
			sym, ok := sv.(string)
			if !ok || seen[sym] {
				return nil, fmt.Errorf("enum %s has an invalid or duplicate symbol %v", s.fullName(), sv)
			}
			seen[sym] = true
			s.symbols = append(s.symbols, sym)
		}
		if d, ok := o.get("default"); ok {
			ds, isStr := d.(string)
			if !isStr || !seen[ds] {
				return nil, fmt.Errorf("enum %s has an invalid default %v", s.fullName(), d)
			}
			s.enumDefault, s.hasEnumDef = ds, true
		}
		s.props = otherMembers(o, "type", "name", "namespace", "aliases", "doc", "symbols", "default")
		return s, p.define(s)
	case "fixed":
		s := &avroSchema{kind: avroFixed}
		if err := p.parseName(s, o, ns); err != nil {
			return nil, err
		}
		sv, _ := o.get("size")
		n, ok := jsonInt(sv)
		if !ok || n < 0 || n > 1<<30 {
			return nil, fmt.Errorf("fixed %s has an invalid size %v", s.fullName(), sv)
		}
		s.size = int(n)
		s.props = otherMembers(o, "type", "name", "namespace", "aliases", "doc", "size")
		return s, p.define(s)
	case "array":
		iv, ok := o.get("items")
		if !ok {
			return nil, errors.New(`array schema has no "items"`)
		}
		items, err := p.parse(iv, ns, depth+1)
		if err != nil {
			return nil, err
		}
		return &avroSchema{kind: avroArray, items: items, props: otherMembers(o, "type", "items")}, nil
	case "map":
		vv, ok := o.get("values")
		if !ok {
			return nil, errors.New(`map schema has no "values"`)
		}
		values, err := p.parse(vv, ns, depth+1)
		if err != nil {
			return nil, err
		}
		return &avroSchema{kind: avroMap, values: values, props: otherMembers(o, "type", "values")}, nil
	}
	// {"type":"com.acme.Name"}: a reference to a named type.
	return p.lookup(t, ns)
}

func (p *avroParser) parseRecord(o *jsonObject, ns string, depth int, isError bool) (*avroSchema, error) {
	s := &avroSchema{kind: avroRecord, isError: isError}
	if err := p.parseName(s, o, ns); err != nil {
		return nil, err
	}
	fv, ok := o.get("fields")
	fields, isArr := fv.([]any)
	if !ok || !isArr {
		return nil, fmt.Errorf("record %s has no fields array", s.fullName())
	}
	s.props = otherMembers(o, "type", "name", "namespace", "aliases", "doc", "fields")
	// Define the name before the fields: a record may refer to itself.
	if err := p.define(s); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, fv := range fields {
		fo, ok := fv.(*jsonObject)
		if !ok {
			return nil, fmt.Errorf("record %s has a field that is not an object", s.fullName())
		}
		f := &avroField{}
		nv, _ := fo.get("name")
		if f.name, ok = nv.(string); !ok || f.name == "" {
			return nil, fmt.Errorf("record %s has a field without a name", s.fullName())
		}
		if seen[f.name] {
			return nil, fmt.Errorf("record %s has a duplicate field %q", s.fullName(), f.name)
		}
		seen[f.name] = true
		tv, ok := fo.get("type")
		if !ok {
			return nil, fmt.Errorf("field %s.%s has no type", s.fullName(), f.name)
		}
		var err error
		if f.typ, err = p.parse(tv, s.namespace, depth+1); err != nil {
			return nil, err
		}
		if d, ok := fo.get("doc"); ok {
			f.doc, f.hasDoc = d.(string)
		}
		f.def, f.hasDef = fo.get("default")
		if ov, ok := fo.get("order"); ok {
			f.order, _ = ov.(string)
			if f.order == "ascending" {
				f.order = ""
			}
		}
		f.aliases = stringList(fo, "aliases")
		f.props = otherMembers(fo, "name", "type", "doc", "default", "order", "aliases")
		s.fields = append(s.fields, f)
	}
	return s, nil
}

func (p *avroParser) parseName(s *avroSchema, o *jsonObject, ns string) error {
	nv, _ := o.get("name")
	name, ok := nv.(string)
	if !ok || name == "" {
		return fmt.Errorf("%s schema has no name", s.kind)
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		s.namespace, s.name = name[:i], name[i+1:]
	} else {
		s.name = name
		s.namespace = ns
		if nsv, ok := o.get("namespace"); ok {
			s.namespace, _ = nsv.(string)
		}
	}
	if d, ok := o.get("doc"); ok {
		s.doc, s.hasDoc = d.(string)
	}
	s.aliases = stringList(o, "aliases")
	return nil
}

func (p *avroParser) define(s *avroSchema) error {
	full := s.fullName()
	if _, ok := avroPrimitives[full]; ok {
		return fmt.Errorf("%s may not be named %q", s.kind, full)
	}
	if _, dup := p.named[full]; dup {
		return fmt.Errorf("can't redefine %s", full)
	}
	p.named[full] = s
	return nil
}

func otherMembers(o *jsonObject, reserved ...string) []jsonMember {
	var out []jsonMember
next:
	for _, m := range o.members {
		for _, r := range reserved {
			if m.key == r {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func stringList(o *jsonObject, key string) []string {
	v, _ := o.get(key)
	arr, _ := v.([]any)
	var out []string
	for _, a := range arr {
		if s, ok := a.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case *jsonObject:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonInt returns a JSON number that is an integer.
func jsonInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	}
	return i, true
}

// ---------------------------------------------------------------------------
// Emitting

// avroEmitter writes schema JSON as Avro Java's Schema.toString(): compact,
// attributes in Avro Java's order, properties in insertion order, and a named
// type written in full once and by name afterwards.
type avroEmitter struct {
	defined map[string]*avroSchema
	space   string
}

func emitAvroSchema(s *avroSchema) (string, error) {
	e := avroEmitter{defined: map[string]*avroSchema{}}
	b, err := e.emit(make([]byte, 0, 256), s)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (e *avroEmitter) emit(b []byte, s *avroSchema) ([]byte, error) {
	switch s.kind {
	case avroUnion:
		b = append(b, '[')
		for i, br := range s.branches {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = e.emit(b, br); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case avroRecord, avroEnum, avroFixed:
		return e.emitNamed(b, s)
	case avroArray, avroMap:
		b = append(b, `{"type":"`...)
		b = append(b, s.kind.String()...)
		var err error
		if s.kind == avroArray {
			b = append(b, `","items":`...)
			b, err = e.emit(b, s.items)
		} else {
			b = append(b, `","values":`...)
			b, err = e.emit(b, s.values)
		}
		if err != nil {
			return nil, err
		}
		b = appendJSONMembers(b, s.props)
		return append(b, '}'), nil
	default:
		if len(s.props) == 0 {
			b = append(b, '"')
			b = append(b, s.kind.String()...)
			return append(b, '"'), nil
		}
		b = append(b, `{"type":"`...)
		b = append(b, s.kind.String()...)
		b = append(b, '"')
		b = appendJSONMembers(b, s.props)
		return append(b, '}'), nil
	}
}

func (e *avroEmitter) emitNamed(b []byte, s *avroSchema) ([]byte, error) {
	full := s.fullName()
	if d, ok := e.defined[full]; ok {
		if d != s && !sameNamedSchema(d, s) {
			return nil, fmt.Errorf("can't redefine %s: two different schemas have this name", full)
		}
		// A reference, qualified unless in the current namespace.
		if s.namespace == "" || s.namespace == e.space {
			return jackson.AppendString(b, s.name), nil
		}
		return jackson.AppendString(b, full), nil
	}
	e.defined[full] = s
	kind := s.kind.String()
	if s.isError {
		kind = "error"
	}
	b = append(b, `{"type":"`...)
	b = append(b, kind...)
	b = append(b, `","name":`...)
	b = jackson.AppendString(b, s.name)
	if s.namespace != "" {
		if s.namespace != e.space {
			b = append(b, `,"namespace":`...)
			b = jackson.AppendString(b, s.namespace)
		}
	} else if e.space != "" {
		b = append(b, `,"namespace":""`...)
	}
	if s.hasDoc {
		b = append(b, `,"doc":`...)
		b = jackson.AppendString(b, s.doc)
	}
	switch s.kind {
	case avroRecord:
		saved := e.space
		e.space = s.namespace
		b = append(b, `,"fields":[`...)
		for i, f := range s.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = jackson.AppendString(b, f.name)
			b = append(b, `,"type":`...)
			var err error
			if b, err = e.emit(b, f.typ); err != nil {
				return nil, err
			}
			if f.hasDoc {
				b = append(b, `,"doc":`...)
				b = jackson.AppendString(b, f.doc)
			}
			if f.hasDef {
				b = append(b, `,"default":`...)
				b = appendJSONValue(b, f.def)
			}
			if f.order != "" {
				b = append(b, `,"order":`...)
				b = jackson.AppendString(b, f.order)
			}
			b = appendAliases(b, f.aliases)
			b = appendJSONMembers(b, f.props)
			b = append(b, '}')
		}
		b = append(b, ']')
		e.space = saved
	case avroEnum:
		b = append(b, `,"symbols":[`...)
		for i, sym := range s.symbols {
			if i > 0 {
				b = append(b, ',')
			}
			b = jackson.AppendString(b, sym)
		}
		b = append(b, ']')
		if s.hasEnumDef {
			b = append(b, `,"default":`...)
			b = jackson.AppendString(b, s.enumDefault)
		}
	case avroFixed:
		b = append(b, `,"size":`...)
		b = fmt.Appendf(b, "%d", s.size)
	}
	b = appendJSONMembers(b, s.props)
	b = appendAliases(b, s.aliases)
	return append(b, '}'), nil
}

// sameNamedSchema reports whether two nodes of the same name are equal (as
// Avro Java's Schema.equals, which lets it write the second as a reference).
func sameNamedSchema(a, b *avroSchema) bool {
	ta, err := emitAvroSchema(a)
	if err != nil {
		return false
	}
	tb, err := emitAvroSchema(b)
	return err == nil && ta == tb
}

func appendAliases(b []byte, aliases []string) []byte {
	if len(aliases) == 0 {
		return b
	}
	b = append(b, `,"aliases":[`...)
	for i, a := range aliases {
		if i > 0 {
			b = append(b, ',')
		}
		b = jackson.AppendString(b, a)
	}
	return append(b, ']')
}

func appendJSONMembers(b []byte, members []jsonMember) []byte {
	for _, m := range members {
		b = append(b, ',')
		b = jackson.AppendString(b, m.key)
		b = append(b, ':')
		b = appendJSONValue(b, m.value)
	}
	return b
}

func appendJSONValue(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if t {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case string:
		return jackson.AppendString(b, t)
	case json.Number:
		return append(b, t...)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, e)
		}
		return append(b, ']')
	case *jsonObject:
		b = append(b, '{')
		for i, m := range t.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = jackson.AppendString(b, m.key)
			b = append(b, ':')
			b = appendJSONValue(b, m.value)
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("converters: unexpected JSON tree value %T", v))
}

// validAvroName reports whether name is a valid Avro name as Avro Java checks
// it: a letter or underscore, then letters, digits or underscores (Unicode
// letters and digits included).
func validAvroName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)) {
			continue
		}
		return false
	}
	return true
}
