package kafkaconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// serverTLSKeys are the ssl.* keys ServerTLS honours; every other ssl.*
// key is an error.
var serverTLSKeys = map[string]bool{
	"ssl.keystore.type":                     true,
	"ssl.keystore.location":                 true,
	"ssl.keystore.password":                 true,
	"ssl.keystore.certificate.chain":        true,
	"ssl.keystore.key":                      true,
	"ssl.key.password":                      true,
	"ssl.truststore.type":                   true,
	"ssl.truststore.location":               true,
	"ssl.truststore.password":               true,
	"ssl.truststore.certificates":           true,
	"ssl.client.auth":                       true,
	"ssl.enabled.protocols":                 true,
	"ssl.protocol":                          true,
	"ssl.cipher.suites":                     true,
	"ssl.keymanager.algorithm":              true,
	"ssl.trustmanager.algorithm":            true,
	"ssl.endpoint.identification.algorithm": true,
}

// ServerTLS builds a TLS server configuration from Kafka's ssl.* keys
// (without a prefix), as Kafka Connect's REST server reads them for an
// https listener (SSLUtils.createServerSideSslContextFactory). name maps a
// key to the name it was written under (for example
// "listeners.https.ssl.keystore.location"), for error messages; nil keeps
// the key as is. Keys not starting with "ssl." are ignored, so a whole
// worker property map may be passed.
//
// The keystore holds the server's certificate and key and is required:
// ssl.keystore.location with ssl.keystore.type (JKS, Kafka's default,
// PKCS12 or PEM), ssl.keystore.password and ssl.key.password, or the inline
// PEM ssl.keystore.certificate.chain and ssl.keystore.key; stores are read
// as ApplySecurity reads them. ssl.client.auth (none, the default,
// requested or required) asks clients for a certificate, verified against
// the truststore (ssl.truststore.*; without one, the system's pool, as
// Java uses its default truststore): requested serves a client without a
// certificate, required refuses it at the handshake. ssl.enabled.protocols
// and ssl.protocol take TLSv1.2 and TLSv1.3; ssl.cipher.suites takes IANA
// names (Java's), which limit TLS 1.2's suites (Go always offers its three
// TLS 1.3 suites, whose names are accepted); ssl.keymanager.algorithm and
// ssl.trustmanager.algorithm take Java's defaults only.
// ssl.endpoint.identification.algorithm is accepted and has no effect (a
// server verifies no host name).
//
// Files are read when ServerTLS runs. Any other ssl.* key, or a value that
// cannot be honoured, is an error naming the key; errors never contain a
// password nor the content of a store or key.
func ServerTLS(props map[string]string, name func(string) string) (*tls.Config, error) {
	if name == nil {
		name = func(k string) string { return k }
	}
	var errs []error
	sec := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if !strings.HasPrefix(k, "ssl.") {
			continue
		}
		if !serverTLSKeys[k] {
			errs = append(errs, fmt.Errorf("%s: not supported by Sluice's https listener", name(k)))
			continue
		}
		sec[k] = props[k]
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	get := func(k string) (string, bool) {
		v, ok := sec[k]
		return strings.TrimSpace(v), ok
	}

	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if err := tlsVersions(c, get, name); err != nil {
		return nil, err
	}
	if err := cipherSuites(c, get, name); err != nil {
		return nil, err
	}
	cert, err := keyStore(get, name)
	if err != nil {
		return nil, err
	}
	if cert == nil {
		return nil, fmt.Errorf("%s: required: an https listener needs the server's certificate and key (or set %s and %s as PEM)",
			name("ssl.keystore.location"), name("ssl.keystore.certificate.chain"), name("ssl.keystore.key"))
	}
	c.Certificates = []tls.Certificate{*cert}
	roots, err := trustStore(get, name)
	if err != nil {
		return nil, err
	}
	c.ClientCAs = roots

	v, _ := get("ssl.client.auth")
	switch strings.ToLower(v) {
	case "", "none":
		c.ClientAuth = tls.NoClientCert
	case "requested":
		c.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		c.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("%s: want none, requested or required, got %q", name("ssl.client.auth"), v)
	}
	return c, nil
}

// cipherSuites applies ssl.cipher.suites: IANA names, as Java's, of Go's
// secure suites. TLS 1.3's suites cannot be chosen in Go: their names are
// accepted, and a list of only those turns TLS 1.2 off.
func cipherSuites(c *tls.Config, get func(string) (string, bool), name func(string) string) error {
	v, ok := get("ssl.cipher.suites")
	if !ok || v == "" {
		return nil
	}
	byName := map[string]*tls.CipherSuite{}
	for _, s := range tls.CipherSuites() {
		byName[s.Name] = s
	}
	var tls13 bool
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		s, ok := byName[p]
		switch {
		case !ok:
			return fmt.Errorf("%s: unknown or insecure cipher suite %q (want IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name("ssl.cipher.suites"), p)
		case slices.Equal(s.SupportedVersions, []uint16{tls.VersionTLS13}):
			tls13 = true
		default:
			c.CipherSuites = append(c.CipherSuites, s.ID)
		}
	}
	if len(c.CipherSuites) == 0 && tls13 {
		c.MinVersion = tls.VersionTLS13
	}
	if c.MaxVersion == tls.VersionTLS12 && len(c.CipherSuites) == 0 {
		return fmt.Errorf("%s: only TLS 1.3 suites, but TLS 1.3 is not enabled (%s, %s)", name("ssl.cipher.suites"), name("ssl.protocol"), name("ssl.enabled.protocols"))
	}
	return nil
}
