package kafkaconf

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// AdminKeys are the admin client keys ApplyAdminProps maps, besides the
// security keys.
var AdminKeys = []string{"client.id", "request.timeout.ms", "default.api.timeout.ms", "retries", "retry.backoff.ms"}

// ApplyAdminProps applies Kafka admin client properties (admin.* worker keys,
// admin.override.* connector keys, prefixes stripped) to cfg, like
// ApplyProducerProps. Mapped keys: client.id, request.timeout.ms and
// default.api.timeout.ms (sarama's Admin.Timeout: the larger of those set,
// as a Java admin call is bounded by both), retries, retry.backoff.ms,
// bootstrap.servers (ignored here: the caller owns addresses) and the
// security keys, applied together by ApplySecurity. Other keys are
// returned, prefix prepended, for the caller to warn about.
func ApplyAdminProps(cfg *sarama.Config, prefix string, props map[string]string) (unmapped []string, err error) {
	var timeout time.Duration
	for _, k := range slices.Sorted(maps.Keys(props)) {
		name := prefix + k
		v := strings.TrimSpace(props[k])
		switch k {
		case "client.id":
			cfg.ClientID = v
		case "request.timeout.ms", "default.api.timeout.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			if d <= 0 {
				return nil, fmt.Errorf("%s: must be > 0, got %q", name, v)
			}
			timeout = max(timeout, d)
		case "retries":
			n, err := ParseInt(name, v, 0)
			if err != nil {
				return nil, err
			}
			cfg.Admin.Retry.Max = n
		case "retry.backoff.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Admin.Retry.Backoff = d
		case "bootstrap.servers":
		default:
			if !IsSecurityKey(k) {
				unmapped = append(unmapped, name)
			}
		}
	}
	if timeout > 0 {
		cfg.Admin.Timeout = timeout
	}
	if err := ApplySecurity(cfg, props, func(k string) string { return prefix + k }); err != nil {
		return nil, err
	}
	return unmapped, nil
}

// UsedSecurityProps returns props without the ssl.* and sasl.* keys that
// the security.protocol in props does not use, among those lenient
// accepts (nil: all); the dropped keys are returned in ignored, sorted.
// Kafka's clients ignore the keys of a protocol they do not speak; Sluice
// refuses them (ApplySecurity) where they can only be a mistake, and drops
// them where a worker's top-level keys may serve something else, such as
// the REST API's https listeners. An unknown protocol keeps every key, so
// that ApplySecurity reports the protocol.
func UsedSecurityProps(props map[string]string, lenient func(k string) bool) (used map[string]string, ignored []string) {
	var useTLS, useSASL bool
	switch strings.ToUpper(strings.TrimSpace(props["security.protocol"])) {
	case "", "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		useTLS, useSASL = true, true
	}
	used = make(map[string]string, len(props))
	for k, v := range props {
		unused := strings.HasPrefix(k, "ssl.") && !useTLS || strings.HasPrefix(k, "sasl.") && !useSASL
		if unused && (lenient == nil || lenient(k)) {
			ignored = append(ignored, k)
			continue
		}
		used[k] = v
	}
	slices.Sort(ignored)
	return used, ignored
}

// WorkerSecurityProps returns the security keys among a Kafka Connect
// worker's top-level (unprefixed) properties that configure the worker's own
// Kafka clients and, in Kafka Connect, the connectors' admin clients:
// security.protocol, the ssl.* keys when it names a TLS protocol (SSL,
// SASL_SSL) and the sasl.* keys when it names a SASL one. The other ssl.*
// and sasl.* keys are returned in ignored, sorted: the top-level ssl.* keys
// also configure the REST API's https listeners, and Kafka's clients do not
// use the keys of a protocol they do not speak. Without security.protocol
// (PLAINTEXT) every ssl.* and sasl.* key is ignored.
func WorkerSecurityProps(worker map[string]string) (props map[string]string, ignored []string) {
	return UsedSecurityProps(SecurityProps(worker), nil)
}

// AdminConfig returns the configuration of an admin client: a copy of
// fallback (the configuration of the task client it serves, whose security
// settings then stand) when props hold no security key, else a copy of
// base (nil: Sluice's defaults), with props applied by ApplyAdminProps,
// prefix naming the keys in errors and in the returned unmapped list.
// clientID, when not empty, is the client id unless props set client.id.
func AdminConfig(base, fallback *sarama.Config, clientID, prefix string, props map[string]string) (cfg *sarama.Config, unmapped []string, err error) {
	var c sarama.Config
	switch {
	case len(SecurityProps(props)) == 0 && fallback != nil:
		c = *fallback
	case base != nil:
		c = *base
	default:
		c = *NewSaramaConfig("")
	}
	if clientID != "" {
		c.ClientID = clientID
	}
	if unmapped, err = ApplyAdminProps(&c, prefix, props); err != nil {
		return nil, nil, err
	}
	return &c, unmapped, nil
}
