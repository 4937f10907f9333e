package kafkaconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/IBM/sarama"
	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"github.com/xdg-go/scram"
	"software.sslmate.com/src/go-pkcs12"
)

// securityKeys are the client security keys ApplySecurity honours; every
// other ssl.* or sasl.* key is an error.
var securityKeys = map[string]bool{
	"security.protocol":                     true,
	"ssl.truststore.type":                   true,
	"ssl.truststore.location":               true,
	"ssl.truststore.password":               true,
	"ssl.truststore.certificates":           true,
	"ssl.keystore.type":                     true,
	"ssl.keystore.location":                 true,
	"ssl.keystore.password":                 true,
	"ssl.keystore.certificate.chain":        true,
	"ssl.keystore.key":                      true,
	"ssl.key.password":                      true,
	"ssl.endpoint.identification.algorithm": true,
	"ssl.enabled.protocols":                 true,
	"ssl.protocol":                          true,
	"ssl.keymanager.algorithm":              true,
	"ssl.trustmanager.algorithm":            true,
	"sasl.mechanism":                        true,
	"sasl.jaas.config":                      true,
	"sasl.oauthbearer.token.endpoint.url":   true,
	"sasl.login.callback.handler.class":     true,
	"sasl.login.connect.timeout.ms":         true,
	"sasl.login.read.timeout.ms":            true,
}

// IsSecurityKey reports whether k (without a client prefix) is a client
// security key: security.protocol or any ssl.* or sasl.* key. Such keys
// are applied together by ApplySecurity, never one by one.
func IsSecurityKey(k string) bool {
	return k == "security.protocol" || strings.HasPrefix(k, "ssl.") || strings.HasPrefix(k, "sasl.")
}

// SecurityProps returns the security keys of props (see IsSecurityKey).
func SecurityProps(props map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range props {
		if IsSecurityKey(k) {
			out[k] = v
		}
	}
	return out
}

