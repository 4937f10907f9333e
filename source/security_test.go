package source_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// The secure-cluster tests run on the in-process broker only: they need a
// broker with TLS or SASL listeners, and the shared real broker has a
// plaintext listener alone.

const (
	secretPassword = "s3cr3t-pa\"ss"
	secretJAASPass = `s3cr3t-pa\"ss` // as written inside a quoted JAAS value
)

// secureCluster starts a one-broker kfake cluster with opts.
func secureCluster(t *testing.T, opts ...kfake.Opt) []string {
	return secureKfake(t, opts...).ListenAddrs()
}

func secureKfake(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// runSecureSource builds a source pipeline from worker properties (plus
// bootstrap.servers) and a generating connector, runs it, and returns
// Run's error once n records were acknowledged (nil error), or once its
// task FAILED or Run returned by itself.
func runSecureSource(t *testing.T, brokers []string, worker, connector map[string]string, n int64) error {
	t.Helper()
	worker["bootstrap.servers"] = strings.Join(brokers, ",")
	connector["name"] = "secure-src"
	task := &genTask{topic: "secure-topic", parts: 1, perPart: n}
	cfg, err := source.ConfigFromProperties(worker, connector, source.PropertyOptions{
		NewTask: func() source.Task { return task }, OffsetStore: offsets.NewMemoryStore(),
	})
	if err != nil {
		return err
	}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.After(120 * time.Second)
	for {
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Run returned nil before the records were acknowledged")
			}
			return err
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("neither %d acks nor a failure within 120 s: status %+v", n, p.PipelineStatus())
		case <-time.After(20 * time.Millisecond):
		}
		st := p.PipelineStatus()
		if len(st.Tasks) > 0 && st.Tasks[0].RecordsOut >= n {
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
			return nil
		}
		if len(st.Tasks) > 0 && st.Tasks[0].State == connect.StateFailed {
			// The task failed (the connector stays RUNNING, as in Kafka
			// Connect): stop; Run returns the task's failure.
			cancel()
			return <-done
		}
	}
}

// noSecret fails when text holds the test password.
func noSecret(t *testing.T, text string) {
	t.Helper()
	for _, s := range []string{secretPassword, "s3cr3t"} {
		if strings.Contains(text, s) {
			t.Errorf("the secret appears in: %s", text)
		}
	}
}

