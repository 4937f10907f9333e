package runner_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestHTTPSConfigFromProperties: Kafka Connect's rule for the https
// listener's keys: the listeners.https.* keys when any is set (and then
// only those), else the top-level ssl.* keys; errors name the key as
// written.
func TestHTTPSConfigFromProperties(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	var chain string
	for _, der := range pki.Server.Certificate {
		chain += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	der, err := x509.MarshalPKCS8PrivateKey(pki.Server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	server := func(prefix string) map[string]string {
		return map[string]string{
			prefix + "ssl.keystore.type":              "PEM",
			prefix + "ssl.keystore.certificate.chain": chain,
			prefix + "ssl.keystore.key":               key,
		}
	}

	// Top-level keys (no listeners.https.* key).
	top := server("")
	top["ssl.client.auth"] = "required"
	c, err := runner.HTTPSConfigFromProperties(top)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificates) != 1 || c.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("top-level keys: %d certificates, client auth %v; want 1, required", len(c.Certificates), c.ClientAuth)
	}

	// Prefixed keys win, and alone: the top-level ssl.client.auth is not read.
	both := server(runner.HTTPSListenerPrefix)
	both["ssl.client.auth"] = "required"
	c, err = runner.HTTPSConfigFromProperties(both)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificates) != 1 || c.ClientAuth != tls.NoClientCert {
		t.Errorf("prefixed keys: %d certificates, client auth %v; want 1, none", len(c.Certificates), c.ClientAuth)
	}

	// Any listeners.https.* key selects the prefixed keys: the top-level
	// keystore is then not used.
	mixed := server("")
	mixed[runner.HTTPSListenerPrefix+"ssl.client.auth"] = "requested"
	_, err = runner.HTTPSConfigFromProperties(mixed)
	if err == nil || !strings.Contains(err.Error(), "listeners.https.ssl.keystore.location") {
		t.Errorf("a prefixed key without a prefixed keystore: %v, want an error naming listeners.https.ssl.keystore.location", err)
	}
	bad := server(runner.HTTPSListenerPrefix)
	bad[runner.HTTPSListenerPrefix+"port"] = "8443"
	if _, err := runner.HTTPSConfigFromProperties(bad); err == nil || !strings.Contains(err.Error(), "listeners.https.port") {
		t.Errorf("listeners.https.port: %v, want an error naming it", err)
	}
}
