package runner

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// HTTPSListenerPrefix prefixes the worker keys that configure an https
// REST listener (listeners.https.ssl.keystore.location, …), as in Kafka
// Connect.
const HTTPSListenerPrefix = "listeners.https."

// HTTPSConfigFromProperties returns the TLS configuration of an https REST
// listener (listeners=https://host:port) from worker properties, as Kafka
// Connect's worker reads it: when any listeners.https.* key is set, the
// listeners.https.ssl.* keys, prefix removed, and nothing else; otherwise
// the worker's top-level ssl.* keys (those of its own Kafka clients).
//
// Keys: ssl.keystore.location, ssl.keystore.type (JKS, Kafka's default,
// PKCS12 or PEM), ssl.keystore.password and ssl.key.password, or the
// inline PEM ssl.keystore.certificate.chain and ssl.keystore.key: the
// server's certificate, required; ssl.truststore.location, .type,
// .password or the inline PEM ssl.truststore.certificates: the CAs client
// certificates are verified against (without a truststore, the system's);
// ssl.client.auth: none (the default), requested (a client certificate is
// asked for and verified if sent) or required (a client without a valid
// certificate is refused at the TLS handshake); ssl.enabled.protocols and
// ssl.protocol (TLSv1.2, TLSv1.3); ssl.cipher.suites (IANA names; Go's
// TLS 1.3 suites are always on); ssl.keymanager.algorithm and
// ssl.trustmanager.algorithm at Java's defaults.
// ssl.endpoint.identification.algorithm is accepted and has no effect.
//
// Store files are read when it runs: call it again to pick up a renewed
// certificate. Any other ssl.* key or listeners.https.* key, a missing
// keystore or a store that cannot be read is an error naming the key as
// written; errors never contain a password nor a store's or key's content.
// The result serves with [crypto/tls.NewListener] or as
// [net/http.Server.TLSConfig], in front of [Runner.Handler].
func HTTPSConfigFromProperties(worker map[string]string) (*tls.Config, error) {
	props, name := worker, func(k string) string { return k }
	var prefixed bool
	for k := range worker {
		if strings.HasPrefix(k, HTTPSListenerPrefix) {
			prefixed = true
			break
		}
	}
	if prefixed {
		props = map[string]string{}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(worker)) {
			rest, ok := strings.CutPrefix(k, HTTPSListenerPrefix)
			switch {
			case !ok:
			case !strings.HasPrefix(rest, "ssl."):
				errs = append(errs, fmt.Errorf("%s: not supported (the https listener takes %sssl.* keys)", k, HTTPSListenerPrefix))
			default:
				props[rest] = worker[k]
			}
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		name = func(k string) string { return HTTPSListenerPrefix + k }
	}
	return kafkaconf.ServerTLS(props, name)
}
