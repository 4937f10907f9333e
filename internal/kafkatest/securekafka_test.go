package kafkatest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// TestSecureKafka: the secured Apache Kafka broker authenticates
// User:connect on each listener through kafkaconf's property mapping (PEM,
// PKCS12 and JKS stores), refuses it without ACLs and with a wrong
// password, refuses it topic creation, and lets it produce once granted
// WRITE on the topic. The first port StartSecureKafka picks for the SSL
// listener is taken by another listener: it starts again on other ports.
func TestSecureKafka(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	attempts := 0
	securePorts = func(t testing.TB, n int) []int {
		attempts++
		ports := freePorts(t, n)
		if attempts == 1 {
			ports[1] = taken.Addr().(*net.TCPAddr).Port
		}
		return ports
	}
	defer func() { securePorts = freePorts }()
	k := StartSecureKafka(t)
	if attempts != 2 || k.SSL == taken.Addr().String() {
		t.Errorf("started on %s after %d attempts, want a second attempt on other ports than the taken %s", k.SSL, attempts, taken.Addr())
	}
	c := k.Certs
	jaas := func(module, pw string) string {
		return "org.apache.kafka.common.security." + module + " required username=\"" + SecureUser + "\" password=\"" + pw + "\";"
	}
	listeners := []struct {
		name, addr string
		props      map[string]string
	}{
		{"SASL_SSL PEM", k.SASLSSL, map[string]string{
			"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
			"sasl.jaas.config":    jaas("scram.ScramLoginModule", SecurePassword),
			"ssl.truststore.type": "PEM", "ssl.truststore.location": c.CAFile}},
		{"SSL PEM", k.SSL, map[string]string{
			"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": c.CAFile,
			"ssl.keystore.type": "PEM", "ssl.keystore.location": c.ClientPEMFile}},
		{"SSL PKCS12", k.SSL, map[string]string{
			"security.protocol":   "SSL",
			"ssl.truststore.type": "PKCS12", "ssl.truststore.location": c.TrustPKCS12, "ssl.truststore.password": SecureStorePassword,
			"ssl.keystore.type": "PKCS12", "ssl.keystore.location": c.ClientPKCS12, "ssl.keystore.password": SecureStorePassword}},
		{"SSL JKS", k.SSL, map[string]string{
			"security.protocol":   "SSL",
			"ssl.truststore.type": "JKS", "ssl.truststore.location": c.TrustJKS, "ssl.truststore.password": SecureStorePassword,
			"ssl.keystore.type": "JKS", "ssl.keystore.location": c.ClientJKS, "ssl.keystore.password": SecureStorePassword,
			"ssl.key.password": SecureStorePassword}},
		{"SASL_PLAINTEXT", k.SASLPlaintext, map[string]string{
			"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
			"sasl.jaas.config": jaas("plain.PlainLoginModule", SecurePassword)}},
	}
	// Stores as keytool writes them by default: a PKCS12 keystore (Java's
	// PBES2/AES-256), a JKS keystore whose key password differs from the
	// store password; and the inline PEM forms.
	dir := t.TempDir()
	const keyPW = "key-Secret-77"
	keytool := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("keytool", args...).CombinedOutput(); err != nil {
			t.Fatalf("keytool %v: %v\n%s", args, err, out)
		}
	}
	javaP12, keyPWJKS := filepath.Join(dir, "java.p12"), filepath.Join(dir, "keypw.jks")
	keytool("-importkeystore", "-noprompt", "-srckeystore", c.ClientPKCS12, "-srcstoretype", "PKCS12",
		"-srcstorepass", SecureStorePassword, "-destkeystore", javaP12, "-deststoretype", "PKCS12",
		"-deststorepass", SecureStorePassword)
	keytool("-importkeystore", "-noprompt", "-srckeystore", c.ClientPKCS12, "-srcstoretype", "PKCS12",
		"-srcstorepass", SecureStorePassword, "-destkeystore", keyPWJKS, "-deststoretype", "JKS",
		"-deststorepass", SecureStorePassword, "-destkeypass", keyPW)
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	listeners = append(listeners, []struct {
		name, addr string
		props      map[string]string
	}{
		{"SASL_SSL SCRAM-SHA-256", k.SASLSSL, map[string]string{
			"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256",
			"sasl.jaas.config":    jaas("scram.ScramLoginModule", SecurePassword),
			"ssl.truststore.type": "PEM", "ssl.truststore.location": c.CAFile}},
		{"SSL keytool PKCS12", k.SSL, map[string]string{
			"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": c.CAFile,
			"ssl.keystore.type": "PKCS12", "ssl.keystore.location": javaP12, "ssl.keystore.password": SecureStorePassword}},
		{"SSL JKS key password", k.SSL, map[string]string{
			"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": c.CAFile,
			"ssl.keystore.location": keyPWJKS, "ssl.keystore.password": SecureStorePassword, "ssl.key.password": keyPW}},
		{"SSL inline PEM", k.SSL, map[string]string{
			"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.certificates": read(c.CAFile),
			"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": read(c.ClientCertFile),
			"ssl.keystore.key": read(c.ClientKeyFile)}},
	}...)
	topic := Topic(t)
	k.CreateTopic(t, topic, 1)
	config := func(t *testing.T, props map[string]string) *sarama.Config {
		cfg := SaramaConfig(t)
		cfg.Metadata.AllowAutoTopicCreation = false
		cfg.Metadata.Retry.Max = 1
		cfg.Producer.Retry.Max = 1
		if err := kafkaconf.ApplySecurity(cfg, props, func(k string) string { return k }); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	produce := func(addr string, cfg *sarama.Config) error {
		p, err := sarama.NewSyncProducer([]string{addr}, cfg)
		if err != nil {
			return err
		}
		defer p.Close()
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("x")})
		return err
	}

	for _, l := range listeners {
		t.Run(l.name+" denied without ACL", func(t *testing.T) {
			err := produce(l.addr, config(t, l.props))
			if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
				t.Errorf("producing without an ACL: %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
			}
		})
	}
	k.Allow(t, "User:"+SecureUser, sarama.AclResourceTopic, topic, sarama.AclPatternLiteral,
		sarama.AclOperationWrite, sarama.AclOperationDescribe)
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			if err := produce(l.addr, config(t, l.props)); err != nil {
				t.Errorf("producing as %s: %v", SecureUser, err)
			}
			a, err := sarama.NewClusterAdmin([]string{l.addr}, config(t, l.props))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			err = a.CreateTopic(Topic(t), &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
			if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) && !errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
				t.Errorf("creating a topic as %s: %v, want an authorization failure", SecureUser, err)
			}
		})
	}
	t.Run("wrong SCRAM password", func(t *testing.T) {
		props := map[string]string{}
		for k, v := range listeners[0].props {
			props[k] = v
		}
		props["sasl.jaas.config"] = jaas("scram.ScramLoginModule", "wrong")
		err := produce(k.SASLSSL, config(t, props))
		if err == nil || !strings.Contains(err.Error(), "SCRAM") && !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
			t.Errorf("wrong password: %v, want an authentication failure", err)
		}
	})
}

