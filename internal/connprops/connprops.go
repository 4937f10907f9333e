// Package connprops parses the Kafka Connect properties that source and sink
// pipelines share (name, tasks.max, converters, transforms, offset flush
// settings, client overrides), so both runtimes read them the same way.
package connprops

import (
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// AdminProps are the admin clients' properties (see AdminProps); nil
	// when they set no security key.
	AdminProps map[string]string
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
	c.ClientProps = ClientProps(worker, connector, client)
	c.AdminProps, _ = AdminProps(worker, connector)
	return c, errors.Join(errs...)
}

// ClientProps returns the worker's <client>.* properties overlaid with the
// connector's <client>.override.* ones, prefixes stripped (Kafka Connect's
// baseProducerConfigs and baseConsumerConfigs). client is "producer",
// "consumer" or "admin".
func ClientProps(worker, connector map[string]string, client string) map[string]string {
	out := map[string]string{}
	for k, v := range worker {
		if rest, ok := strings.CutPrefix(k, client+"."); ok && rest != "" {
			out[rest] = v
		}
	}
	for k, v := range connector {
		if rest, ok := strings.CutPrefix(k, client+".override."); ok && rest != "" {
			out[rest] = v
		}
	}
	return out
}

// AdminProps returns the properties of a connector's admin clients as Kafka
// Connect composes them (Worker.adminConfigs): the worker's top-level keys
// an admin client of Sluice's uses (the security keys and
// kafkaconf.AdminKeys), then the worker's admin.* keys, then the
// connector's admin.override.* keys, prefixes stripped. Top-level ssl.* and
// sasl.* keys that the resulting security.protocol does not use are left
// out and returned in ignored (they may serve the REST API's https
// listeners); prefixed ones stay, for ApplySecurity to refuse.
//
// It returns nil when there is no such key. When the result holds no
// security key, the admin clients keep the security settings of the task's
// own client (the source's producer, the sink's consumer), where Kafka
// Connect would connect them in plaintext (see kafkaconf.AdminConfig).
func AdminProps(worker, connector map[string]string) (props map[string]string, ignored []string) {
	merged := kafkaconf.SecurityProps(worker)
	for _, k := range kafkaconf.AdminKeys {
		if v, ok := worker[k]; ok {
			merged[k] = v
		}
	}
	prefixed := ClientProps(worker, connector, "admin")
	maps.Copy(merged, prefixed)
	props, ignored = kafkaconf.UsedSecurityProps(merged, func(k string) bool { _, ok := prefixed[k]; return !ok })
	if len(props) == 0 {
		return nil, ignored
	}
	return props, ignored
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

// ClientKey names client property k as written: the connector's
// <client>.override.k, else the worker's <client>.k, else (for "admin", whose
// properties include the worker's top-level keys, see AdminProps) the
// worker's k, else <client>.override.k.
func ClientKey(worker, connector map[string]string, client, k string) string {
	if _, ok := connector[client+".override."+k]; ok {
		return client + ".override." + k
	}
	if _, ok := worker[client+"."+k]; ok {
		return client + "." + k
	}
	if _, ok := worker[k]; ok && client == "admin" {
		return k
	}
	return client + ".override." + k
}

// CheckClientProps checks a client's properties as its tasks will apply
// them, so that a mistake fails the configuration naming the key as
// written (ClientKey) instead of a task failing when it starts: each key
// but the security keys alone with apply (which may return an error that
// starts with "<key>: ", as kafkaconf's do), then the security keys
// together with kafkaconf.ApplySecurity unless skipSecurity is set.
func CheckClientProps(worker, connector map[string]string, client string, props map[string]string, apply func(k, v string) error, skipSecurity bool) []error {
	name := func(k string) string { return ClientKey(worker, connector, client, k) }
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if kafkaconf.IsSecurityKey(k) {
			continue // checked together below
		}
		if err := apply(k, props[k]); err != nil {
			if msg, ok := strings.CutPrefix(err.Error(), k+": "); ok {
				err = errors.New(msg)
			}
			errs = append(errs, fmt.Errorf("%s: %w", name(k), err))
		}
	}
	if !skipSecurity {
		if err := kafkaconf.ApplySecurity(kafkaconf.NewSaramaConfig(""), props, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// CheckAdminProps checks admin client properties (as AdminProps returns
// them) with CheckClientProps. When topLevelChecked is set and the security
// keys all come from the worker's top level, the caller has checked them
// (for the worker's own clients) and they are not checked again.
func CheckAdminProps(worker, connector, props map[string]string, topLevelChecked bool) []error {
	prefixedSecurity := slices.ContainsFunc(slices.Collect(maps.Keys(kafkaconf.SecurityProps(props))),
		func(k string) bool { return ClientKey(worker, connector, "admin", k) != k })
	return CheckClientProps(worker, connector, "admin", props, func(k, v string) error {
		_, err := kafkaconf.ApplyAdminProps(kafkaconf.NewSaramaConfig(""), "", map[string]string{k: v})
		return err
	}, topLevelChecked && !prefixedSecurity)
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
