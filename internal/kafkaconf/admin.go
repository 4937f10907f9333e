package kafkaconf

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/IBM/sarama"
)

// ApplyAdminProps applies Kafka admin client properties (admin.* worker keys,
// admin.override.* connector keys, prefixes stripped) to cfg, like
// ApplyProducerProps. Mapped keys: client.id, request.timeout.ms (sarama's
// Admin.Timeout), default.api.timeout.ms (also Admin.Timeout; the larger
// of the two wins, as a Java admin call is bounded by both), retries,
// retry.backoff.ms, bootstrap.servers (ignored here: the caller owns
// addresses) and the security keys, applied together by ApplySecurity.
// Other keys are returned, prefix prepended, for the caller to warn about.
func ApplyAdminProps(cfg *sarama.Config, prefix string, props map[string]string) (unmapped []string, err error) {
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
			cfg.Admin.Timeout = max(cfg.Admin.Timeout, d)
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
	if err := ApplySecurity(cfg, props, func(k string) string { return prefix + k }); err != nil {
		return nil, err
	}
	return unmapped, nil
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
	props = map[string]string{}
	var useTLS, useSASL bool
	if p, ok := worker["security.protocol"]; ok {
		props["security.protocol"] = p
		switch strings.ToUpper(strings.TrimSpace(p)) {
		case "SSL":
			useTLS = true
		case "SASL_PLAINTEXT":
			useSASL = true
		case "SASL_SSL":
			useTLS, useSASL = true, true
		case "PLAINTEXT":
		default:
			// An unknown protocol: keep every key, so that ApplySecurity
			// reports the protocol (and nothing is dropped unsaid).
			useTLS, useSASL = true, true
		}
	}
	for k, v := range worker {
		switch {
		case k == "security.protocol":
		case strings.HasPrefix(k, "ssl.") && useTLS, strings.HasPrefix(k, "sasl.") && useSASL:
			props[k] = v
		case strings.HasPrefix(k, "ssl."), strings.HasPrefix(k, "sasl."):
			ignored = append(ignored, k)
		}
	}
	slices.Sort(ignored)
	return props, ignored
}

// AdminConfig returns the configuration of an admin client: when props is
// nil, a copy of fallback (the configuration of the task client it serves:
// its security settings stand); otherwise a copy of base (nil: Sluice's
// defaults) with props applied by ApplyAdminProps, prefix naming the keys
// in errors and in the returned unmapped list. clientID, when not empty,
// is the client id unless props set client.id.
func AdminConfig(base, fallback *sarama.Config, clientID, prefix string, props map[string]string) (cfg *sarama.Config, unmapped []string, err error) {
	var c sarama.Config
	switch {
	case props == nil && fallback != nil:
		c = *fallback
	case base != nil:
		c = *base
	default:
		c = *NewSaramaConfig("")
	}
	if clientID != "" {
		c.ClientID = clientID
	}
	if props != nil {
		if unmapped, err = ApplyAdminProps(&c, prefix, props); err != nil {
			return nil, nil, err
		}
	}
	return &c, unmapped, nil
}