// skipRecorder is a fatalRecorder whose Skipf records the message and ends
// the calling goroutine, without skipping the test.
type skipRecorder struct {
	fatalRecorder
	skip string
}

func (s *skipRecorder) Skipf(format string, args ...any) {
	s.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartSecureKafkaStrictness: when the secured broker cannot start
// (here: no java, openssl or keytool on PATH), StartSecureKafka skips
// locally but fails under CI=true and SLUICE_REQUIRE_KAFKA=1.
func TestStartSecureKafkaStrictness(t *testing.T) {
	for _, c := range []struct {
		ci, req string
		fail    bool
	}{
		{"", "", false},
		{"false", "0", false},
		{"true", "", true},
		{"", "1", true},
	} {
		t.Run(fmt.Sprintf("CI=%s,%s=%s", c.ci, EnvRequire, c.req), func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", c.ci)
			t.Setenv(EnvRequire, c.req)
			r := &skipRecorder{fatalRecorder: fatalRecorder{TB: t}}
			done := make(chan struct{})
			go func() {
				defer close(done)
				StartSecureKafka(r)
				t.Error("StartSecureKafka returned without java, openssl and keytool")
			}()
			<-done
			switch {
			case c.fail && (r.msg == "" || !strings.Contains(r.msg, "required")):
				t.Errorf("failed with %q (skipped with %q), want a failure saying the broker is required", r.msg, r.skip)
			case !c.fail && (r.skip == "" || r.msg != ""):
				t.Errorf("skipped with %q (failed with %q), want a skip", r.skip, r.msg)
			}
		})
	}
}
