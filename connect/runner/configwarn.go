package runner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// Configuration warnings: keys a connector configuration supplies that
// nothing reads (typos such as errors.tolerence), and settings whose effect
// differs from what they suggest. Kafka Connect 4.3.1 itself does not warn
// about unknown connector keys (its connect-runtime never calls
// AbstractConfig.logUnused, and its validate lists defined keys only); the
// wording is that of Kafka's classic AbstractConfig warning, "The
// configuration '<key>' was supplied but isn't a known config.".

// extraConnectorKeys are connector-level keys that are neither in
// frameworkKeys (what GET /connector-plugins/{plugin}/config describes) nor
// under a known prefix, but that Kafka Connect's ConnectorConfig defines or
// that Sluice reads from the connector configuration.
var extraConnectorKeys = []string{
	// Kafka Connect's ConnectorConfig (4.3.1).
	"connector.plugin.version", "key.converter.plugin.version", "value.converter.plugin.version",
	"header.converter.plugin.version", "tasks.max.enforce", "config.action.reload",
	// Sluice's: window-mode tolerance (package errors) and the worker keys
	// a connector may override (internal/connprops).
	"errors.tolerance.window.size", "errors.tolerance.window.max.failures",
	"bootstrap.servers", "offset.flush.interval.ms", "offset.flush.timeout.ms", "task.shutdown.graceful.timeout.ms",
}

// knownPrefixes are prefixes whose keys are always known: the clients'
// overrides (Kafka Connect's connector.client.config.override.policy
// decides about them), the converters' sub-keys (see converterWarnings) and
// Sluice's own sluice.* keys.
var knownPrefixes = []string{
	"producer.override.", "consumer.override.", "admin.override.",
	"key.converter.", "value.converter.", "header.converter.", "sluice.",
}

// frameworkNamespaces are the key prefixes the framework owns: a key under
// one of them that the framework does not define is unknown even when the
// plugin declares no Config (its own keys cannot be told from typos then).
var frameworkNamespaces = []string{
	"errors.", "transforms.", "predicates.", "topic.creation.", "exactly.once.", "transaction.boundary",
	"tasks.", "connector.", "offsets.storage.", "config.action.",
}

// unknownKey is a configuration key nothing reads, with the closest known
// key (edit distance at most 2) or "".
type unknownKey struct {
	Key, DidYouMean string
}

// message is Kafka's classic wording, with the hint.
func (u unknownKey) message() string {
	m := fmt.Sprintf("The configuration '%s' was supplied but isn't a known config.", u.Key)
	if u.DidYouMean != "" {
		m += fmt.Sprintf(" Did you mean '%s'?", u.DidYouMean)
	}
	return m
}