// ApplySecurity applies Kafka's client security keys (the Java client's
// names, without a client prefix) to cfg's Net.TLS and Net.SASL settings.
// name maps a key to the name it was written under (for example
// "producer.override.ssl.keystore.location"), for error messages; nil
// keeps the key as is.
//
// Keys other than IsSecurityKey ones are ignored, so the whole client
// property map may be passed. When props hold no security key, cfg is left
// as it is (a base configuration's TLS and SASL settings stand).
// Otherwise security.protocol is required and decides everything: PLAINTEXT,
// SSL, SASL_PLAINTEXT or SASL_SSL (any case), replacing cfg's TLS and SASL
// settings.
//
// Honoured keys: ssl.truststore.type/.location/.password,
// ssl.truststore.certificates, ssl.keystore.type/.location/.password,
// ssl.keystore.certificate.chain, ssl.keystore.key, ssl.key.password
// (store types PEM, PKCS12 and JKS; JKS, Kafka's default type, when the
// type is not set), ssl.endpoint.identification.algorithm (https, the
// default, verifies the broker's host name; empty verifies only the
// certificate chain), ssl.enabled.protocols and ssl.protocol (TLSv1.2,
// TLSv1.3), ssl.keymanager.algorithm and ssl.trustmanager.algorithm at
// their Java defaults, sasl.mechanism (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512, OAUTHBEARER) and sasl.jaas.config (PlainLoginModule,
// ScramLoginModule, OAuthBearerLoginModule with clientId, clientSecret and
// scope), and for OAUTHBEARER the OIDC client credentials keys
// sasl.oauthbearer.token.endpoint.url, sasl.login.callback.handler.class
// (Kafka's OAuthBearerLoginCallbackHandler), sasl.login.connect.timeout.ms
// and sasl.login.read.timeout.ms: tokens are fetched from the endpoint
// when a connection needs one and reused until 80% of their lifetime.
// Files are read when ApplySecurity runs. With no truststore the system's
// certificate pool is trusted, as Java trusts its default one.
//
// Anything that cannot be honoured (another ssl.* or sasl.* key, an ssl.*
// key on a non-SSL protocol, a sasl.* key on a non-SASL one, GSSAPI, which
// is Kafka's default sasl.mechanism, an unreadable store) is an
// error naming the key. Errors never contain the value of a password key or
// of sasl.jaas.config, nor the content of a store or key.
func ApplySecurity(cfg *sarama.Config, props map[string]string, name func(string) string) error {
	if name == nil {
		name = func(k string) string { return k }
	}
	sec := SecurityProps(props)
	if len(sec) == 0 {
		return nil
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(sec)) {
		if !securityKeys[k] {
			errs = append(errs, fmt.Errorf("%s: not supported by Sluice's Kafka clients", name(k)))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	get := func(k string) (string, bool) {
		v, ok := sec[k]
		return strings.TrimSpace(v), ok
	}
	proto, ok := get("security.protocol")
	if !ok {
		keys := slices.Sorted(maps.Keys(sec))
		return fmt.Errorf("%s: set, but %s is not (PLAINTEXT): set it to SSL, SASL_PLAINTEXT or SASL_SSL", name(keys[0]), name("security.protocol"))
	}
	var useTLS, useSASL bool
	switch strings.ToUpper(proto) {
	case "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return fmt.Errorf("%s: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got %q", name("security.protocol"), proto)
	}
	for _, k := range slices.Sorted(maps.Keys(sec)) {
		switch {
		case strings.HasPrefix(k, "ssl.") && !useTLS:
			errs = append(errs, fmt.Errorf("%s: set, but %s is %s (no TLS): remove it or use SSL or SASL_SSL", name(k), name("security.protocol"), proto))
		case strings.HasPrefix(k, "sasl.") && !useSASL:
			errs = append(errs, fmt.Errorf("%s: set, but %s is %s (no SASL): remove it or use SASL_PLAINTEXT or SASL_SSL", name(k), name("security.protocol"), proto))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var tlsCfg *tls.Config
	if useTLS {
		c, err := tlsConfig(get, name)
		if err != nil {
			return err
		}
		tlsCfg = c
	}
	var sasl saslSettings
	if useSASL {
		s, err := saslConfig(get, name)
		if err != nil {
			return err
		}
		sasl = s
	}

	cfg.Net.TLS.Enable = useTLS
	cfg.Net.TLS.Config = tlsCfg
	cfg.Net.SASL.Enable = useSASL
	if useSASL {
		cfg.Net.SASL.Mechanism = sasl.mechanism
		cfg.Net.SASL.User = sasl.user
		cfg.Net.SASL.Password = sasl.password
		cfg.Net.SASL.Handshake = true
		cfg.Net.SASL.Version = sarama.SASLHandshakeV1
		cfg.Net.SASL.SCRAMClientGeneratorFunc = sasl.scram
		cfg.Net.SASL.TokenProvider = sasl.token
	} else {
		cfg.Net.SASL.Mechanism = ""
		cfg.Net.SASL.User = ""
		cfg.Net.SASL.Password = ""
		cfg.Net.SASL.SCRAMClientGeneratorFunc = nil
		cfg.Net.SASL.TokenProvider = nil
	}
	return nil
}

// tlsConfig builds the TLS configuration from the ssl.* keys.
func tlsConfig(get func(string) (string, bool), name func(string) string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if err := tlsVersions(c, get, name); err != nil {
		return nil, err
	}

	roots, err := trustStore(get, name)
	if err != nil {
		return nil, err
	}
	c.RootCAs = roots
	cert, err := keyStore(get, name)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}

	alg, ok := get("ssl.endpoint.identification.algorithm")
	switch {
	case !ok || strings.EqualFold(alg, "https"):
	case alg == "":
		// Verify the chain, not the host name: Go's verification is
		// turned off and redone without the name.
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			if err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		}
	default:
		return nil, fmt.Errorf("%s: want https or empty, got %q", name("ssl.endpoint.identification.algorithm"), alg)
	}
	return c, nil
}

// tlsVersions applies ssl.keymanager.algorithm and
// ssl.trustmanager.algorithm (Java's defaults only), ssl.protocol and
// ssl.enabled.protocols to c; c.MinVersion is TLS 1.2 on entry.
func tlsVersions(c *tls.Config, get func(string) (string, bool), name func(string) string) error {
	for k, want := range map[string]string{"ssl.keymanager.algorithm": "SunX509", "ssl.trustmanager.algorithm": "PKIX"} {
		if v, ok := get(k); ok && v != "" && !strings.EqualFold(v, want) {
			return fmt.Errorf("%s: only %s (Java's default) is supported, got %q", name(k), want, v)
		}
	}

	// Protocols: ssl.enabled.protocols wins; ssl.protocol=TLSv1.2 alone
	// keeps Java's SSLContext to TLS 1.2.
	if v, ok := get("ssl.protocol"); ok {
		switch strings.ToUpper(v) {
		case "", "TLS", "TLSV1.3":
		case "TLSV1.2":
			c.MaxVersion = tls.VersionTLS12
		default:
			return fmt.Errorf("%s: want TLSv1.2 or TLSv1.3, got %q", name("ssl.protocol"), v)
		}
	}
	if v, ok := get("ssl.enabled.protocols"); ok && v != "" {
		var has12, has13 bool
		for p := range strings.SplitSeq(v, ",") {
			switch strings.ToUpper(strings.TrimSpace(p)) {
			case "TLSV1.2":
				has12 = true
			case "TLSV1.3":
				has13 = true
			case "":
			default:
				return fmt.Errorf("%s: only TLSv1.2 and TLSv1.3 are supported, got %q", name("ssl.enabled.protocols"), strings.TrimSpace(p))
			}
		}
		c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS13
		switch {
		case has12 && !has13:
			c.MaxVersion = tls.VersionTLS12
		case has13 && !has12:
			c.MinVersion = tls.VersionTLS13
		}
	}
	return nil
}

// storeType returns the store type key's value, upper case; Kafka's
// default is JKS.
func storeType(get func(string) (string, bool), name func(string) string, key string) (string, error) {
	v, ok := get(key)
	if !ok || v == "" {
		return "JKS", nil
	}
	switch t := strings.ToUpper(v); t {
	case "JKS", "PKCS12", "PEM":
		return t, nil
	}
	return "", fmt.Errorf("%s: want JKS, PKCS12 or PEM, got %q", name(key), v)
}

// trustStore returns the trusted certificates, or nil (the system pool)
// when no truststore is configured.
func trustStore(get func(string) (string, bool), name func(string) string) (*x509.CertPool, error) {
	typ, err := storeType(get, name, "ssl.truststore.type")
	if err != nil {
		return nil, err
	}
	loc, hasLoc := get("ssl.truststore.location")
	inline, hasInline := get("ssl.truststore.certificates")
	pw, hasPW := get("ssl.truststore.password")
	hasLoc, hasInline = hasLoc && loc != "", hasInline && inline != ""
	if !hasLoc && !hasInline {
		if hasPW && pw != "" {
			return nil, fmt.Errorf("%s: set without %s", name("ssl.truststore.password"), name("ssl.truststore.location"))
		}
		return nil, nil
	}
	if hasLoc && hasInline {
		return nil, fmt.Errorf("%s and %s: set only one of them", name("ssl.truststore.location"), name("ssl.truststore.certificates"))
	}
	var certs []*x509.Certificate
	if hasInline {
		if typ != "PEM" {
			return nil, fmt.Errorf("%s: needs %s=PEM", name("ssl.truststore.certificates"), name("ssl.truststore.type"))
		}
		if certs, err = pemCerts([]byte(inline)); err != nil {
			return nil, fmt.Errorf("%s: %w", name("ssl.truststore.certificates"), err)
		}
	} else {
		data, err := os.ReadFile(loc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name("ssl.truststore.location"), err)
		}
		switch typ {
		case "PEM":
			if hasPW && pw != "" {
				return nil, fmt.Errorf("%s: not allowed for a PEM truststore", name("ssl.truststore.password"))
			}
			certs, err = pemCerts(data)
		case "PKCS12":
			certs, err = pkcs12.DecodeTrustStore(data, pw)
			if err != nil {
				err = fmt.Errorf("reading the PKCS12 truststore (wrong %s?): %w", name("ssl.truststore.password"), err)
			}
		case "JKS":
			certs, err = jksTrusted(data, pw, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name("ssl.truststore.location"), err)
		}
	}
	if len(certs) == 0 {
		key := "ssl.truststore.location"
		if hasInline {
			key = "ssl.truststore.certificates"
		}
		return nil, fmt.Errorf("%s: no certificate found", name(key))
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// jksTrusted returns a JKS store's certificates: its trusted certificate
// entries and the chains of its key entries.
func jksTrusted(data []byte, pw string, name func(string) string) ([]*x509.Certificate, error) {
	if pw == "" {
		return nil, fmt.Errorf("%s is required for a JKS truststore", name("ssl.truststore.password"))
	}
	ks := keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(pw)); err != nil {
		return nil, fmt.Errorf("reading the JKS truststore (wrong %s?): %w", name("ssl.truststore.password"), err)
	}
	var certs []*x509.Certificate
	for _, a := range ks.Aliases() {
		var raw []keystore.Certificate
		switch {
		case ks.IsTrustedCertificateEntry(a):
			e, err := ks.GetTrustedCertificateEntry(a)
			if err != nil {
				return nil, err
			}
			raw = []keystore.Certificate{e.Certificate}
		case ks.IsPrivateKeyEntry(a):
			chain, err := ks.GetPrivateKeyEntryCertificateChain(a)
			if err != nil {
				return nil, err
			}
			raw = chain
		}
		for _, r := range raw {
			c, err := x509.ParseCertificate(r.Content)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %w", a, err)
			}
			certs = append(certs, c)
		}
	}
	return certs, nil
}

// keyStore returns the client certificate, or nil when no keystore is
// configured.
func keyStore(get func(string) (string, bool), name func(string) string) (*tls.Certificate, error) {
	typ, err := storeType(get, name, "ssl.keystore.type")
	if err != nil {
		return nil, err
	}
	loc, _ := get("ssl.keystore.location")
	chain, _ := get("ssl.keystore.certificate.chain")
	key, _ := get("ssl.keystore.key")
	pw, _ := get("ssl.keystore.password")
	keyPW, hasKeyPW := get("ssl.key.password")
	switch {
	case loc == "" && chain == "" && key == "":
		for _, k := range []string{"ssl.keystore.password", "ssl.key.password"} {
			if v, _ := get(k); v != "" {
				return nil, fmt.Errorf("%s: set without a keystore (%s)", name(k), name("ssl.keystore.location"))
			}
		}
		return nil, nil
	case loc != "" && (chain != "" || key != ""):
		return nil, fmt.Errorf("%s and %s/%s: set either the keystore file or the inline PEM keys", name("ssl.keystore.location"), name("ssl.keystore.certificate.chain"), name("ssl.keystore.key"))
	case loc == "":
		if typ != "PEM" {
			return nil, fmt.Errorf("%s: needs %s=PEM", name("ssl.keystore.certificate.chain"), name("ssl.keystore.type"))
		}
		if chain == "" || key == "" {
			return nil, fmt.Errorf("%s and %s: set both", name("ssl.keystore.certificate.chain"), name("ssl.keystore.key"))
		}
		if hasKeyPW && keyPW != "" {
			return nil, fmt.Errorf("%s: encrypted PEM keys are not supported: give the key unencrypted (PKCS#8 or PKCS#1) or use a PKCS12 or JKS keystore", name("ssl.key.password"))
		}
		return pemKeyPair([]byte(chain), []byte(key), name("ssl.keystore.certificate.chain"), name("ssl.keystore.key"))
	}
	data, err := os.ReadFile(loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name("ssl.keystore.location"), err)
	}
	switch typ {
	case "PEM":
		// One file holding the key and the certificate chain.
		if hasKeyPW && keyPW != "" {
			return nil, fmt.Errorf("%s: encrypted PEM keys are not supported: give the key unencrypted (PKCS#8 or PKCS#1) or use a PKCS12 or JKS keystore", name("ssl.key.password"))
		}
		if pw != "" {
			return nil, fmt.Errorf("%s: not allowed for a PEM keystore", name("ssl.keystore.password"))
		}
		return pemKeyPair(data, data, name("ssl.keystore.location"), name("ssl.keystore.location"))
	case "PKCS12":
		if hasKeyPW && keyPW != pw {
			return nil, fmt.Errorf("%s: must equal %s for a PKCS12 keystore", name("ssl.key.password"), name("ssl.keystore.password"))
		}
		priv, leaf, cas, err := pkcs12.DecodeChain(data, pw)
		if err != nil {
			return nil, fmt.Errorf("%s: reading the PKCS12 keystore (wrong %s?): %w", name("ssl.keystore.location"), name("ssl.keystore.password"), err)
		}
		c := &tls.Certificate{PrivateKey: priv, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
		for _, ca := range cas {
			c.Certificate = append(c.Certificate, ca.Raw)
		}
		return c, nil
	default: // JKS
		if pw == "" {
			return nil, fmt.Errorf("%s is required for a JKS keystore", name("ssl.keystore.password"))
		}
		ks := keystore.New()
		if err := ks.Load(bytes.NewReader(data), []byte(pw)); err != nil {
			return nil, fmt.Errorf("%s: reading the JKS keystore (wrong %s?): %w", name("ssl.keystore.location"), name("ssl.keystore.password"), err)
		}
		if !hasKeyPW || keyPW == "" {
			keyPW = pw
		}
		var aliases []string
		for _, a := range ks.Aliases() {
			if ks.IsPrivateKeyEntry(a) {
				aliases = append(aliases, a)
			}
		}
		if len(aliases) != 1 {
			return nil, fmt.Errorf("%s: want exactly one key entry in the JKS keystore, found %d", name("ssl.keystore.location"), len(aliases))
		}
		e, err := ks.GetPrivateKeyEntry(aliases[0], []byte(keyPW))
		if err != nil {
			return nil, fmt.Errorf("%s: reading key entry %q (wrong %s?): %w", name("ssl.keystore.location"), aliases[0], name("ssl.key.password"), err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("%s: key entry %q: %w", name("ssl.keystore.location"), aliases[0], err)
		}
		c := &tls.Certificate{PrivateKey: priv}
		for _, r := range e.CertificateChain {
			c.Certificate = append(c.Certificate, r.Content)
		}
		if len(c.Certificate) == 0 {
			return nil, fmt.Errorf("%s: key entry %q has no certificate", name("ssl.keystore.location"), aliases[0])
		}
		return c, nil
	}
}

// pemCerts parses every CERTIFICATE block of data.
func pemCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
}

// pemKeyPair builds a certificate from PEM chain and key data; the
// errors name chainKey or keyKey and never hold key material (tls's own
// errors do not either).
func pemKeyPair(chain, key []byte, chainKey, keyKey string) (*tls.Certificate, error) {
	var certPEM, keyPEM []byte
	for rest := chain; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certPEM = append(certPEM, pem.EncodeToMemory(b)...)
		}
	}
	for rest := key; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.Contains(b.Type, "ENCRYPTED") {
			return nil, fmt.Errorf("%s: encrypted PEM keys are not supported: give the key unencrypted (PKCS#8 or PKCS#1) or use a PKCS12 or JKS keystore", keyKey)
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			keyPEM = pem.EncodeToMemory(b)
			break
		}
	}
	if certPEM == nil {
		return nil, fmt.Errorf("%s: no PEM certificate found", chainKey)
	}
	if keyPEM == nil {
		return nil, fmt.Errorf("%s: no PEM private key found", keyKey)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyKey, err)
	}
	return &c, nil
}

