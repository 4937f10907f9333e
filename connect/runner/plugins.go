package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/internal/redact"
)

// ConfigValidation is the result of validating a connector configuration,
// as Kafka Connect's ConfigInfos.
type ConfigValidation struct {
	// Class is the plugin's class name.
	Class      string
	ErrorCount int
	Groups     []string
	Configs    []ConfigResult
}

// ConfigResult is one key's definition with the value given and its
// errors. A password key's value is MaskedValue unless it is nothing but
// config provider references (then shown as written); the errors have the
// configuration's secrets masked (a plugin's message may quote a value).
type ConfigResult struct {
	Key connect.ConfigKey
	// Value is the configured value; HasValue is false when unset.
	Value    string
	HasValue bool
	Errors   []string
	Visible  bool
	// Unknown is true for a key that is neither the framework's nor the
	// plugin's (see ValidateConfig): Errors holds the warning, which
	// ConfigValidation.ErrorCount does not count.
	Unknown bool
}

// Register adds a plugin. It fails when Class is empty or already taken (as
// a class or alias), Type is not [connect.TypeSource] or [connect.TypeSink], or New is nil.
// Register may be called at any time.
func (r *Runner) Register(p connect.Plugin) error {
	if p.Class == "" {
		return fmt.Errorf("runner: plugin: Class is required")
	}
	if p.Type != connect.TypeSource && p.Type != connect.TypeSink {
		return fmt.Errorf("runner: plugin %s: Type must be %q or %q, got %q", p.Class, connect.TypeSource, connect.TypeSink, p.Type)
	}
	if p.New == nil {
		return fmt.Errorf("runner: plugin %s: New is required", p.Class)
	}
	p.Aliases = slices.Clone(p.Aliases)
	p.Config = slices.Clone(p.Config)
	p.PasswordKeys = slices.Clone(p.PasswordKeys)
	r.mu.Lock()
	defer r.mu.Unlock()
	names := append([]string{p.Class}, p.Aliases...)
	for _, q := range r.plugins {
		for _, n := range names {
			if n == q.Class || slices.Contains(q.Aliases, n) {
				return fmt.Errorf("runner: plugin %s: name %q is already registered by %s", p.Class, n, q.Class)
			}
		}
	}
	r.plugins = append(r.plugins, &p)
	return nil
}

// Plugins returns the registered plugins sorted by class.
func (r *Runner) Plugins() []connect.Plugin {
	r.mu.Lock()
	out := make([]connect.Plugin, len(r.plugins))
	for i, p := range r.plugins {
		out[i] = *p
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b connect.Plugin) int { return strings.Compare(a.Class, b.Class) })
	return out
}

func simpleName(class string) string {
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		return class[i+1:]
	}
	return class
}

// lookupPlugin finds the plugin for a connector.class value, or nil.
func (r *Runner) lookupPlugin(name string) *connect.Plugin {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.plugins {
		if p.Class == name || slices.Contains(p.Aliases, name) {
			return p
		}
	}
	var found *connect.Plugin
	for _, p := range r.plugins {
		s := simpleName(p.Class)
		if s == name || (strings.HasSuffix(s, "Connector") && len(s) > len("Connector") && strings.TrimSuffix(s, "Connector") == name) {
			if found != nil {
				return nil // ambiguous
			}
			found = p
		}
	}
	return found
}

func (r *Runner) pluginNames() string {
	ps := r.Plugins()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Class
	}
	return strings.Join(names, ", ")
}

// checkConnectorConfig finds the config's plugin and validates the config.
func (r *Runner) checkConnectorConfig(config map[string]string) (*connect.Plugin, error) {
	class := strings.TrimSpace(config["connector.class"])
	if class == "" {
		return nil, &runnerError{kind: ErrInvalidConfig, msg: "Connector config " + javaMapString(maskConfig(config, nil, r.isProvider)) + " contains no connector type"}
	}
	p := r.lookupPlugin(class)
	if p == nil {
		return nil, &runnerError{kind: ErrInvalidConfig, err: ErrPluginNotFound,
			msg: "Failed to find any class that implements Connector and which name matches " + class + ", available connectors are: " + r.pluginNames()}
	}
	v := r.validate(p, config)
	if v.ErrorCount > 0 {
		var lines []string
		for _, c := range v.Configs {
			for _, e := range c.Errors {
				lines = append(lines, c.Key.Name+": "+e)
			}
		}
		return nil, &runnerError{kind: ErrInvalidConfig, msg: fmt.Sprintf(
			"Connector configuration is invalid and contains the following %d error(s):\n%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
			v.ErrorCount, strings.Join(lines, "\n"))}
	}
	return p, nil
}

