package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestSecureApacheKafka is issue #17's "Show it" on a secured Apache Kafka
// broker of the test's own (kafkatest.StartSecureKafka: SASL_SSL with
// SCRAM-SHA-512, SSL with required client certificates, SASL_PLAINTEXT
// with PLAIN, the StandardAuthorizer with no access unless granted). The
// connector principal User:connect may read and write the sec-* topics and
// use the connect-* consumer groups, but may not create topics. Through
// worker and connector property files, with every password coming from a
// ${file:…} config provider reference:
//
//   - for each listener kind a FileStreamSource → topic → FileStreamSink
//     copies every line, and the secrets appear in no log line and no REST
//     response;
//   - a wrong SCRAM password, a truststore of another CA and a topic the
//     principal may not write each fail the source task (FAILED, not
//     retrying) with a trace in its REST status that says which: the
//     authentication failure and the mechanism, the unknown certificate
//     authority, the topic the client may not access.
//
// Without the broker's jars (scripts/kafka/start.sh fetches them), java,
// openssl or keytool it skips, except under CI=true or
// SLUICE_REQUIRE_KAFKA=1, where it fails.
func TestSecureApacheKafka(t *testing.T) {
	k := kafkatest.StartSecureKafka(t)
	c := k.Certs
	principal := "User:" + kafkatest.SecureUser
	k.Allow(t, principal, sarama.AclResourceTopic, "sec-", sarama.AclPatternPrefixed,
		sarama.AclOperationRead, sarama.AclOperationWrite, sarama.AclOperationDescribe)
	k.Allow(t, principal, sarama.AclResourceGroup, "connect-sec-", sarama.AclPatternPrefixed,
		sarama.AclOperationRead, sarama.AclOperationDescribe)

	dir := t.TempDir()
	secrets := writeFile(t, dir, "secrets.properties",
		"password="+kafkatest.SecurePassword,
		"wrong=not-the-Password-99",
		"store.password="+kafkatest.SecureStorePassword)
	ref := func(key string) string { return "${file:" + secrets + ":" + key + "}" }
	// Every secret of the run: no log line or REST response may hold one.
	secretValues := []string{kafkatest.SecurePassword, kafkatest.SecureStorePassword, "not-the-Password-99"}

	scram := func(pwKey string) []string {
		return []string{
			"security.protocol=SASL_SSL",
			"sasl.mechanism=SCRAM-SHA-512",
			`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="` +
				kafkatest.SecureUser + `" password="` + ref(pwKey) + `";`,
			"ssl.truststore.type=PEM",
			"ssl.truststore.location=" + c.CAFile,
		}
	}
	// The SSL listener: the producer with PKCS12 stores, the consumer with
	// JKS stores.
	sslPKCS12 := []string{
		"security.protocol=SSL",
		"ssl.truststore.type=PKCS12", "ssl.truststore.location=" + c.TrustPKCS12, "ssl.truststore.password=" + ref("store.password"),
		"ssl.keystore.type=PKCS12", "ssl.keystore.location=" + c.ClientPKCS12, "ssl.keystore.password=" + ref("store.password"),
	}
	sslJKS := []string{
		"security.protocol=SSL",
		"ssl.truststore.type=JKS", "ssl.truststore.location=" + c.TrustJKS, "ssl.truststore.password=" + ref("store.password"),
		"ssl.keystore.type=JKS", "ssl.keystore.location=" + c.ClientJKS, "ssl.keystore.password=" + ref("store.password"),
		"ssl.key.password=" + ref("store.password"),
	}
	plain := []string{
		"security.protocol=SASL_PLAINTEXT",
		"sasl.mechanism=PLAIN",
		`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="` +
			kafkatest.SecureUser + `" password="` + ref("password") + `";`,
	}

	// run starts a worker on bootstrap with the producer's and consumer's
	// security keys, a FileStreamSource of n lines into topic and, if sink,
	// a FileStreamSink of topic.
	type run struct {
		rw       *runningWorker
		logs     *syncBuffer
		in, out  string
		input    []byte
		base     string
		src, snk string
		sink     bool
	}
	start := func(t *testing.T, name, bootstrap, topic string, producer, consumer []string, n int, sink bool) *run {
		t.Helper()
		d := t.TempDir()
		r := &run{in: filepath.Join(d, "in.txt"), out: filepath.Join(d, "out.txt"), input: lines(0, n),
			src: "sec-" + name + "-source", snk: "sec-" + name + "-sink", sink: sink}
		if err := os.WriteFile(r.in, r.input, 0o644); err != nil {
			t.Fatal(err)
		}
		extra := []string{
			"offset.storage.file.filename=" + filepath.Join(d, "offsets"),
			"config.providers=file",
			"config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
		}
		for _, kv := range producer {
			extra = append(extra, "producer."+kv)
		}
		for _, kv := range consumer {
			extra = append(extra, "consumer."+kv)
		}
		files := []string{
			writeFile(t, d, "worker.properties", workerProps([]string{bootstrap}, extra...)...),
			writeFile(t, d, "source.properties", "name="+r.src, "connector.class=FileStreamSource", "file="+r.in, "topic="+topic),
		}
		if sink {
			files = append(files, writeFile(t, d, "sink.properties", "name="+r.snk, "connector.class=FileStreamSink",
				"file="+r.out, "topics="+topic))
		}
		r.logs = &syncBuffer{}
		r.rw = startWorkerLogging(t, io.MultiWriter(r.logs, logOutput()), files...)
		r.base = "http://" + r.rw.w.restAddrs()[0]
		return r
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	// get returns the body of GET path, failing t unless it is 200 OK; it
	// fails t if the body holds a secret.
	get := func(t *testing.T, r *run, path string) string {
		t.Helper()
		resp, err := client.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
		}
		for _, s := range secretValues {
			if strings.Contains(string(b), s) {
				t.Errorf("GET %s shows a secret: %s", path, b)
			}
		}
		return string(b)
	}
	// noSecretLogged fails t if a log line of r holds a secret.
	noSecretLogged := func(t *testing.T, r *run) {
		t.Helper()
		if !strings.Contains(r.logs.String(), "standalone worker started") {
			t.Errorf("the worker's logs were not captured:\n%s", r.logs)
		}
		for _, line := range strings.Split(r.logs.String(), "\n") {
			for _, s := range secretValues {
				if strings.Contains(line, s) {
					t.Errorf("a log line shows a secret: %s", line)
				}
			}
		}
	}
	// restChecks reads every REST resource of r's connectors.
	restChecks := func(t *testing.T, r *run) {
		t.Helper()
		get(t, r, "/connectors?expand=status&expand=info")
		names := []string{r.src}
		if r.sink {
			names = append(names, r.snk)
		}
		for _, name := range names {
			for _, p := range []string{"", "/config", "/status", "/tasks", "/tasks/0/status", "/offsets"} {
				get(t, r, "/connectors/"+name+p)
			}
		}
	}

	const n = 300
	for _, l := range []struct {
		name, bootstrap    string
		producer, consumer []string
	}{
		{"sasl-ssl", k.SASLSSL, scram("password"), scram("password")},
		{"ssl", k.SSL, sslPKCS12, sslJKS},
		{"sasl-plaintext", k.SASLPlaintext, plain, plain},
	} {
		t.Run(l.name, func(t *testing.T) {
			topic := "sec-" + l.name
			k.CreateTopic(t, topic, 1)
			r := start(t, l.name, l.bootstrap, topic, l.producer, l.consumer, n, true)
			waitForFile(t, r.out, r.input)
			restChecks(t, r)
			r.rw.stop()
			noSecretLogged(t, r)
			if !strings.Contains(r.logs.String(), ref("password")) && !strings.Contains(r.logs.String(), ref("store.password")) {
				t.Logf("note: the logs do not show the worker's ${file:…} references")
			}
		})
	}

	// failed waits until the source connector's task 0 is FAILED and
	// returns its trace.
	failed := func(t *testing.T, r *run) string {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var st struct {
				Tasks []struct {
					State string `json:"state"`
					Trace string `json:"trace"`
				} `json:"tasks"`
			}
			body := get(t, r, "/connectors/"+r.src+"/status")
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatalf("status: %v: %s", err, body)
			}
			if len(st.Tasks) > 0 && st.Tasks[0].State == "FAILED" {
				return st.Tasks[0].Trace
			}
			if time.Now().After(deadline) {
				t.Fatalf("the task is not FAILED after 90s: %s\nlogs:\n%s", body, r.logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wantIn := func(t *testing.T, trace string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(strings.ToLower(trace), strings.ToLower(w)) {
				t.Errorf("the trace does not say %q:\n%s", w, trace)
			}
		}
	}

	t.Run("wrong SCRAM password", func(t *testing.T) {
		topic := "sec-wrong-password"
		k.CreateTopic(t, topic, 1)
		r := start(t, "wrong-password", k.SASLSSL, topic, scram("wrong"), nil, 10, false)
		trace := failed(t, r)
		wantIn(t, trace, "SCRAM-SHA-512", "authentication")
		restChecks(t, r)
		r.rw.stop()
		noSecretLogged(t, r)
	})
	t.Run("untrusted broker certificate", func(t *testing.T) {
		topic := "sec-untrusted"
		k.CreateTopic(t, topic, 1)
		producer := scram("password")
		producer[len(producer)-1] = "ssl.truststore.location=" + c.OtherCAFile
		r := start(t, "untrusted", k.SASLSSL, topic, producer, nil, 10, false)
		trace := failed(t, r)
		wantIn(t, trace, "certificate", "unknown authority")
		r.rw.stop()
		noSecretLogged(t, r)
	})
	t.Run("missing ACL", func(t *testing.T) {
		topic := "denied-" + kafkatest.Topic(t)
		k.CreateTopic(t, topic, 1)
		r := start(t, "denied", k.SASLSSL, topic, scram("password"), nil, 10, false)
		trace := failed(t, r)
		wantIn(t, trace, "not authorized to access this topic", "topic "+topic)
		r.rw.stop()
		noSecretLogged(t, r)
	})
}