// unknownKeys returns, sorted, the keys of config that are unknown for a
// connector of plugin p (nil for a pipeline built in Go, whose type is then
// typ, "" when not known yet). Known are: the framework keys of the type
// (frameworkKeys, both types' when typ is ""), extraConnectorKeys,
// knownPrefixes, transforms.<alias>.* and predicates.<alias>.* for the
// aliases the transforms and predicates keys list,
// topic.creation.<group>.* for default and the groups topic.creation.groups
// lists (sources), and the plugin's Config keys. When the plugin declares
// no Config (or there is no plugin) only keys under frameworkNamespaces can
// be unknown: any other key may be the plugin's own.
func unknownKeys(p *connect.Plugin, typ string, config map[string]string) []unknownKey {
	if p != nil {
		typ = p.Type
	}
	var known []string
	addKeys := func(ks []connect.ConfigKey) {
		for _, k := range ks {
			if !slices.Contains(known, k.Name) {
				known = append(known, k.Name)
			}
		}
	}
	source, sink := typ != connect.TypeSink, typ != connect.TypeSource
	if source {
		addKeys(frameworkKeys(connect.TypeSource))
		known = append(known, "topic.creation.groups")
	}
	if sink {
		addKeys(frameworkKeys(connect.TypeSink))
	}
	known = append(known, extraConnectorKeys...)
	declared := p != nil && len(p.Config) > 0
	if declared {
		addKeys(p.Config)
	}
	var prefixes []string
	transforms, predicates := configList(config["transforms"]), configList(config["predicates"])
	for _, a := range transforms {
		prefixes = append(prefixes, "transforms."+a+".")
	}
	for _, a := range predicates {
		prefixes = append(prefixes, "predicates."+a+".")
	}
	if source {
		for _, g := range append([]string{"default"}, configList(config["topic.creation.groups"])...) {
			prefixes = append(prefixes, "topic.creation."+g+".")
		}
	}
	hasPrefix := func(k string, ps []string) bool {
		return slices.ContainsFunc(ps, func(p string) bool { return strings.HasPrefix(k, p) })
	}

	var out []unknownKey
	for k := range config {
		if slices.Contains(known, k) || hasPrefix(k, knownPrefixes) || hasPrefix(k, prefixes) {
			continue
		}
		if !declared && !hasPrefix(k, frameworkNamespaces) {
			continue
		}
		out = append(out, unknownKey{Key: k, DidYouMean: didYouMean(k, known, transforms, predicates)})
	}
	slices.SortFunc(out, func(a, b unknownKey) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// didYouMean returns the known key closest to k within edit distance 2
// (the first in known's order on ties), trying the listed transform and
// predicate aliases for a transforms.<x>.* or predicates.<x>.* key, or "".
func didYouMean(k string, known, transforms, predicates []string) string {
	best, bestD := "", 3
	try := func(c string) {
		if d := levenshtein(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	for _, c := range known {
		try(c)
	}
	for _, ns := range []struct {
		prefix  string
		aliases []string
	}{{"transforms.", transforms}, {"predicates.", predicates}} {
		rest, ok := strings.CutPrefix(k, ns.prefix)
		if !ok {
			continue
		}
		if _, sub, ok := strings.Cut(rest, "."); ok {
			for _, a := range ns.aliases {
				try(ns.prefix + a + "." + sub)
			}
		}
	}
	return best
}

// configList splits a LIST value as Kafka's ConfigDef does: comma
// separated, trimmed, empty items dropped.
func configList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// levenshtein is the edit distance between a and b (bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// converterWarnings returns a warning per converter (key, value, header)
// whose connector-level sub-keys are set while the connector does not name
// that converter: the converter is then the worker's, configured from the
// worker's properties only (Sluice's connprops.classProps, as Kafka
// Connect's Worker), so the connector's sub-keys have no effect. The
// converters' plugin.version keys are framework keys and not reported.
func converterWarnings(config map[string]string) []string {
	var out []string
	for _, c := range []string{"key.converter", "value.converter", "header.converter"} {
		if strings.TrimSpace(config[c]) != "" {
			continue
		}
		var keys []string
		for k := range config {
			if strings.HasPrefix(k, c+".") && k != c+".plugin.version" {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		out = append(out, fmt.Sprintf("The configuration %s has no effect: the connector does not set %s, so it uses the worker's %s, which is configured from the worker's %s.* properties only.",
			strings.Join(keys, ", "), c, c, c))
	}
	return out
}

// dlqWarning returns the warning for a dead letter queue under
// errors.tolerance=none, or "". Such a queue is not without effect: as
// Kafka Connect 4.3.1's RetryWithToleranceOperator (which reports a failed
// record in a finally block before the tolerance check), Sluice's error
// handler hands the record that fails the task to every reporter, the dead
// letter queue included; it is the only record the queue receives.
func dlqWarning(config map[string]string) string {
	if strings.TrimSpace(config["errors.deadletterqueue.topic.name"]) == "" {
		return ""
	}
	if t := strings.ToLower(strings.TrimSpace(config["errors.tolerance"])); t != "" && t != "none" {
		return ""
	}
	return fmt.Sprintf("errors.deadletterqueue.topic.name=%s is set under errors.tolerance=none: only the record that fails the task is written to the dead letter queue, and the task then fails; set errors.tolerance=all to write every failed record there and keep the task running.",
		strings.TrimSpace(config["errors.deadletterqueue.topic.name"]))
}

// warnConfig logs, at WARN on the Runner's logger with the connector's
// name, every unknown key of config (see unknownKeys) with Kafka's classic
// wording and a did-you-mean hint, the converter sub-keys that have no
// effect (converterWarnings) and what a dead letter queue does under
// errors.tolerance=none (dlqWarning). It is called when a configuration is
// submitted: CreateConnector, PutConnectorConfig, PatchConnectorConfig
// (and so the REST create and update), AddPipeline and UpdatePipeline with
// a configuration. Values are never logged.
func (r *Runner) warnConfig(name string, p *connect.Plugin, typ string, config map[string]string) {
	log := r.log.With("connector", name)
	for _, u := range unknownKeys(p, typ, config) {
		attrs := []any{"key", u.Key}
		if u.DidYouMean != "" {
			attrs = append(attrs, "did_you_mean", u.DidYouMean)
		}
		log.Warn(u.message(), attrs...)
	}
	for _, w := range converterWarnings(config) {
		log.Warn(w)
	}
	if w := dlqWarning(config); w != "" {
		log.Warn(w)
	}
}

// unknownKeyResults returns validate entries for the unknown keys of
// config not already in v: a STRING definition and the key's value (masked
// if it is a password key or the key it is closest to is one) whose errors
// hold the warning. They do
// not count in ErrorCount (see ConfigResult.Unknown).
func unknownKeyResults(p *connect.Plugin, config map[string]string, v ConfigValidation, isProvider func(string) bool) []ConfigResult {
	var out []ConfigResult
	for _, u := range unknownKeys(p, "", config) {
		if slices.ContainsFunc(v.Configs, func(c ConfigResult) bool { return c.Key.Name == u.Key }) {
			continue
		}
		val := config[u.Key]
		// A misspelt password key's value is a secret too.
		secret := isPasswordKey(u.Key, p) || (u.DidYouMean != "" && isPasswordKey(u.DidYouMean, p))
		if secret && !onlyReferences(val, isProvider) {
			val = MaskedValue
		}
		out = append(out, ConfigResult{
			Key:   normalizeKey(connect.ConfigKey{Name: u.Key, Importance: "LOW", Order: -1, Documentation: "Not a configuration key of the connector or of the framework."}),
			Value: val, HasValue: true, Errors: []string{u.message()}, Visible: true, Unknown: true,
		})
	}
	return out
}