// ValidateConfig validates a connector configuration against a plugin (PUT
// /connector-plugins/{plugin}/config/validate): the framework keys, then
// the plugin's Validate. A missing connector.class is taken to be plugin.
// It fails with ErrPluginNotFound for an unknown plugin, and with
// ErrInvalidConfig when connector.class names another plugin.
//
// Keys of config that are neither the framework's nor the plugin's (a typo
// such as errors.tolerence; see the warnings CreateConnector logs) follow
// the defined keys, sorted, each with a STRING definition and an error
// "The configuration 'errors.tolerence' was supplied but isn't a known
// config. Did you mean 'errors.tolerance'?", and Unknown set. They do not
// count in ErrorCount: Kafka Connect 4.3.1 lists no such entry and reports
// 0 errors for such a configuration (its ConfigDef validates defined keys
// only), so tools that gate on error_count behave as on Kafka Connect, and
// CreateConnector accepts the configuration (logging the warning), while a
// UI showing each key's errors shows the typo. When the plugin declares no
// Config, only keys in the framework's namespaces (errors.*, transforms.*,
// predicates.*, topic.creation.*, …) can be reported: any other key may be
// the plugin's own.
func (r *Runner) ValidateConfig(plugin string, config map[string]string) (ConfigValidation, error) {
	p := r.lookupPlugin(plugin)
	if p == nil {
		return ConfigValidation{}, &runnerError{kind: ErrPluginNotFound, msg: "Unknown connector plugin " + plugin + "; available connectors are: " + r.pluginNames()}
	}
	config = maps.Clone(config)
	if config == nil {
		config = map[string]string{}
	}
	if c, ok := config["connector.class"]; !ok || strings.TrimSpace(c) == "" {
		config["connector.class"] = p.Class
	} else if q := r.lookupPlugin(strings.TrimSpace(c)); q != p {
		return ConfigValidation{}, &runnerError{kind: ErrInvalidConfig, msg: "Included connector type " + c + " does not match request type " + plugin}
	}
	v := r.validate(p, config)
	v.Configs = append(v.Configs, unknownKeyResults(p, config, v, r.isProvider)...)
	return v, nil
}

// validate validates config against p as Kafka Connect does: with its
// config provider references resolved (so that a referenced value is
// checked, and the plugin's Validate sees it), showing the references as
// written (a password key's value too when it is nothing but references)
// and masking secrets (password keys' values, the passwords of a JAAS
// configuration, resolved values) in the messages, which may quote a
// value. When a reference cannot be resolved, the configuration is checked
// as written; the build then fails, naming the key and the provider.
func (r *Runner) validate(p *connect.Plugin, config map[string]string) ConfigValidation {
	resolved, values := config, []string(nil)
	if len(r.providers) > 0 {
		// The Runner's methods take no context; a provider's lookups are
		// bounded by their own timeouts.
		var err error
		resolved, values, err = configprovider.Resolve(context.Background(), r.providers, config)
		if err != nil {
			resolved, values = config, nil
		}
	}
	secrets := secretValues(resolved, p, r.cfg.Worker, values, r.isProvider)
	v := validateConfig(p, resolved, r.cfg.Worker, r.isProvider)
	for i, c := range v.Configs {
		if raw, ok := config[c.Key.Name]; ok && configprovider.HasVariables(raw) && (c.Value != MaskedValue || onlyReferences(raw, r.isProvider)) {
			v.Configs[i].Value = raw
		}
		for j, e := range c.Errors {
			c.Errors[j] = secrets.Scrub(e)
		}
	}
	return v
}

// PluginConfig returns the configuration keys of a plugin (GET
// /connector-plugins/{plugin}/config): for a connector, the framework's
// (those of Kafka Connect's SinkConnectorConfig or SourceConnectorConfig
// that Sluice applies), then the plugin's Config keys, one of which replaces
// a framework key of the same name in place. For a converter, header
// converter, transformation or predicate Sluice ships (PluginList, by class
// or simple class name) it returns an empty list: their registries do not
// describe their keys (Kafka Connect returns the component's ConfigDef).
// It fails with ErrPluginNotFound for an unknown plugin.
func (r *Runner) PluginConfig(plugin string) ([]connect.ConfigKey, error) {
	p := r.lookupPlugin(plugin)
	if p == nil {
		if _, ok := lookupComponent(plugin); ok {
			return []connect.ConfigKey{}, nil
		}
		return nil, &runnerError{kind: ErrPluginNotFound, msg: "Unknown connector plugin " + plugin}
	}
	return pluginKeys(p), nil
}