// saslSettings is what the sasl.* keys configure.
type saslSettings struct {
	mechanism      sarama.SASLMechanism
	user, password string
	scram          func() sarama.SCRAMClient
	token          sarama.AccessTokenProvider
}

// Login module classes of sasl.jaas.config.
const (
	plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	scramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
)

// saslConfig reads sasl.mechanism and sasl.jaas.config.
func saslConfig(get func(string) (string, bool), name func(string) string) (saslSettings, error) {
	var s saslSettings
	mech, ok := get("sasl.mechanism")
	if !ok || mech == "" {
		return s, fmt.Errorf("%s: not set, and Kafka's default, GSSAPI (Kerberos), is not supported: set PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", name("sasl.mechanism"))
	}
	var module string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		s.mechanism, module = sarama.SASLTypePlaintext, plainLoginModule
	case "SCRAM-SHA-256":
		s.mechanism, module = sarama.SASLTypeSCRAMSHA256, scramLoginModule
		s.scram = scramClient(scram.SHA256)
	case "SCRAM-SHA-512":
		s.mechanism, module = sarama.SASLTypeSCRAMSHA512, scramLoginModule
		s.scram = scramClient(scram.SHA512)
	case "GSSAPI":
		return s, fmt.Errorf("%s: GSSAPI (Kerberos) is not supported: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", name("sasl.mechanism"))
	case "OAUTHBEARER":
		s.mechanism, module = sarama.SASLTypeOAuth, oauthLoginModule
	default:
		return s, fmt.Errorf("%s: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER, got %q", name("sasl.mechanism"), mech)
	}
	if s.mechanism != sarama.SASLTypeOAuth {
		for _, k := range []string{"sasl.oauthbearer.token.endpoint.url", "sasl.login.callback.handler.class", "sasl.login.connect.timeout.ms", "sasl.login.read.timeout.ms"} {
			if _, ok := get(k); ok {
				return s, fmt.Errorf("%s: set, but %s is %s: it applies to OAUTHBEARER only", name(k), name("sasl.mechanism"), mech)
			}
		}
	}
	jaas, ok := get("sasl.jaas.config")
	if !ok || jaas == "" {
		return s, fmt.Errorf("%s: required for %s (%s required username=\"…\" password=\"…\";)", name("sasl.jaas.config"), s.mechanism, module)
	}
	class, opts, err := ParseJAAS(jaas)
	if err != nil {
		return s, fmt.Errorf("%s: %w", name("sasl.jaas.config"), err)
	}
	if class != module {
		return s, fmt.Errorf("%s: %s needs login module %s, got %s", name("sasl.jaas.config"), s.mechanism, module, class)
	}
	if s.mechanism == sarama.SASLTypeOAuth {
		if s.token, err = oauthConfig(get, name, opts); err != nil {
			return s, err
		}
		return s, nil
	}
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if k != "username" && k != "password" {
			return s, fmt.Errorf("%s: option %s is not supported (only username and password)", name("sasl.jaas.config"), k)
		}
	}
	s.user, s.password = opts["username"], opts["password"]
	if s.user == "" || s.password == "" {
		return s, fmt.Errorf("%s: username and password are required", name("sasl.jaas.config"))
	}
	return s, nil
}

