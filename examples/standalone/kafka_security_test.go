package main

import (
	"crypto/tls"
	"crypto/x509"
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
//   - in the SASL_SSL run the REST API is served over https with Kafka
//     Connect's BasicAuthSecurityRestExtension, which answers a wrong
//     password (or an unknown user) 401;
//   - a wrong SCRAM password, a truststore of another CA and a topic the
//     principal may not write each fail the source task (FAILED, not
//     retrying) with a trace in its REST status that says which: the
//     authentication failure and the mechanism, the unknown certificate
//     authority, the topic the client may not access; so does a source
//     whose topic.creation.* asks to create a topic.
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
	// Consumer groups: each sink run is granted its own (connect-<name>).
	allowGroup := func(t *testing.T, sink string) {
		k.Allow(t, principal, sarama.AclResourceGroup, "connect-"+sink, sarama.AclPatternLiteral,
			sarama.AclOperationRead, sarama.AclOperationDescribe)
	}

	dir := t.TempDir()
	secrets := writeFile(t, dir, "secrets.properties",
		"password="+kafkatest.SecurePassword,
		"wrong=not-the-Password-99",
		"store.password="+kafkatest.SecureStorePassword,
		"admin.password="+kafkatest.SecureAdminPassword)
	ref := func(key string) string { return "${file:" + secrets + ":" + key + "}" }
	// Every secret of the run: no log line or REST response may hold one.
	secretValues := []string{kafkatest.SecurePassword, kafkatest.SecureStorePassword, "not-the-Password-99", kafkatest.SecureAdminPassword}

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

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 90 * time.Second}
	// run starts a worker on bootstrap with the producer's and consumer's
	// security keys, a FileStreamSource of n lines into topic and, if sink,
	// a FileStreamSink of topic, with the extra worker lines.
	type run struct {
		rw       *runningWorker
		logs     *syncBuffer
		in, out  string
		input    []byte
		base     string
		src, snk string
		sink     bool
		// client and, if set, the basic auth user and password of the
		// REST API.
		client       *http.Client
		user, passwd string
	}
	start := func(t *testing.T, name, bootstrap, topic string, producer, consumer []string, n int, sink bool, worker ...string) *run {
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
		extra = append(extra, worker...)
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
		r.base = r.rw.w.restURLs()[0]
		r.client = client
		return r
	}
	// request sends GET path with r's REST credentials, or user and
	// password if given, and returns the status and body; it fails t if
	// the body holds a secret.
	request := func(t *testing.T, r *run, path string, userPassword ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(userPassword) == 2:
			req.SetBasicAuth(userPassword[0], userPassword[1])
		case r.user != "":
			req.SetBasicAuth(r.user, r.passwd)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, s := range secretValues {
			if strings.Contains(string(b), s) {
				t.Errorf("GET %s shows a secret: %s", path, b)
			}
		}
		return resp.StatusCode, string(b)
	}
	// get returns the body of GET path, failing t unless it is 200 OK.
	get := func(t *testing.T, r *run, path string) string {
		t.Helper()
		code, body := request(t, r, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d: %s", path, code, body)
		}
		return body
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
	// restChecks reads every REST resource of r's connectors (failing t
	// if one shows a secret).
	restChecks := func(t *testing.T, r *run) {
		t.Helper()
		get(t, r, "/connectors?expand=status&expand=info")
		names := []string{r.src}
		if r.sink {
			names = append(names, r.snk)
		}
		for _, name := range names {
			for _, p := range []string{"", "/config", "/status", "/tasks", "/tasks/0/status"} {
				get(t, r, "/connectors/"+name+p)
			}
			// A sink's offsets need a client of its own, which fails
			// (500) where the task's did, after its retries (slow on
			// a loaded machine: hence the clients' long timeouts): the
			// body is checked all the same.
			request(t, r, "/connectors/"+name+"/offsets")
		}
	}

	// The SASL_SSL run serves the REST API over https (the broker's
	// certificate) with Kafka Connect's basic auth extension.
	const restUser, restPassword = "operator", "rest-Pa55word-31"
	secretValues = append(secretValues, restPassword)
	credentials := writeFile(t, dir, "rest-credentials.properties", restUser+"="+restPassword)
	restJAAS := writeFile(t, dir, "rest-jaas.conf",
		"KafkaConnect {",
		"  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required",
		`  file="`+credentials+`";`,
		"};")
	httpsREST := []string{
		"listeners=https://127.0.0.1:0",
		"listeners.https.ssl.keystore.type=PKCS12",
		"listeners.https.ssl.keystore.location=" + c.ServerPKCS12,
		"listeners.https.ssl.keystore.password=" + ref("store.password"),
		"rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension",
	}
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no certificate in " + c.CAFile)
	}
	httpsClient := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}

	const n = 300
	for _, l := range []struct {
		name, bootstrap    string
		producer, consumer []string
		worker             []string
	}{
		{"sasl-ssl", k.SASLSSL, scram("password"), scram("password"), httpsREST},
		{"ssl", k.SSL, sslPKCS12, sslJKS, nil},
		{"sasl-plaintext", k.SASLPlaintext, plain, plain, nil},
	} {
		t.Run(l.name, func(t *testing.T) {
			topic := "sec-" + l.name
			k.CreateTopic(t, topic, 1)
			allowGroup(t, "sec-"+l.name+"-sink")
			if l.worker != nil {
				t.Setenv("KAFKA_OPTS", "-Djava.security.auth.login.config="+restJAAS)
			}
			r := start(t, l.name, l.bootstrap, topic, l.producer, l.consumer, n, true, l.worker...)
			if l.worker != nil {
				if !strings.HasPrefix(r.base, "https://") {
					t.Fatalf("REST API at %s, want https", r.base)
				}
				r.client, r.user, r.passwd = httpsClient, restUser, restPassword
				for _, creds := range [][]string{{restUser, "wrong-Password"}, {"nobody", restPassword}} {
					if code, body := request(t, r, "/connectors", creds...); code != http.StatusUnauthorized {
						t.Errorf("GET /connectors as %s with a wrong password: %d %s, want 401", creds[0], code, body)
					}
				}
			}
			waitForFile(t, r.out, r.input)
			restChecks(t, r)
			r.rw.stop()
			noSecretLogged(t, r)
		})
	}

	// failed waits until the source connector's task 0 (or the
	// connector named) is FAILED and returns its trace.
	failed := func(t *testing.T, r *run, connector ...string) string {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var st struct {
				Tasks []struct {
					State string `json:"state"`
					Trace string `json:"trace"`
				} `json:"tasks"`
			}
			name := r.src
			if len(connector) > 0 {
				name = connector[0]
			}
			body := get(t, r, "/connectors/"+name+"/status")
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
		allowGroup(t, "sec-wrong-password-sink")
		r := start(t, "wrong-password", k.SASLSSL, topic, scram("wrong"), scram("wrong"), 10, true)
		wantIn(t, failed(t, r), "SCRAM-SHA-512", "authentication failed")
		wantIn(t, failed(t, r, r.snk), "SCRAM-SHA-512", "authentication failed")
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
	t.Run("missing group ACL", func(t *testing.T) {
		// A sink whose principal may not use its consumer group
		// fails, naming the group, as Kafka Connect's does (it used
		// to rejoin forever, RUNNING).
		topic := "sec-no-group"
		k.CreateTopic(t, topic, 1)
		r := start(t, "no-group", k.SASLSSL, topic, scram("password"), scram("password"), 10, true)
		trace := failed(t, r, r.snk)
		wantIn(t, trace, "not authorized to access this group", "connect-"+r.snk)
		r.rw.stop()
		noSecretLogged(t, r)
	})
	// The principal may write sec-* topics but not create them: a source
	// asking for topic creation fails saying so.
	t.Run("no topic creation", func(t *testing.T) {
		topic := "sec-not-created"
		d := t.TempDir()
		in := filepath.Join(d, "in.txt")
		if err := os.WriteFile(in, lines(0, 10), 0o644); err != nil {
			t.Fatal(err)
		}
		extra := []string{"offset.storage.file.filename=" + filepath.Join(d, "offsets"), "config.providers=file",
			"config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider"}
		for _, kv := range scram("password") {
			extra = append(extra, "producer."+kv)
		}
		logs := &syncBuffer{}
		rw := startWorkerLogging(t, logs, writeFile(t, d, "worker.properties", workerProps([]string{k.SASLSSL}, extra...)...),
			writeFile(t, d, "source.properties", "name=sec-create-source", "connector.class=FileStreamSource", "file="+in, "topic="+topic,
				"topic.creation.default.replication.factor=1", "topic.creation.default.partitions=1"))
		r := &run{rw: rw, logs: logs, base: rw.w.restURLs()[0], client: client, src: "sec-create-source"}
		trace := failed(t, r)
		wantIn(t, trace, "creating topic "+topic, "not authorized to access this topic")
		rw.stop()
		noSecretLogged(t, r)
	})
	// Kafka Connect's usual split: the connector's principal may not create
	// topics, the worker's admin.* credentials (a principal that may) do,
	// and the records flow with the connector's own.
	t.Run("topic creation with admin.* credentials", func(t *testing.T) {
		topic := "sec-admin-created"
		allowGroup(t, "sec-admin-sink")
		d := t.TempDir()
		in, out := filepath.Join(d, "in.txt"), filepath.Join(d, "out.txt")
		input := lines(0, 50)
		if err := os.WriteFile(in, input, 0o644); err != nil {
			t.Fatal(err)
		}
		extra := []string{"offset.storage.file.filename=" + filepath.Join(d, "offsets"), "config.providers=file",
			"config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
			"admin.security.protocol=SASL_SSL", "admin.sasl.mechanism=SCRAM-SHA-512",
			"admin.ssl.truststore.type=PEM", "admin.ssl.truststore.location=" + c.CAFile,
			`admin.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="` +
				kafkatest.SecureAdminUser + `" password="` + ref("admin.password") + `";`}
		for _, kv := range scram("password") {
			extra = append(extra, "producer."+kv, "consumer."+kv)
		}
		logs := &syncBuffer{}
		rw := startWorkerLogging(t, logs, writeFile(t, d, "worker.properties", workerProps([]string{k.SASLSSL}, extra...)...),
			writeFile(t, d, "source.properties", "name=sec-admin-source", "connector.class=FileStreamSource", "file="+in, "topic="+topic,
				"topic.creation.default.replication.factor=1", "topic.creation.default.partitions=1"),
			writeFile(t, d, "sink.properties", "name=sec-admin-sink", "connector.class=FileStreamSink", "file="+out, "topics="+topic))
		r := &run{rw: rw, logs: logs, base: rw.w.restURLs()[0], client: client, src: "sec-admin-source", snk: "sec-admin-sink", sink: true}
		waitForFile(t, out, input)
		restChecks(t, r)
		rw.stop()
		noSecretLogged(t, r)
	})
}