// TestSecureSourceFromProperties: a source pipeline configured only by
// Kafka Connect worker properties delivers to a broker over SSL (client
// certificate required), SASL_SSL with SCRAM-SHA-512 and SASL_PLAINTEXT
// with PLAIN, with the stores given as PEM files, inline PEM, PKCS12 and
// JKS.
func TestSecureSourceFromProperties(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	p12Key, p12Trust := pki.PKCS12(t, "storepass")
	jksKey, jksTrust := pki.JKS(t, "storepass")

	cases := []struct {
		name    string
		cluster []kfake.Opt
		worker  map[string]string
	}{
		{"SSL PEM files, client certificate", []kfake.Opt{kfake.TLS(pki.ServerTLS(true))}, map[string]string{
			"producer.security.protocol":       "SSL",
			"producer.ssl.truststore.type":     "PEM",
			"producer.ssl.truststore.location": pki.CAFile,
			"producer.ssl.keystore.type":       "PEM",
			"producer.ssl.keystore.location":   pki.ClientPEMFile,
		}},
		{"SSL inline PEM", []kfake.Opt{kfake.TLS(pki.ServerTLS(true))}, map[string]string{
			"producer.security.protocol":              "ssl",
			"producer.ssl.truststore.type":            "PEM",
			"producer.ssl.truststore.certificates":    pki.CAPEM,
			"producer.ssl.keystore.type":              "PEM",
			"producer.ssl.keystore.certificate.chain": pki.ClientCertPEM,
			"producer.ssl.keystore.key":               pki.ClientKeyPEM,
			"producer.ssl.enabled.protocols":          "TLSv1.3",
		}},
		{"SSL PKCS12", []kfake.Opt{kfake.TLS(pki.ServerTLS(true))}, map[string]string{
			"producer.security.protocol":       "SSL",
			"producer.ssl.truststore.type":     "PKCS12",
			"producer.ssl.truststore.location": p12Trust,
			"producer.ssl.truststore.password": "storepass",
			"producer.ssl.keystore.type":       "PKCS12",
			"producer.ssl.keystore.location":   p12Key,
			"producer.ssl.keystore.password":   "storepass",
		}},
		{"SSL JKS (the default type), no host name check", []kfake.Opt{kfake.TLS(pki.ServerTLS(true))}, map[string]string{
			"producer.security.protocol":                     "SSL",
			"producer.ssl.truststore.location":               jksTrust,
			"producer.ssl.truststore.password":               "storepass",
			"producer.ssl.keystore.location":                 jksKey,
			"producer.ssl.keystore.password":                 "storepass",
			"producer.ssl.key.password":                      "storepass",
			"producer.ssl.endpoint.identification.algorithm": "",
		}},
		{"SASL_SSL SCRAM-SHA-512", []kfake.Opt{kfake.TLS(pki.ServerTLS(false)), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "connect", secretPassword)}, map[string]string{
			"producer.security.protocol":       "SASL_SSL",
			"producer.ssl.truststore.type":     "PEM",
			"producer.ssl.truststore.location": pki.CAFile,
			"producer.sasl.mechanism":          "SCRAM-SHA-512",
			"producer.sasl.jaas.config":        `org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="` + secretJAASPass + `";`,
		}},
		{"SASL_PLAINTEXT PLAIN", []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "connect", secretPassword)}, map[string]string{
			"producer.security.protocol": "SASL_PLAINTEXT",
			"producer.sasl.mechanism":    "PLAIN",
			"producer.sasl.jaas.config":  `org.apache.kafka.common.security.plain.PlainLoginModule required username="connect" password="` + secretJAASPass + `";`,
		}},
		{"SASL_PLAINTEXT SCRAM-SHA-256", []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "connect", secretPassword)}, map[string]string{
			"producer.security.protocol": "SASL_PLAINTEXT",
			"producer.sasl.mechanism":    "SCRAM-SHA-256",
			"producer.sasl.jaas.config":  `org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="` + secretJAASPass + `";`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			brokers := secureCluster(t, tc.cluster...)
			if err := runSecureSource(t, brokers, tc.worker, map[string]string{}, 20); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

// TestSecureSourceOverride: the connector's producer.override.* keys join
// the worker's producer.* ones (per-connector credentials).
func TestSecureSourceOverride(t *testing.T) {
	brokers := secureCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "conn-a", secretPassword))
	worker := map[string]string{"producer.security.protocol": "SASL_PLAINTEXT", "producer.sasl.mechanism": "PLAIN"}
	connector := map[string]string{
		"producer.override.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="conn-a" password="` + secretJAASPass + `";`,
	}
	if err := runSecureSource(t, brokers, worker, connector, 5); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestSecureSourceFailures: a wrong password and an untrusted broker
// certificate fail the pipeline (not a stall) with an error that says
// which, and never show the secret.
func TestSecureSourceFailures(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	other := kafkatest.NewPKI(t) // a CA that did not sign the broker's certificate

	t.Run("wrong password", func(t *testing.T) {
		c := secureKfake(t, kfake.TLS(pki.ServerTLS(false)), kfake.EnableSASL(), kfake.Superuser("PLAIN", "connect", "another-password"))
		kafkatest.AnswerPlainLikeKafka(c, "another-password")
		err := runSecureSource(t, c.ListenAddrs(), map[string]string{
			"producer.security.protocol":       "SASL_SSL",
			"producer.ssl.truststore.type":     "PEM",
			"producer.ssl.truststore.location": pki.CAFile,
			"producer.sasl.mechanism":          "PLAIN",
			"producer.sasl.jaas.config":        `org.apache.kafka.common.security.plain.PlainLoginModule required username="connect" password="` + secretJAASPass + `";`,
		}, map[string]string{}, 5)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authentication failed") {
			t.Fatalf("Run: %v, want an authentication failure", err)
		}
		noSecret(t, err.Error())
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		brokers := secureCluster(t, kfake.TLS(pki.ServerTLS(false)))
		err := runSecureSource(t, brokers, map[string]string{
			"producer.security.protocol":       "SSL",
			"producer.ssl.truststore.type":     "PEM",
			"producer.ssl.truststore.location": other.CAFile,
		}, map[string]string{}, 5)
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("Run: %v, want an untrusted certificate failure", err)
		}
	})
}

