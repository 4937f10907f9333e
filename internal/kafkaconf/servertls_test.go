package kafkaconf_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// serverPEM returns the PKI's server chain and key as PEM texts.
func serverPEM(t *testing.T, pki *kafkatest.PKI) (chain, key string) {
	t.Helper()
	for _, der := range pki.Server.Certificate {
		chain += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	der, err := x509.MarshalPKCS8PrivateKey(pki.Server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return chain, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func listenerKey(k string) string { return "listeners.https." + k }

// TestServerTLS: the keystore becomes the server certificate, the
// truststore the client CAs, ssl.client.auth the client certificate
// policy, and the protocol and cipher keys the versions and suites.
func TestServerTLS(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	chain, key := serverPEM(t, pki)
	base := map[string]string{
		"ssl.keystore.type":              "PEM",
		"ssl.keystore.certificate.chain": chain,
		"ssl.keystore.key":               key,
		"security.protocol":              "SASL_SSL", // not an ssl.* key: ignored
	}
	with := func(kv ...string) map[string]string { return merge(base, kv...) }

	c, err := kafkaconf.ServerTLS(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificates) != 1 || c.ClientAuth != tls.NoClientCert || c.ClientCAs != nil {
		t.Errorf("defaults: %d certificates, client auth %v, client CAs %v; want 1, none, nil", len(c.Certificates), c.ClientAuth, c.ClientCAs)
	}
	for auth, want := range map[string]tls.ClientAuthType{"none": tls.NoClientCert, "requested": tls.VerifyClientCertIfGiven, "required": tls.RequireAndVerifyClientCert, "REQUIRED": tls.RequireAndVerifyClientCert} {
		c, err := kafkaconf.ServerTLS(with("ssl.client.auth", auth, "ssl.truststore.type", "PEM", "ssl.truststore.location", pki.CAFile), nil)
		if err != nil {
			t.Fatalf("ssl.client.auth=%s: %v", auth, err)
		}
		if c.ClientAuth != want || c.ClientCAs == nil {
			t.Errorf("ssl.client.auth=%s: client auth %v (CAs %v), want %v with the truststore", auth, c.ClientAuth, c.ClientCAs, want)
		}
	}
	c, err = kafkaconf.ServerTLS(with("ssl.enabled.protocols", "TLSv1.2", "ssl.cipher.suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxVersion != tls.VersionTLS12 || len(c.CipherSuites) != 1 || c.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("max version %x, suites %v; want TLS 1.2 and the one TLS 1.2 suite", c.MaxVersion, c.CipherSuites)
	}
	c, err = kafkaconf.ServerTLS(with("ssl.cipher.suites", "TLS_AES_256_GCM_SHA384"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MinVersion != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 suites only: min version %x, want TLS 1.3", c.MinVersion)
	}
}

// TestServerTLSErrorsNameTheKey: what cannot be honoured fails naming the
// key as written, without passwords.
func TestServerTLSErrorsNameTheKey(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	chain, key := serverPEM(t, pki)
	pem := map[string]string{"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": chain, "ssl.keystore.key": key}
	p12, _ := pki.PKCS12(t, secret)
	for _, c := range []struct {
		props map[string]string
		key   string
		says  string
	}{
		{map[string]string{}, "ssl.keystore.location", "required"},
		{map[string]string{"ssl.truststore.location": pki.CAFile, "ssl.truststore.type": "PEM"}, "ssl.keystore.location", "required"},
		{map[string]string{"ssl.keystore.location": "/nonexistent/server.jks", "ssl.keystore.password": secret}, "ssl.keystore.location", "no such file"},
		{map[string]string{"ssl.keystore.type": "PKCS12", "ssl.keystore.location": p12, "ssl.keystore.password": "wrong-" + secret}, "ssl.keystore.location", "ssl.keystore.password"},
		{map[string]string{"ssl.keystore.type": "PFX", "ssl.keystore.location": p12}, "ssl.keystore.type", "PKCS12"},
		{merge(pem, "ssl.client.auth", "always"), "ssl.client.auth", "required"},
		{merge(pem, "ssl.provider", "SunJSSE"), "ssl.provider", "not supported"},
		{merge(pem, "ssl.enabled.protocols", "TLSv1.1"), "ssl.enabled.protocols", "TLSv1.2"},
		{merge(pem, "ssl.cipher.suites", "TLS_RSA_WITH_RC4_128_SHA"), "ssl.cipher.suites", "TLS_RSA_WITH_RC4_128_SHA"},
		{merge(pem, "ssl.truststore.type", "PEM", "ssl.truststore.location", "/nonexistent/ca.pem"), "ssl.truststore.location", "no such file"},
	} {
		_, err := kafkaconf.ServerTLS(c.props, listenerKey)
		if err == nil {
			t.Errorf("%v: no error", c.props)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, listenerKey(c.key)) || !strings.Contains(msg, c.says) || strings.Contains(msg, secret) {
			t.Errorf("error %q: want one naming %s and saying %q, without the password", msg, listenerKey(c.key), c.says)
		}
	}
}

func merge(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
