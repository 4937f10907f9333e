// Package connprops parses the Kafka Connect properties that source and sink
// pipelines share (name, tasks.max, converters, transforms, offset flush
// settings, client overrides), so both runtimes read them the same way.
package connprops

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/converters/avro"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/transforms"
)

// Plugins are the registries used to build converters and transforms from
// class names. Nil fields mean the built-ins; for converters that is
// converters.DefaultRegistry with Confluent's AvroConverter (package
// converters/avro) added.
type Plugins struct {
	Converters *converters.Registry
	Transforms *transforms.Registry
}

// Common holds the settings shared by source and sink pipelines. Durations
// are zero when the key is absent (the pipeline's default applies).
type Common struct {
	Name     string
	Brokers  []string
	TasksMax int
	// Converters are nil when neither the connector nor the worker names one.
	KeyConverter    converters.Converter
	ValueConverter  converters.Converter
	HeaderConverter converters.HeaderConverter
	// Transforms is nil when the connector defines none.
	Transforms          *transforms.Chain
	OffsetFlushInterval time.Duration
	OffsetFlushTimeout  time.Duration
	ShutdownTimeout     time.Duration
	// ClientProps are the worker's <client>.* properties overlaid with the
	// connector's <client>.override.* ones, prefixes stripped.
	ClientProps map[string]string
}

// DefaultConverters returns a new registry holding the built-in converters:
// converters.DefaultRegistry and the Avro converter (avro.Register), so that
// io.confluent.connect.avro.AvroConverter, AvroConverter and avro resolve in
// property-form configs.
func DefaultConverters() *converters.Registry {
	r := converters.DefaultRegistry()
	avro.Register(r)
	return r
}

// Parse reads the shared settings from worker-level and connector-level
// properties. Connector keys win over worker keys for the converters (each
// converter's sub-properties, e.g. value.converter.schemas.enable, come from
// the level that names its class). client is "producer" or "consumer". All
// problems are reported, joined, each naming its key.
func Parse(worker, connector map[string]string, p Plugins, client string) (Common, error) {
	if p.Converters == nil {
		p.Converters = DefaultConverters()
	}
	if p.Transforms == nil {
		p.Transforms = transforms.NewRegistry()
	}
	var c Common
	var errs []error
	c.Name = strings.TrimSpace(connector["name"])
	if c.Name == "" {
		errs = append(errs, errors.New("name: a connector name is required"))
	}
	if v, ok := lookup(worker, connector, "bootstrap.servers"); ok {
		c.Brokers = kafkaconf.ParseBootstrap(v)
	}
	if v, ok := connector["tasks.max"]; ok {
		n, err := kafkaconf.ParseInt("tasks.max", strings.TrimSpace(v), 1)
		if err != nil {
			errs = append(errs, err)
		}
		c.TasksMax = n
	}
	var err error
	if c.KeyConverter, err = converter(worker, connector, p.Converters, "key.converter", true); err != nil {
		errs = append(errs, err)
	}
	if c.ValueConverter, err = converter(worker, connector, p.Converters, "value.converter", false); err != nil {
		errs = append(errs, err)
	}
	if props, class, ok := classProps(worker, connector, "header.converter"); ok {
		if c.HeaderConverter, err = p.Converters.NewHeader(class, props); err != nil {
			errs = append(errs, fmt.Errorf("header.converter: %w", err))
		}
	}
	if c.Transforms, err = p.Transforms.ParseChain(connector); err != nil {
		errs = append(errs, err)
	} else if c.Transforms.Len() == 0 {
		c.Transforms = nil
	}
	for key, dst := range map[string]*time.Duration{
		"offset.flush.interval.ms":          &c.OffsetFlushInterval,
		"offset.flush.timeout.ms":           &c.OffsetFlushTimeout,
		"task.shutdown.graceful.timeout.ms": &c.ShutdownTimeout,
	} {
		if v, ok := lookup(worker, connector, key); ok {
			d, err := kafkaconf.ParseMillis(key, strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, err)
			}
			*dst = d
		}
	}
	c.ClientProps = map[string]string{}
	for k, v := range worker {
		if rest, ok := strings.CutPrefix(k, client+"."); ok {
			c.ClientProps[rest] = v
		}
	}
	for k, v := range connector {
		if rest, ok := strings.CutPrefix(k, client+".override."); ok {
			c.ClientProps[rest] = v
		}
	}
	return c, errors.Join(errs...)
}

// lookup returns the connector's value of key, else the worker's.
func lookup(worker, connector map[string]string, key string) (string, bool) {
	if v, ok := connector[key]; ok {
		return v, true
	}
	v, ok := worker[key]
	return v, ok
}

// classProps returns the class named by key and its sub-properties, from the
// connector if it names the class, else from the worker.
func classProps(worker, connector map[string]string, key string) (map[string]string, string, bool) {
	for _, level := range []map[string]string{connector, worker} {
		class, ok := level[key]
		if !ok || strings.TrimSpace(class) == "" {
			continue
		}
		return SubProps(level, key+"."), strings.TrimSpace(class), true
	}
	return nil, "", false
}

func converter(worker, connector map[string]string, reg *converters.Registry, key string, isKey bool) (converters.Converter, error) {
	props, class, ok := classProps(worker, connector, key)
	if !ok {
		return nil, nil
	}
	c, err := reg.New(class, props, isKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return c, nil
}

// SubProps returns the properties under prefix, with the prefix stripped.
func SubProps(props map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range props {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			out[rest] = v
		}
	}
	return out
}