// TestWorkerSecurityKeys: the worker's top-level security keys configure
// the worker's own clients (the offsets store), not the task producers,
// as in Kafka Connect: they are checked, naming the key, and refused when
// the pipeline would open the offsets topic store itself without them.
func TestWorkerSecurityKeys(t *testing.T) {
	opts := source.PropertyOptions{NewTask: func() source.Task { return nil }}
	connector := map[string]string{"name": "c"}
	worker := map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
		"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="` + secretJAASPass + `";`}
	_, err := source.ConfigFromProperties(worker, connector, opts)
	if err == nil || !strings.Contains(err.Error(), "offsets.OpenFromProperties") {
		t.Errorf("no store given: %v, want an error saying to open the store", err)
	}
	opts.OffsetStore = offsets.NewMemoryStore()
	cfg, err := source.ConfigFromProperties(worker, connector, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ProducerProps) != 0 {
		t.Errorf("top-level keys reached the producer: %v", cfg.ProducerProps)
	}
	worker["sasl.mechanism"] = "GSSAPI"
	_, err = source.ConfigFromProperties(worker, connector, opts)
	if err == nil || !strings.Contains(err.Error(), "sasl.mechanism") {
		t.Errorf("GSSAPI: %v, want an error naming sasl.mechanism", err)
	}
	delete(worker, "sasl.mechanism")
	worker["producer.security.protocol"] = "SASL_PLAINTEXT"
	worker["producer.sasl.mechanism"] = "PLAIN"
	connector["producer.override.sasl.jaas.config"] = "nonsense" + secretPassword
	_, err = source.ConfigFromProperties(worker, connector, opts)
	if err == nil || !strings.Contains(err.Error(), "producer.override.sasl.jaas.config") || !strings.Contains(err.Error(), `"sasl.mechanism`) && !strings.Contains(err.Error(), "sasl.mechanism:") {
		t.Errorf("override: %v, want errors naming producer.override.sasl.jaas.config and sasl.mechanism", err)
	}
	if err != nil {
		noSecret(t, err.Error())
	}
}

// oauthBroker makes c accept SASL/OAUTHBEARER (kfake has no OAUTHBEARER)
// as Apache Kafka does: the handshake lists the mechanism, and an
// authentication carrying token succeeds, any other fails with
// SASL_AUTHENTICATION_FAILED. It returns how many authentications
// succeeded.
func oauthBroker(c *kfake.Cluster, token string) *atomic.Int64 {
	var ok atomic.Int64
	c.ControlKey(kmsg.SASLHandshake.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.SASLHandshakeRequest)
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.Version = req.Version
		resp.SupportedMechanisms = []string{"OAUTHBEARER"}
		if req.Mechanism != "OAUTHBEARER" {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		}
		return resp, nil, true
	})
	c.ControlKey(kmsg.SASLAuthenticate.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.Version = req.Version
		// RFC 7628's initial client response: n,,\x01auth=Bearer <token>\x01\x01
		if bytes.Contains(req.SASLAuthBytes, []byte("\x01auth=Bearer "+token+"\x01")) {
			ok.Add(1)
			return resp, nil, true
		}
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: invalid token"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	return &ok
}

// tokenEndpoint serves OAuth 2 client credentials grants for id/secret,
// handing out token; it counts the requests.
func tokenEndpoint(t *testing.T, id, secret, token string) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		// RFC 6749 2.3.1: the id and secret are form-encoded in Basic.
		u, p, _ := r.BasicAuth()
		u, _ = url.QueryUnescape(u)
		p, _ = url.QueryUnescape(p)
		if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "kafka" || u != id || p != secret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"`+token+`","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token", &n
}

