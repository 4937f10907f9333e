package converters

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/connect"
)

// Factory builds the converters of one converter class from Kafka Connect
// properties (already stripped of their key.converter. / value.converter. /
// header.converter. prefix). Either function may be nil when the class is not
// that kind of converter. Factories must reject invalid property values with
// an error naming the property (a *ConfigError) and should ignore properties
// they do not know, as Kafka Connect does.
type Factory struct {
	// Converter builds a key (isKey) or value converter.
	Converter func(props map[string]string, isKey bool) (Converter, error)
	// Header builds a header converter.
	Header func(props map[string]string) (HeaderConverter, error)
}

// Registry maps converter class names to factories, for building converters
// from configuration (key.converter=org.apache.kafka.connect.json.JsonConverter).
// A Registry is safe for concurrent use. The zero value is not usable; start
// from NewRegistry (empty) or DefaultRegistry (the built-ins).
type Registry struct {
	mu      sync.RWMutex
	byName  map[string]*registration
	ordered []*registration
}

type registration struct {
	name    string
	aliases []string
	f       Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: make(map[string]*registration)} }

// Register makes f available under name and its aliases, replacing any
// earlier registration of those names (so a user can override a built-in).
// It panics if name is empty or f has neither function: both are programming
// errors.
func (r *Registry) Register(name string, f Factory, aliases ...string) {
	if name == "" || (f.Converter == nil && f.Header == nil) {
		panic("converters: Register needs a name and a factory with at least one constructor")
	}
	reg := &registration{name: name, aliases: aliases, f: f}
	r.mu.Lock()
	defer r.mu.Unlock()
	replaced := false
	for i, old := range r.ordered {
		if old.name == name {
			r.ordered[i] = reg
			replaced = true
			break
		}
	}
	if !replaced {
		r.ordered = append(r.ordered, reg)
	}
	r.byName[name] = reg
	for _, a := range aliases {
		r.byName[a] = reg
	}
}

// Names returns the primary name of every registered class, in registration
// order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for _, reg := range r.ordered {
		if r.byName[reg.name] == reg {
			out = append(out, reg.name)
		}
	}
	return out
}

func (r *Registry) lookup(class string) (*registration, error) {
	name := strings.TrimSpace(class)
	r.mu.RLock()
	defer r.mu.RUnlock()
	if reg, ok := r.byName[name]; ok {
		return reg, nil
	}
	var known []string
	for _, reg := range r.ordered {
		if r.byName[reg.name] != reg {
			continue
		}
		var al []string
		for _, a := range reg.aliases {
			if r.byName[a] == reg {
				al = append(al, a)
			}
		}
		if len(al) > 0 {
			known = append(known, reg.name+" ("+strings.Join(al, ", ")+")")
		} else {
			known = append(known, reg.name)
		}
	}
	return nil, fmt.Errorf("converters: unknown converter class %q; known classes: %s", class, strings.Join(known, "; "))
}

// New builds a key (isKey) or value converter of the given class from its
// properties. It fails if the class is unknown (the error lists the known
// names), is not a Converter, or rejects a property (the error wraps the
// factory's *ConfigError, which names the property).
func (r *Registry) New(class string, props map[string]string, isKey bool) (Converter, error) {
	reg, err := r.lookup(class)
	if err != nil {
		return nil, err
	}
	if reg.f.Converter == nil {
		return nil, fmt.Errorf("converters: %s is a header converter only, not a key or value converter", reg.name)
	}
	c, err := reg.f.Converter(nonNil(props), isKey)
	if err != nil {
		return nil, fmt.Errorf("converters: configuring %s: %w", reg.name, err)
	}
	return c, nil
}

// NewHeader builds a header converter of the given class from its
// properties, failing as New does.
func (r *Registry) NewHeader(class string, props map[string]string) (HeaderConverter, error) {
	reg, err := r.lookup(class)
	if err != nil {
		return nil, err
	}
	if reg.f.Header == nil {
		return nil, fmt.Errorf("converters: %s is not a header converter", reg.name)
	}
	c, err := reg.f.Header(nonNil(props))
	if err != nil {
		return nil, fmt.Errorf("converters: configuring %s: %w", reg.name, err)
	}
	return c, nil
}

func nonNil(props map[string]string) map[string]string {
	if props == nil {
		return map[string]string{}
	}
	return props
}

// Kafka Connect class names of the built-in converters.
const (
	ClassJSON         = "org.apache.kafka.connect.json.JsonConverter"
	ClassString       = "org.apache.kafka.connect.storage.StringConverter"
	ClassByteArray    = "org.apache.kafka.connect.converters.ByteArrayConverter"
	ClassBoolean      = "org.apache.kafka.connect.converters.BooleanConverter"
	ClassShort        = "org.apache.kafka.connect.converters.ShortConverter"
	ClassInteger      = "org.apache.kafka.connect.converters.IntegerConverter"
	ClassLong         = "org.apache.kafka.connect.converters.LongConverter"
	ClassFloat        = "org.apache.kafka.connect.converters.FloatConverter"
	ClassDouble       = "org.apache.kafka.connect.converters.DoubleConverter"
	ClassSimpleHeader = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
)