func pluginKeys(p *connect.Plugin) []connect.ConfigKey {
	keys := frameworkKeys(p.Type)
	for _, k := range p.Config {
		if i := slices.IndexFunc(keys, func(f connect.ConfigKey) bool { return f.Name == k.Name }); i >= 0 {
			keys[i] = k
		} else {
			keys = append(keys, k)
		}
	}
	for i := range keys {
		keys[i] = normalizeKey(keys[i])
	}
	return keys
}

func normalizeKey(k connect.ConfigKey) connect.ConfigKey {
	if k.Type == "" {
		k.Type = "STRING"
	}
	if k.Importance == "" {
		k.Importance = "MEDIUM"
	}
	if k.Width == "" {
		k.Width = "NONE"
	}
	if k.DisplayName == "" {
		k.DisplayName = k.Name
	}
	if k.Dependents == nil {
		k.Dependents = []string{}
	}
	return k
}

// frameworkKeys are the connector-level keys every connector has (a subset
// of Kafka Connect's ConnectorConfig and SinkConnectorConfig).
func frameworkKeys(typ string) []connect.ConfigKey {
	keys := []connect.ConfigKey{
		{Name: "name", Required: true, Importance: "HIGH", Group: "Common", Order: 1, Width: "MEDIUM", DisplayName: "Connector name",
			Documentation: "Globally unique name to use for this connector."},
		{Name: "connector.class", Required: true, Importance: "HIGH", Group: "Common", Order: 2, Width: "LONG", DisplayName: "Connector class",
			Documentation: "Name or alias of the connector plugin."},
		{Name: "tasks.max", Type: "INT", Default: "1", Importance: "HIGH", Group: "Common", Order: 3, Width: "SHORT", DisplayName: "Tasks max",
			Documentation: "Maximum number of tasks to use for this connector."},
		{Name: "key.converter", Type: "CLASS", Importance: "LOW", Group: "Common", Order: 4, Width: "SHORT", DisplayName: "Key converter class",
			Documentation: "Converter for record keys; overrides the worker's key.converter."},
		{Name: "value.converter", Type: "CLASS", Importance: "LOW", Group: "Common", Order: 5, Width: "SHORT", DisplayName: "Value converter class",
			Documentation: "Converter for record values; overrides the worker's value.converter."},
		{Name: "header.converter", Type: "CLASS", Importance: "LOW", Group: "Common", Order: 6, Width: "SHORT", DisplayName: "Header converter class",
			Documentation: "Converter for header values; overrides the worker's header.converter."},
		{Name: "transforms", Type: "LIST", Importance: "LOW", Group: "Transforms", Order: 1, Width: "LONG", DisplayName: "Transforms",
			Documentation: "Aliases of the transformations to apply to records, in order."},
		{Name: "predicates", Type: "LIST", Importance: "LOW", Group: "Predicates", Order: 1, Width: "LONG", DisplayName: "Predicates",
			Documentation: "Aliases of the predicates used by the transformations."},
		{Name: "errors.retry.timeout", Type: "LONG", Default: "0", Importance: "MEDIUM", Group: "Error Handling", Order: 1, Width: "MEDIUM", DisplayName: "Retry Timeout for Errors",
			Documentation: "Maximum duration in milliseconds that a failed operation is retried; 0 for no retries, -1 for infinite retries."},
		{Name: "errors.retry.delay.max.ms", Type: "LONG", Default: "60000", Importance: "MEDIUM", Group: "Error Handling", Order: 2, Width: "MEDIUM", DisplayName: "Maximum Delay Between Retries for Errors",
			Documentation: "Maximum duration in milliseconds between consecutive retries."},
		{Name: "errors.tolerance", Default: "none", Importance: "MEDIUM", Group: "Error Handling", Order: 3, Width: "SHORT", DisplayName: "Error Tolerance",
			Documentation: "Behavior for tolerating errors: 'none' fails the task, 'all' skips problematic records.", Recommended: []string{"none", "all"}},
		{Name: "errors.log.enable", Type: "BOOLEAN", Default: "false", Importance: "MEDIUM", Group: "Error Handling", Order: 4, Width: "SHORT", DisplayName: "Log Errors",
			Documentation: "Whether to log each failed operation and problematic record."},
		{Name: "errors.log.include.messages", Type: "BOOLEAN", Default: "false", Importance: "MEDIUM", Group: "Error Handling", Order: 5, Width: "SHORT", DisplayName: "Log Error Details",
			Documentation: "Whether to include the record's key, value and headers in the error log."},
		{Name: "errors.deadletterqueue.topic.name", Default: "", Importance: "MEDIUM", Group: "Error Handling", Order: 6, Width: "MEDIUM", DisplayName: "Dead Letter Queue Topic Name",
			Documentation: "Topic to which problematic records are written; empty disables the dead letter queue."},
		{Name: "errors.deadletterqueue.topic.replication.factor", Type: "SHORT", Default: "3", Importance: "MEDIUM", Group: "Error Handling", Order: 7, Width: "SHORT", DisplayName: "Dead Letter Queue Topic Replication Factor",
			Documentation: "Replication factor used when creating the dead letter queue topic."},
		{Name: "errors.deadletterqueue.context.headers.enable", Type: "BOOLEAN", Default: "false", Importance: "MEDIUM", Group: "Error Handling", Order: 8, Width: "MEDIUM", DisplayName: "Enable Error Context Headers",
			Documentation: "Whether to add __connect.errors.* headers describing the error to dead letter queue records."},
	}
	if typ == connect.TypeSource {
		keys = append(keys, exactlyOnceKeys()...)
	}
	if typ == connect.TypeSink {
		keys = append(keys,
			connect.ConfigKey{Name: "topics", Type: "LIST", Default: "", Importance: "HIGH", Group: "Common", Order: 7, Width: "LONG", DisplayName: "Topics",
				Documentation: "Topics to consume; exactly one of topics and topics.regex must be set."},
			connect.ConfigKey{Name: "topics.regex", Default: "", Importance: "HIGH", Group: "Common", Order: 8, Width: "LONG", DisplayName: "Topics regex",
				Documentation: "Regular expression of the topics to consume; exactly one of topics and topics.regex must be set."})
	}
	return keys
}