// TestSecureSourceOAuthBearer: SASL_PLAINTEXT with OAUTHBEARER and Kafka's
// OIDC client credentials keys: the token comes from the endpoint, once,
// and is presented to the broker; a wrong client secret fails the task
// with an authentication error that shows no secret.
func TestSecureSourceOAuthBearer(t *testing.T) {
	const token = "eyJ.test-token.sig"
	endpoint, requests := tokenEndpoint(t, "sluice-client", secretPassword, token)
	props := func(secret string) map[string]string {
		return map[string]string{
			"producer.security.protocol":                   "SASL_PLAINTEXT",
			"producer.sasl.mechanism":                      "OAUTHBEARER",
			"producer.sasl.login.callback.handler.class":   "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
			"producer.sasl.oauthbearer.token.endpoint.url": endpoint,
			"producer.sasl.jaas.config": `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="sluice-client" clientSecret="` +
				secret + `" scope="kafka";`,
		}
	}
	c := secureKfake(t)
	auths := oauthBroker(c, token)
	if err := runSecureSource(t, c.ListenAddrs(), props(secretJAASPass), map[string]string{}, 10); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if auths.Load() == 0 {
		t.Error("the broker saw no OAUTHBEARER authentication")
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d token requests, want 1: the token is reused until it nears expiry", n)
	}

	c = secureKfake(t)
	oauthBroker(c, token)
	err := runSecureSource(t, c.ListenAddrs(), props("wrong-"+secretJAASPass), map[string]string{}, 5)
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("Run: %v, want an authentication failure at the token endpoint", err)
	}
	noSecret(t, err.Error())
}

// TestSourceAdminClientProps: the task's admin client (topic creation)
// takes its security from the worker's top-level keys, admin.* and the
// connector's admin.override.*, in that order, as Kafka Connect's
// Worker.adminConfigs; with none of them it uses the producer's.
func TestSourceAdminClientProps(t *testing.T) {
	jaas := func(pw string) string {
		return `org.apache.kafka.common.security.plain.PlainLoginModule required username="connect" password="` + pw + `";`
	}
	producer := map[string]string{
		"producer.security.protocol": "SASL_PLAINTEXT", "producer.sasl.mechanism": "PLAIN",
		"producer.sasl.jaas.config": jaas(secretJAASPass),
	}
	creation := map[string]string{"topic.creation.default.replication.factor": "1", "topic.creation.default.partitions": "1"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	wrongAdmin := with(producer, "admin.security.protocol", "SASL_PLAINTEXT", "admin.sasl.mechanism", "PLAIN",
		"admin.sasl.jaas.config", jaas("wrong-admin-pass"))
	cases := []struct {
		name              string
		worker, connector map[string]string
		fail              bool
	}{
		{"no admin keys: the producer's security", producer, creation, false},
		{"admin.* wrong password", wrongAdmin, creation, true},
		{"admin.override.* wins over admin.*", wrongAdmin, with(creation, "admin.override.sasl.jaas.config", jaas(secretJAASPass)), false},
		{"top-level keys reach the admin client", with(producer, "security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
			"sasl.jaas.config", jaas("wrong-worker-pass")), creation, true},
		{"admin.* wins over the top-level keys", with(wrongAdmin, "security.protocol", "PLAINTEXT",
			"admin.sasl.jaas.config", jaas(secretJAASPass)), creation, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := secureKfake(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "connect", secretPassword))
			kafkatest.AnswerPlainLikeKafka(c, secretPassword)
			err := runSecureSource(t, c.ListenAddrs(), maps.Clone(tc.worker), maps.Clone(tc.connector), 5)
			switch {
			case tc.fail && (err == nil || !strings.Contains(strings.ToLower(err.Error()), "authentication failed") || !strings.Contains(err.Error(), "admin")):
				t.Fatalf("Run: %v, want the admin client's authentication failure", err)
			case !tc.fail && err != nil:
				t.Fatalf("Run: %v", err)
			}
			if err != nil {
				t.Log(err)
				noSecret(t, err.Error())
			}
		})
	}
}