// ParseJAAS parses a sasl.jaas.config value as Kafka does: one login
// module entry, `<class> <flag> key=value ... ;`, where flag is required,
// requisite, sufficient or optional and each value is a double-quoted
// string (with backslash escapes) or a bare word. It returns the class and
// the options. Errors describe the syntax problem without quoting values.
func ParseJAAS(s string) (class string, opts map[string]string, err error) {
	p := jaasParser{s: s}
	class = p.word()
	if class == "" {
		return "", nil, errors.New("want a login module class (e.g. " + plainLoginModule + ")")
	}
	switch flag := p.word(); flag {
	case "required", "requisite", "sufficient", "optional":
	case "":
		return "", nil, errors.New("want a control flag (required) after the login module class")
	default:
		return "", nil, fmt.Errorf("unknown control flag %q (want required)", flag)
	}
	opts = map[string]string{}
	for {
		p.space()
		if p.i >= len(p.s) {
			return "", nil, errors.New("missing the terminating ';'")
		}
		if p.s[p.i] == ';' {
			p.i++
			p.space()
			if p.i != len(p.s) {
				return "", nil, errors.New("only one login module entry is supported")
			}
			return class, opts, nil
		}
		key := p.word()
		if key == "" {
			return "", nil, fmt.Errorf("want option=value at offset %d", p.i)
		}
		if k, _, found := strings.Cut(key, "="); found {
			// a bare word value glued to its key: key=value
			return "", nil, fmt.Errorf("option %s: values must be quoted", k)
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return "", nil, fmt.Errorf("option %s: want '='", key)
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return "", nil, fmt.Errorf("option %s: %w", key, err)
		}
		opts[key] = v
	}
}