// DefaultRegistry returns a new registry holding the built-in converters
// under their Kafka Connect class names, their simple class names and short
// lower-case names:
//
//	org.apache.kafka.connect.json.JsonConverter             JsonConverter, json
//	org.apache.kafka.connect.storage.StringConverter        StringConverter, string
//	org.apache.kafka.connect.converters.ByteArrayConverter  ByteArrayConverter, bytes, bytearray
//	org.apache.kafka.connect.converters.BooleanConverter    BooleanConverter, boolean
//	org.apache.kafka.connect.converters.ShortConverter      ShortConverter, short
//	org.apache.kafka.connect.converters.IntegerConverter    IntegerConverter, integer, int
//	org.apache.kafka.connect.converters.LongConverter       LongConverter, long
//	org.apache.kafka.connect.converters.FloatConverter      FloatConverter, float
//	org.apache.kafka.connect.converters.DoubleConverter     DoubleConverter, double
//	org.apache.kafka.connect.storage.SimpleHeaderConverter  SimpleHeaderConverter, simple (header only)
//
// All but SimpleHeaderConverter serve as key, value and header converters,
// as in Kafka Connect. Each call returns an independent registry:
// registering on one does not affect others.
//
// Confluent's io.confluent.connect.avro.AvroConverter lives in package
// converters/avro (it needs a Schema Registry client and so net/http, which
// this package does not link): call avro.Register on the registry to add it.
// The source and sink property parsers (ConfigFromProperties) do so for
// their default registry; a registry you pass them yourself gets Avro only
// if you register it.
func DefaultRegistry() *Registry {
	r := NewRegistry()
	r.Register(ClassJSON, Factory{
		Converter: func(props map[string]string, _ bool) (Converter, error) { return jsonFromProps(props) },
		Header:    func(props map[string]string) (HeaderConverter, error) { return jsonFromProps(props) },
	}, "JsonConverter", "json")
	r.Register(ClassString, Factory{
		Converter: func(props map[string]string, _ bool) (Converter, error) { return StringFromProps(props) },
		Header:    func(props map[string]string) (HeaderConverter, error) { return StringFromProps(props) },
	}, "StringConverter", "string")
	r.Register(ClassByteArray, Factory{
		Converter: func(map[string]string, bool) (Converter, error) { return NewByteArray(), nil },
		Header:    func(map[string]string) (HeaderConverter, error) { return NewByteArray(), nil },
	}, "ByteArrayConverter", "bytes", "bytearray")
	for _, n := range []struct {
		class   string
		typ     connect.Type
		aliases []string
	}{
		{ClassBoolean, connect.TypeBoolean, []string{"BooleanConverter", "boolean"}},
		{ClassShort, connect.TypeInt16, []string{"ShortConverter", "short"}},
		{ClassInteger, connect.TypeInt32, []string{"IntegerConverter", "integer", "int"}},
		{ClassLong, connect.TypeInt64, []string{"LongConverter", "long"}},
		{ClassFloat, connect.TypeFloat32, []string{"FloatConverter", "float"}},
		{ClassDouble, connect.TypeFloat64, []string{"DoubleConverter", "double"}},
	} {
		t := n.typ
		r.Register(n.class, Factory{
			Converter: func(map[string]string, bool) (Converter, error) { return NewNumber(t) },
			Header:    func(map[string]string) (HeaderConverter, error) { return NewNumber(t) },
		}, n.aliases...)
	}
	r.Register(ClassSimpleHeader, Factory{
		Header: func(map[string]string) (HeaderConverter, error) { return NewSimpleHeader(), nil },
	}, "SimpleHeaderConverter", "simple")
	return r
}

func jsonFromProps(props map[string]string) (*JSON, error) {
	cfg, err := JSONConfigFromProps(props)
	if err != nil {
		return nil, err
	}
	return NewJSON(cfg)
}

// builtins is never registered on after initialisation: New and NewHeader
// only read it.
var builtins = DefaultRegistry()

// New builds a built-in key (isKey) or value converter from its Kafka Connect
// class name (or short name, see DefaultRegistry) and properties. It is
// DefaultRegistry().New without building a registry per call.
func New(class string, props map[string]string, isKey bool) (Converter, error) {
	return builtins.New(class, props, isKey)
}

// NewHeader builds a built-in header converter from its class name and
// properties, as DefaultRegistry().NewHeader.
func NewHeader(class string, props map[string]string) (HeaderConverter, error) {
	return builtins.NewHeader(class, props)
}