// exactlyOnceKeys are Kafka Connect's exactly-once keys of a source
// connector (SourceConnectorConfig, KIP-618), with its groups, orders and
// documentation. Sluice parses them in source.ConfigFromProperties.
func exactlyOnceKeys() []connect.ConfigKey {
	return []connect.ConfigKey{
		{Name: "exactly.once.support", Default: "requested", Importance: "MEDIUM", Group: "Exactly Once Support", Order: 2, Width: "SHORT", DisplayName: "Exactly once support",
			Recommended: []string{"requested", "required"},
			Documentation: `Permitted values are requested, required. If set to "required", forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration. ` +
				`Some connectors may be capable of providing exactly-once semantics but not signal to Connect that they support this; in that case, documentation for the connector should be consulted carefully before creating it, and the value for this property should be set to "requested". ` +
				`Additionally, if the value is set to "required" but the worker that performs preflight validation does not have exactly-once support enabled for source connectors, requests to create or validate the connector will fail.`},
		{Name: "transaction.boundary", Default: "poll", Importance: "MEDIUM", Group: "Exactly Once Support", Order: 3, Width: "SHORT", DisplayName: "Transaction Boundary",
			Recommended: []string{"poll", "interval", "connector"},
			Documentation: "Permitted values are: poll, interval, connector. If set to 'poll', a new producer transaction will be started and committed for every batch of records that each task from this connector provides to Connect. " +
				"If set to 'connector', relies on connector-defined transaction boundaries; note that not all connectors are capable of defining their own transaction boundaries, and in that case, attempts to instantiate a connector with this value will fail. " +
				"Finally, if set to 'interval', commits transactions only after a user-defined time interval has passed."},
		{Name: "transaction.boundary.interval.ms", Type: "LONG", Default: "", Importance: "LOW", Group: "Exactly Once Support", Order: 4, Width: "SHORT", DisplayName: "Transaction boundary interval",
			Documentation: "If 'transaction.boundary' is set to 'interval', determines the interval for producer transaction commits by connector tasks. " +
				"If unset, defaults to the value of the worker-level 'offset.flush.interval.ms' property. It has no effect if a different transaction.boundary is specified."},
		{Name: "offsets.storage.topic", Default: "", Importance: "LOW", Group: "offsets.topic", Order: 1, Width: "LONG", DisplayName: "Offsets topic",
			Documentation: "The name of a separate offsets topic to use for this connector. If empty or not specified, the worker’s global offsets topic name will be used. " +
				"If specified, the offsets topic will be created if it does not already exist on the Kafka cluster targeted by this connector. " +
				"Sluice applies it in every mode (Kafka Connect only in distributed mode)."},
	}
}

