package kafkaconf_test

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

const secret = "hunter2-secret"

const plainJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="` + secret + `";`

const oauthJAAS = `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="id" clientSecret="` + secret + `" scope="kafka";`

func prefixed(k string) string { return "producer.override." + k }

func TestApplySecurityErrorsNameTheKey(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	p12, _ := pki.PKCS12(t, secret)
	cases := []struct {
		props map[string]string
		key   string // must appear, prefixed
		says  string
	}{
		{map[string]string{"security.protocol": "SSLv3"}, "security.protocol", "want PLAINTEXT"},
		{map[string]string{"ssl.truststore.location": "/x"}, "ssl.truststore.location", "security.protocol"},
		{map[string]string{"security.protocol": "PLAINTEXT", "ssl.truststore.location": "/x"}, "ssl.truststore.location", "no TLS"},
		{map[string]string{"security.protocol": "SSL", "sasl.mechanism": "PLAIN"}, "sasl.mechanism", "no SASL"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.jaas.config": plainJAAS}, "sasl.mechanism", "GSSAPI"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI", "sasl.jaas.config": plainJAAS}, "sasl.mechanism", "GSSAPI"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": oauthJAAS}, "sasl.oauthbearer.token.endpoint.url", "required"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": plainJAAS, "sasl.oauthbearer.token.endpoint.url": "https://idp/token"}, "sasl.jaas.config", "OAuthBearerLoginModule"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": oauthJAAS, "sasl.oauthbearer.token.endpoint.url": "file:///etc/token"}, "sasl.oauthbearer.token.endpoint.url", "http"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": oauthJAAS, "sasl.oauthbearer.token.endpoint.url": "https://idp/token", "sasl.login.callback.handler.class": "com.example.Handler"}, "sasl.login.callback.handler.class", "OAuthBearerLoginCallbackHandler"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": plainJAAS, "sasl.oauthbearer.token.endpoint.url": "https://idp/token"}, "sasl.oauthbearer.token.endpoint.url", "OAUTHBEARER only"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}, "sasl.jaas.config", "required"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": plainJAAS}, "sasl.jaas.config", "ScramLoginModule"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": strings.TrimSuffix(plainJAAS, ";")}, "sasl.jaas.config", "';'"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="` + secret}, "sasl.jaas.config", "unterminated"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.client.callback.handler.class": "x"}, "sasl.client.callback.handler.class", "not supported"},
		{map[string]string{"security.protocol": "SSL", "ssl.cipher.suites": "TLS_AES_128_GCM_SHA256"}, "ssl.cipher.suites", "not supported"},
		{map[string]string{"security.protocol": "SSL", "ssl.enabled.protocols": "TLSv1.1"}, "ssl.enabled.protocols", "TLSv1.1"},
		{map[string]string{"security.protocol": "SSL", "ssl.protocol": "SSLv3"}, "ssl.protocol", "want TLSv1.2"},
		{map[string]string{"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "ldaps"}, "ssl.endpoint.identification.algorithm", "want https"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "BKS", "ssl.truststore.location": "/x"}, "ssl.truststore.type", "want JKS"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": "/does/not/exist"}, "ssl.truststore.location", "no such file"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.location": pki.CAFile, "ssl.truststore.password": secret}, "ssl.truststore.location", "JKS"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": pki.CAFile, "ssl.truststore.password": secret}, "ssl.truststore.password", "PEM"},
		{map[string]string{"security.protocol": "SSL", "ssl.keystore.type": "PKCS12", "ssl.keystore.location": p12, "ssl.keystore.password": "wrong-" + secret}, "ssl.keystore.password", "wrong"},
		{map[string]string{"security.protocol": "SSL", "ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": pki.ClientCertPEM}, "ssl.keystore.key", "set both"},
		{map[string]string{"security.protocol": "SSL", "ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": pki.ClientCertPEM, "ssl.keystore.key": pki.ClientKeyPEM, "ssl.key.password": secret}, "ssl.key.password", "encrypted PEM"},
		{map[string]string{"security.protocol": "SSL", "ssl.keymanager.algorithm": "PKIX"}, "ssl.keymanager.algorithm", "SunX509"},
	}
	for _, tc := range cases {
		err := kafkaconf.ApplySecurity(sarama.NewConfig(), tc.props, prefixed)
		if err == nil {
			t.Errorf("%v: no error", tc.props)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, prefixed(tc.key)) || !strings.Contains(msg, tc.says) {
			t.Errorf("%v: error %q, want one naming %s and saying %q", tc.props, msg, prefixed(tc.key), tc.says)
		}
		if strings.Contains(msg, secret) || strings.Contains(msg, "BEGIN") {
			t.Errorf("%v: the error shows a secret: %s", tc.props, msg)
		}
	}
}