type jaasParser struct {
	s string
	i int
}

func (p *jaasParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// word reads a bare token up to space, '=' or ';'.
func (p *jaasParser) word() string {
	p.space()
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n=;\"", p.s[p.i]) < 0 {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a quoted string (backslash escapes the next character) or a
// bare word.
func (p *jaasParser) value() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		p.i++
		var b strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			switch c {
			case '\\':
				if p.i >= len(p.s) {
					return "", errors.New("unterminated escape")
				}
				switch e := p.s[p.i]; e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(e)
				}
				p.i++
			case '"':
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated quoted value")
	}
	w := p.word()
	if w == "" {
		return "", errors.New("want a value")
	}
	return w, nil
}

// scramClient returns a sarama SCRAMClientGeneratorFunc for hash.
func scramClient(hash scram.HashGeneratorFcn) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramConv{hash: hash} }
}

// scramConv is one SCRAM conversation (xdg-go/scram) in sarama's shape.
type scramConv struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

// Begin implements sarama.SCRAMClient.
func (c *scramConv) Begin(user, password, authzID string) error {
	cl, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = cl.NewConversation()
	return nil
}

// Step implements sarama.SCRAMClient.
func (c *scramConv) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

// Done implements sarama.SCRAMClient.
func (c *scramConv) Done() bool { return c.conv.Done() }