// validateExactlyOnceKeys checks the values of exactlyOnceKeys as Kafka
// Connect's validators do (case-insensitive choices, a non-negative
// interval, a non-empty topic), with their messages.
func validateExactlyOnceKeys(config map[string]string, add func(k, msg string)) {
	for _, k := range exactlyOnceKeys()[:2] {
		v, ok := config[k.Name]
		if ok && !slices.ContainsFunc(k.Recommended, func(r string) bool { return strings.EqualFold(r, strings.TrimSpace(v)) }) {
			add(k.Name, fmt.Sprintf("Invalid value %s for configuration %s: String must be one of (case insensitive): %s", v, k.Name, strings.Join(k.Recommended, ", ")))
		}
	}
	if v, ok := config["transaction.boundary.interval.ms"]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n < 0 {
			add("transaction.boundary.interval.ms", fmt.Sprintf("Invalid value %s for configuration transaction.boundary.interval.ms: Value must be at least 0", v))
		}
	}
	if v, ok := config["offsets.storage.topic"]; ok && strings.TrimSpace(v) == "" {
		add("offsets.storage.topic", fmt.Sprintf("Invalid value %s for configuration offsets.storage.topic: String must be non-empty", v))
	}
}

// validateConfig checks config (whose connector.class names p) against the
// framework rules and p.Validate; isProvider tells the Runner's config
// providers (see onlyReferences).
func validateConfig(p *connect.Plugin, config, worker map[string]string, isProvider func(string) bool) ConfigValidation {
	keys := pluginKeys(p)
	errs := map[string][]string{}
	add := func(k, msg string) { errs[k] = append(errs[k], msg) }

	for _, k := range keys {
		v, ok := config[k.Name]
		if k.Required && (!ok || strings.TrimSpace(v) == "") {
			add(k.Name, fmt.Sprintf("Missing required configuration %q which has no default value.", k.Name))
			continue
		}
		if !ok {
			continue
		}
		if msg := checkType(k, v); msg != "" {
			add(k.Name, msg)
		}
	}
	if v, ok := config["tasks.max"]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n < 1 {
			add("tasks.max", fmt.Sprintf("Invalid value %s for configuration tasks.max: Value must be at least 1", v))
		}
	}
	if v, ok := config["errors.tolerance"]; ok {
		if t := strings.ToLower(strings.TrimSpace(v)); t != "none" && t != "all" {
			add("errors.tolerance", fmt.Sprintf("Invalid value %s for configuration errors.tolerance: String must be one of: none, all", v))
		}
	}
	if v, ok := config["errors.retry.timeout"]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n < -1 {
			add("errors.retry.timeout", fmt.Sprintf("Invalid value %s for configuration errors.retry.timeout: Value must be at least -1", v))
		}
	}
	if v, ok := config["errors.retry.delay.max.ms"]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n < 1 {
			add("errors.retry.delay.max.ms", fmt.Sprintf("Invalid value %s for configuration errors.retry.delay.max.ms: Value must be at least 1", v))
		}
	}
	if p.Type == connect.TypeSource {
		validateExactlyOnceKeys(config, add)
		// Kafka Connect's preflight (DistributedHerder): required needs a
		// worker with exactly-once support; the connector's own
		// declarations are checked by source.Plugin's Validate.
		if strings.EqualFold(strings.TrimSpace(config["exactly.once.support"]), "required") &&
			!strings.EqualFold(strings.TrimSpace(worker["exactly.once.source.support"]), "enabled") {
			add("exactly.once.support", "This worker does not have exactly-once source support enabled.")
		}
	}
	if p.Type == connect.TypeSink {
		topics, regex := strings.TrimSpace(config["topics"]), strings.TrimSpace(config["topics.regex"])
		switch {
		case topics == "" && regex == "":
			add("topics", "Must configure one of topics or topics.regex")
			add("topics.regex", "Must configure one of topics or topics.regex")
		case topics != "" && regex != "":
			add("topics", "topics and topics.regex are mutually exclusive options, but both are set.")
			add("topics.regex", "topics and topics.regex are mutually exclusive options, but both are set.")
		}
	}
	if p.Validate != nil {
		for _, is := range p.Validate(maps.Clone(config)) {
			if !slices.ContainsFunc(keys, func(k connect.ConfigKey) bool { return k.Name == is.Key }) {
				keys = append(keys, normalizeKey(connect.ConfigKey{Name: is.Key, Group: "Connector"}))
			}
			add(is.Key, is.Message)
		}
	}

	out := ConfigValidation{Class: p.Class, Groups: []string{}, Configs: make([]ConfigResult, 0, len(keys))}
	for _, k := range keys {
		if k.Group != "" && !slices.Contains(out.Groups, k.Group) {
			out.Groups = append(out.Groups, k.Group)
		}
		v, ok := config[k.Name]
		if ok && (k.Type == "PASSWORD" || isPasswordKey(k.Name, p)) && !onlyReferences(v, isProvider) {
			v = MaskedValue
		}
		e := errs[k.Name]
		if e == nil {
			e = []string{}
		}
		out.ErrorCount += len(e)
		out.Configs = append(out.Configs, ConfigResult{Key: k, Value: v, HasValue: ok, Errors: e, Visible: true})
	}
	return out
}