func TestApplySecuritySettings(t *testing.T) {
	pki := kafkatest.NewPKI(t)

	cfg := sarama.NewConfig()
	if err := kafkaconf.ApplySecurity(cfg, map[string]string{"linger.ms": "5"}, nil); err != nil || cfg.Net.TLS.Enable || cfg.Net.SASL.Enable {
		t.Fatalf("no security keys changed the config (err %v)", err)
	}

	cfg.Net.TLS.Enable = true
	err := kafkaconf.ApplySecurity(cfg, map[string]string{
		"security.protocol": "sasl_plaintext", "sasl.mechanism": "scram-sha-256",
		"sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required\n  username=\"us\\\"er\"\n  password=\"p\\\\w\" ;",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Net.TLS.Enable || !cfg.Net.SASL.Enable || cfg.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA256 ||
		cfg.Net.SASL.User != `us"er` || cfg.Net.SASL.Password != `p\w` || cfg.Net.SASL.SCRAMClientGeneratorFunc == nil {
		t.Errorf("SASL_PLAINTEXT SCRAM: tls %v sasl %+v", cfg.Net.TLS.Enable, cfg.Net.SASL)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	err = kafkaconf.ApplySecurity(cfg, map[string]string{
		"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": pki.CAFile,
		"ssl.enabled.protocols": "TLSv1.2", "ssl.endpoint.identification.algorithm": "",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Net.TLS.Config
	if !cfg.Net.TLS.Enable || cfg.Net.SASL.Enable || c == nil || c.RootCAs == nil || c.MaxVersion != tls.VersionTLS12 ||
		!c.InsecureSkipVerify || c.VerifyConnection == nil {
		t.Errorf("SSL: %+v", c)
	}
	// The chain is still verified without the host name check.
	other := kafkatest.NewPKI(t)
	if err := c.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{other.ClientCert}}); err == nil {
		t.Error("a certificate of another CA passed verification")
	}

	err = kafkaconf.ApplySecurity(cfg, map[string]string{"security.protocol": "PLAINTEXT"}, nil)
	if err != nil || cfg.Net.TLS.Enable || cfg.Net.SASL.Enable || cfg.Net.SASL.Password != "" {
		t.Errorf("PLAINTEXT did not turn TLS and SASL off: %v", err)
	}
}

func TestApplyProducerPropsSecurity(t *testing.T) {
	cfg := sarama.NewConfig()
	unmapped, err := kafkaconf.ApplyProducerProps(cfg, "producer.", map[string]string{
		"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": plainJAAS, "linger.ms": "3",
	})
	if err != nil || len(unmapped) != 0 {
		t.Fatalf("unmapped %v, err %v", unmapped, err)
	}
	if !cfg.Net.SASL.Enable || cfg.Net.SASL.User != "u" {
		t.Errorf("SASL not applied: %+v", cfg.Net.SASL)
	}
	_, err = kafkaconf.ApplyConsumerProps(sarama.NewConfig(), "consumer.override.", map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.kerberos.service.name": "kafka"})
	if err == nil || !strings.Contains(err.Error(), "consumer.override.sasl.kerberos.service.name") {
		t.Errorf("consumer: %v, want an error naming consumer.override.sasl.kerberos.service.name", err)
	}
}

func TestParseJAAS(t *testing.T) {
	class, opts, err := kafkaconf.ParseJAAS(` org.apache.kafka.common.security.scram.ScramLoginModule   required username = "a b" password="x\\y\"z" extra=bare ; `)
	if err != nil {
		t.Fatal(err)
	}
	if class != "org.apache.kafka.common.security.scram.ScramLoginModule" || opts["username"] != "a b" || opts["password"] != `x\y"z` || opts["extra"] != "bare" {
		t.Errorf("got %q %q", class, opts)
	}
	for _, bad := range []string{"", "Mod", "Mod sometimes;", `Mod required a="b"; Other required;`, `Mod required a;`} {
		if _, _, err := kafkaconf.ParseJAAS(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