// checkType checks a value against a ConfigDef type, returning Kafka's
// message on failure.
func checkType(k connect.ConfigKey, v string) string {
	t := strings.TrimSpace(v)
	bad := func(typ string) string {
		return fmt.Sprintf("Invalid value %s for configuration %s: Not a number of type %s", v, k.Name, typ)
	}
	switch k.Type {
	case "INT":
		if _, err := strconv.ParseInt(t, 10, 32); err != nil {
			return bad("INT")
		}
	case "LONG":
		if _, err := strconv.ParseInt(t, 10, 64); err != nil {
			return bad("LONG")
		}
	case "SHORT":
		if _, err := strconv.ParseInt(t, 10, 16); err != nil {
			return bad("SHORT")
		}
	case "DOUBLE":
		if _, err := strconv.ParseFloat(t, 64); err != nil {
			return bad("DOUBLE")
		}
	case "BOOLEAN":
		if l := strings.ToLower(t); l != "true" && l != "false" {
			return fmt.Sprintf("Invalid value %s for configuration %s: Expected value to be either true or false", v, k.Name)
		}
	}
	return ""
}

// MaskedValue replaces secret values in responses, logs, status traces,
// error messages and dead-letter queue headers (Kafka's
// Password.toString()).
const MaskedValue = redact.Mask

// passwordSuffixes are key endings whose values are secret.
var passwordSuffixes = []string{
	".password", "sasl.jaas.config", "basic.auth.user.info",
	"ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.certificates",
	"sasl.oauthbearer.client.credentials.client.secret", "sasl.oauthbearer.assertion.private.key.passphrase",
}

// IsPasswordKey reports whether a configuration key's value is a secret by
// name: a key whose last dot-separated segment is "password" (so
// ssl.key.password, ssl.keystore.password, ssl.truststore.password,
// connection.password, …), or one ending in sasl.jaas.config,
// basic.auth.user.info, ssl.keystore.key, ssl.keystore.certificate.chain,
// ssl.truststore.certificates,
// sasl.oauthbearer.client.credentials.client.secret or
// sasl.oauthbearer.assertion.private.key.passphrase (Kafka 4.3's
// PASSWORD-typed client keys), with any prefix (producer.override.,
// value.converter., …).
func IsPasswordKey(key string) bool {
	k := strings.ToLower(key)
	if k == "password" {
		return true
	}
	for _, s := range passwordSuffixes {
		if k == s || strings.HasSuffix(k, "."+strings.TrimPrefix(s, ".")) {
			return true
		}
	}
	return false
}

func isPasswordKey(key string, p *connect.Plugin) bool {
	if IsPasswordKey(key) {
		return true
	}
	if p == nil {
		return false
	}
	if slices.Contains(p.PasswordKeys, key) {
		return true
	}
	return slices.ContainsFunc(p.Config, func(k connect.ConfigKey) bool { return k.Name == key && k.Type == "PASSWORD" })
}

// MaskConfig returns a copy of config whose secret values (IsPasswordKey,
// or a key in extra) are MaskedValue, unless such a value is nothing but
// config provider references (${file:/path:key}): a reference names where
// the secret is, and is shown as Kafka Connect shows it.
func MaskConfig(config map[string]string, extra ...string) map[string]string {
	return maskConfig(config, &connect.Plugin{PasswordKeys: extra}, anyProvider)
}

// anyProvider is MaskConfig's view of config providers: without a Runner,
// any ${name:…} is taken for a reference.
func anyProvider(string) bool { return true }

// maskConfig is MaskConfig with p's password keys, references counting
// only to providers isProvider knows (see onlyReferences).
func maskConfig(config map[string]string, p *connect.Plugin, isProvider func(string) bool) map[string]string {
	out := make(map[string]string, len(config))
	for k, v := range config {
		if isPasswordKey(k, p) && !onlyReferences(v, isProvider) {
			v = MaskedValue
		}
		out[k] = v
	}
	return out
}

// javaMapString formats a map as Java's AbstractMap.toString, keys sorted.
func javaMapString(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// logConfig is a masked configuration as a log value, keys sorted.
type logConfig map[string]string

// String implements fmt.Stringer for log handlers.
func (c logConfig) String() string { return javaMapString(c) }

// Plugin types GET /connector-plugins?connectorsOnly=false reports besides
// [connect.TypeSource] and [connect.TypeSink]: Kafka Connect's
// PluginType names.
const (
	PluginTypeConverter       = "converter"
	PluginTypeHeaderConverter = "header_converter"
	PluginTypeTransformation  = "transformation"
	PluginTypePredicate       = "predicate"
)

// PluginInfo is one entry of GET /connector-plugins, as Kafka Connect's
// PluginInfo: the plugin's class, its type (source, sink, converter,
// header_converter, transformation or predicate) and its version.
type PluginInfo struct {
	Class, Type, Version string
}

// builtinComponents are the converters, header converters, transformations
// and predicates Sluice ships, by Kafka Connect class name: those of
// converters.DefaultRegistry and converters/avro (which the source and sink
// property parsers register), and those of transforms.NewRegistry under
// Kafka Connect's packages. The Runner does not import those packages (it
// supervises pipelines through package connect only); a test checks this
// table against the registries.
var builtinComponents = func() []PluginInfo {
	const conv, tr, pred = "org.apache.kafka.connect.converters.", "org.apache.kafka.connect.transforms.", "org.apache.kafka.connect.transforms.predicates."
	var out []PluginInfo
	add := func(typ string, classes ...string) {
		for _, c := range classes {
			out = append(out, PluginInfo{Class: c, Type: typ})
		}
	}
	kv := []string{
		conv + "BooleanConverter", conv + "ByteArrayConverter", conv + "DoubleConverter", conv + "FloatConverter",
		conv + "IntegerConverter", conv + "LongConverter", conv + "ShortConverter",
		"org.apache.kafka.connect.json.JsonConverter", "org.apache.kafka.connect.storage.StringConverter",
	}
	add(PluginTypeConverter, append([]string{"io.confluent.connect.avro.AvroConverter"}, kv...)...)
	add(PluginTypeHeaderConverter, append(kv, "org.apache.kafka.connect.storage.SimpleHeaderConverter")...)
	for _, s := range []string{"Cast", "ExtractField", "Flatten", "HeaderFrom", "HoistField", "InsertField", "MaskField", "ReplaceField", "SetSchemaMetadata", "TimestampConverter"} {
		add(PluginTypeTransformation, tr+s+"$Key", tr+s+"$Value")
	}
	add(PluginTypeTransformation, tr+"DropHeaders", tr+"Filter", tr+"InsertHeader", tr+"RegexRouter", tr+"TimestampRouter", tr+"ValueToKey")
	add(PluginTypePredicate, pred+"HasHeaderKey", pred+"RecordIsTombstone", pred+"TopicNameMatches")
	return out
}()

// pluginTypeOrder is the order of Kafka Connect's ConnectorPluginsResource:
// sink connectors, source connectors, transformations, predicates,
// converters, header converters (each sorted by class).
var pluginTypeOrder = []string{connect.TypeSink, connect.TypeSource, PluginTypeTransformation, PluginTypePredicate, PluginTypeConverter, PluginTypeHeaderConverter}

// PluginList returns what GET /connector-plugins lists, in Kafka Connect's
// order: the registered sink connectors, then the source connectors, each
// sorted by class; unless connectorsOnly, followed by the transformations,
// predicates, converters and header converters Sluice ships (with their
// Kafka Connect class names; a class that is both a converter and a header
// converter is listed under each type, as Kafka Connect does). Every entry
// has a version: the plugin's [connect.Plugin].Version, else the Runner's
// Config.Version (Sluice's version by default, what GET / reports), as
// Kafka Connect reports its own version for its built-in plugins.
//
// Converters, transformations and predicates registered on a registry of
// the application's own (converters.Registry, transforms.Registry) are not
// listed: the Runner does not see those registries. Safe for concurrent
// use.
func (r *Runner) PluginList(connectorsOnly bool) []PluginInfo {
	var out []PluginInfo
	for _, p := range r.Plugins() {
		out = append(out, PluginInfo{Class: p.Class, Type: p.Type, Version: r.pluginVersion(&p)})
	}
	if !connectorsOnly {
		for _, c := range builtinComponents {
			c.Version = r.cfg.Version
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b PluginInfo) int {
		if d := slices.Index(pluginTypeOrder, a.Type) - slices.Index(pluginTypeOrder, b.Type); d != 0 {
			return d
		}
		return strings.Compare(a.Class, b.Class)
	})
	return out
}

// pluginVersion is the version Sluice reports for a connector plugin (nil
// for a pipeline built in Go): its Version, else the Runner's.
func (r *Runner) pluginVersion(p *connect.Plugin) string {
	if p != nil && p.Version != "" {
		return p.Version
	}
	return r.cfg.Version
}

// lookupComponent finds a built-in converter, header converter,
// transformation or predicate by class or simple class name (e.g.
// "JsonConverter", "Cast$Value"), or returns false.
func lookupComponent(name string) (PluginInfo, bool) {
	for _, c := range builtinComponents {
		if c.Class == name || simpleName(c.Class) == name {
			return c, true
		}
	}
	return PluginInfo{}, false
}

// ValidVersionSpec reports whether v is a plugin version specification
// Kafka Connect accepts in GET /connector-plugins/{plugin}/config?version=
// (PluginUtils.connectorVersionRequirement): "latest", a version ("1.2",
// taken as exactly that version) or a Maven version range ("[1.0,2.0)",
// "[1.0,)", "(,1.0],[1.2,)"). Unbalanced or malformed ranges and ranges
// whose bounds are out of order are refused; overlapping ranges are not
// detected (Kafka Connect refuses them too).
func ValidVersionSpec(v string) bool {
	spec := strings.TrimSpace(v)
	if v == "latest" {
		return true
	}
	n, ok := versionRanges(spec)
	if !ok {
		return false
	}
	if n == 0 {
		// A plain version: Kafka Connect requires exactly it ("[v]").
		_, ok = versionRanges("[" + spec + "]")
	}
	return ok
}

// versionRanges parses a Maven version range specification as
// VersionRange.createFromVersionSpec does, returning how many ranges it
// holds (0 for a plain version) and whether it is valid.
func versionRanges(spec string) (int, bool) {
	n := 0
	rest := spec
	for strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, "(") {
		i1, i2 := strings.IndexByte(rest, ')'), strings.IndexByte(rest, ']')
		i := i2
		if i2 < 0 || (i1 >= 0 && i1 < i2) {
			i = i1
		}
		if i < 0 {
			return 0, false // Unbounded range
		}
		if !validRestriction(rest[:i+1]) {
			return 0, false
		}
		n++
		rest = strings.TrimSpace(rest[i+1:])
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
		}
	}
	if rest != "" && n > 0 {
		return 0, false // Only fully-qualified sets allowed in multiple set scenario
	}
	return n, true
}

// validRestriction checks one "[low,high)" part of a version range.
func validRestriction(r string) bool {
	lowIncl, highIncl := r[0] == '[', r[len(r)-1] == ']'
	inner := strings.TrimSpace(r[1 : len(r)-1])
	low, high, isRange := strings.Cut(inner, ",")
	if !isRange {
		return lowIncl && highIncl // a single version must be surrounded by []
	}
	low, high = strings.TrimSpace(low), strings.TrimSpace(high)
	return low == "" || high == "" || compareVersions(high, low) >= 0
}

// compareVersions orders two versions roughly as Maven's ComparableVersion:
// dot- and dash-separated parts, numbers numerically and after words.
func compareVersions(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, ex := strconv.ParseUint(x, 10, 64)
		ny, ey := strconv.ParseUint(y, 10, 64)
		switch {
		case x == y:
			continue
		case ex == nil && ey == nil:
			return cmpUint(nx, ny)
		case x == "":
			return -1
		case y == "":
			return 1
		case ex == nil:
			return 1
		case ey == nil:
			return -1
		default:
			return strings.Compare(x, y)
		}
	}
	return 0
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// version is the version statuses report for the connector (see
// ConnectorReport.Version).
func (s *slot) version() string {
	s.mu.Lock()
	p := s.plugin
	s.mu.Unlock()
	return s.r.pluginVersion(p)
}
