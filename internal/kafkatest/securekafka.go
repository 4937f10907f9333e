package kafkatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// Credentials of the principals a [SecureKafka] broker knows. The
// connector principal, User:connect, is the same on every listener: SCRAM
// user "connect" on SASL_SSL, PLAIN user "connect" on SASL_PLAINTEXT, and
// the client certificate with CN=connect on SSL (the broker maps a
// certificate's CN to the user name). It has no ACLs until a test grants
// them with [SecureKafka.Allow]. User:admin is a super user.
const (
	SecureUser          = "connect"
	SecurePassword      = "connect-Secret-4711"
	SecureAdminUser     = "admin"
	SecureAdminPassword = "admin-Secret-0815"
	// SecureStorePassword protects every PKCS12 and JKS store of
	// [SecureCerts] (and their key entries).
	SecureStorePassword = "store-Secret-2342"
)

// SecureKafka is an Apache Kafka broker of its own for one test (not the
// shared plaintext broker of [Brokers]), with authentication and
// authorization on, started by [StartSecureKafka]:
//
//   - SASLSSL: SASL_SSL with SCRAM-SHA-512 and SCRAM-SHA-256 (users
//     created at format time; User:admin has SCRAM-SHA-512 credentials
//     only);
//   - SSL: SSL with ssl.client.auth=required;
//   - SASLPlaintext: SASL_PLAINTEXT with PLAIN (also the inter-broker
//     listener, as User:admin);
//
// plus a PLAINTEXT KRaft controller listener that clients do not use. The
// StandardAuthorizer is on with allow.everyone.if.no.acl.found=false and
// super.users User:admin (and User:ANONYMOUS, the principal of the
// controller listener), so User:connect may do nothing until a test
// grants it ACLs. Topics are not auto-created.
//
// Its methods fail the test they are given with t.Fatalf on error, so call
// them from that test's goroutine; they hold no state of their own and
// may be called one after another in any order.
type SecureKafka struct {
	// SASLSSL, SSL and SASLPlaintext are the listeners' addresses,
	// "127.0.0.1:port".
	SASLSSL, SSL, SASLPlaintext string
	// Certs are the PKI's files.
	Certs SecureCerts
	// Dir is the broker's directory (configuration, data, logs).
	Dir string
}

// SecureCerts are the certificate files of a [SecureKafka], generated with
// openssl and keytool into the test's temporary directory. The broker's
// certificate (CN=localhost) is valid for 127.0.0.1 and localhost and
// signed by CA; so is the client certificate, CN=connect. Stores are
// protected by [SecureStorePassword].
type SecureCerts struct {
	// CAFile is the CA certificate (PEM); OtherCAFile an unrelated CA's,
	// which did not sign the broker's certificate.
	CAFile, OtherCAFile string
	// ClientCertFile (certificate then CA, PEM) and ClientKeyFile
	// (unencrypted PKCS#8 PEM) are the client's certificate chain and key;
	// ClientPEMFile holds both (key first), a PEM keystore.
	ClientCertFile, ClientKeyFile, ClientPEMFile string
	// ClientPKCS12 and ClientJKS are keystores with the client's key and
	// chain; TrustPKCS12 and TrustJKS truststores with CA.
	ClientPKCS12, TrustPKCS12 string
	ClientJKS, TrustJKS       string
	// ServerPKCS12 is the broker's keystore: its key and certificate
	// chain, for 127.0.0.1 and localhost. Tests may serve other TLS
	// endpoints (a REST API) with it.
	ServerPKCS12 string
}

// secureTools are the programs StartSecureKafka runs.
var secureTools = []string{"java", "openssl", "keytool"}

// StartSecureKafka generates the certificates, formats KRaft storage and
// starts a secured Apache Kafka broker (see [SecureKafka]) from the jars
// scripts/kafka/start.sh fetches into scripts/kafka/lib, on free loopback
// ports, with a 384 MB heap. It returns once the broker answers metadata
// requests of User:admin. t.Cleanup kills the broker and removes its
// files; when t failed, the end of the broker's logs goes to t.Log.
//
// When the jars, java, openssl or keytool are missing, it skips t, unless
// CI=true or SLUICE_REQUIRE_KAFKA=1, where it fails t: CI must run it.
// Otherwise, under -short, it skips t. The kernel kills the broker if the
// test process dies without running t.Cleanup (a go test timeout).
func StartSecureKafka(t testing.TB) *SecureKafka {
	t.Helper()
	lib, why := kafkaLib()
	for _, tool := range secureTools {
		if why != "" {
			break
		}
		if _, err := exec.LookPath(tool); err != nil {
			why = tool + " is not on PATH"
		}
	}
	if why != "" {
		req, err := required()
		if err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		if req || inCI() {
			t.Fatalf("kafkatest: cannot start the secured Apache Kafka broker: %s (CI=true or %s=1: required)", why, EnvRequire)
		}
		t.Skipf("kafkatest: no secured Apache Kafka broker: %s (CI fails here)", why)
	}
	if testing.Short() {
		t.Skip("kafkatest: -short: no secured Apache Kafka broker")
	}

	dir := t.TempDir()
	certs := makeCerts(t, filepath.Join(dir, "certs"))
	// The ports are free when chosen, but another process may bind one
	// before the broker does: then start again on other ports.
	for attempt := 1; ; attempt++ {
		k := &SecureKafka{Dir: filepath.Join(dir, fmt.Sprintf("broker-%d", attempt)), Certs: certs}
		err := k.launch(t, lib)
		if err == nil {
			return k
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatalf("kafkatest: %v", err)
		}
		t.Logf("kafkatest: %v; starting again on other ports", err)
	}
}

// errPortTaken says that the broker could not bind a port.
var errPortTaken = errors.New("a port was taken before the secured broker could bind it")

// launch formats storage in k.Dir and starts the broker on free ports,
// killed by t.Cleanup, and waits until it is ready. A broker that exited
// because a port was taken is errPortTaken.
func (k *SecureKafka) launch(t testing.TB, lib string) error {
	t.Helper()
	dir := k.Dir
	ports := securePorts(t, 4)
	k.SASLSSL = fmt.Sprintf("127.0.0.1:%d", ports[0])
	k.SSL = fmt.Sprintf("127.0.0.1:%d", ports[1])
	k.SASLPlaintext = fmt.Sprintf("127.0.0.1:%d", ports[2])
	controller := fmt.Sprintf("127.0.0.1:%d", ports[3])

	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	props := filepath.Join(dir, "server.properties")
	writeFile(t, dir, "server.properties", k.serverProperties(controller, filepath.Join(dir, "kraft")))
	log4j := filepath.Join(filepath.Dir(lib), "log4j2.properties")
	jvm := []string{"-Dlog4j2.configurationFile=" + log4j, "-Dkafka.logs.dir=" + logs, "-Djava.awt.headless=true"}
	classpath := filepath.Join(lib, "*")

	fctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	format := exec.CommandContext(fctx, "java", append(append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1"}, jvm...),
		"-cp", classpath, "kafka.tools.StorageTool", "format", "--standalone", "-t", clusterID(t), "-c", props,
		"--add-scram", "SCRAM-SHA-512=[name="+SecureUser+",password="+SecurePassword+"]",
		"--add-scram", "SCRAM-SHA-512=[name="+SecureAdminUser+",password="+SecureAdminPassword+"]",
		"--add-scram", "SCRAM-SHA-256=[name="+SecureUser+",password="+SecurePassword+"]")...)
	setDeathSignal(format)
	if out, err := format.CombinedOutput(); err != nil {
		return fmt.Errorf("formatting the secured broker's storage: %w\n%s", err, out)
	}

	outPath, serverLog := filepath.Join(logs, "kafka.out"), filepath.Join(logs, "server.log")
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	cmd := exec.Command("java", append(append([]string{"-Xms128m", "-Xmx384m", "-XX:+UseSerialGC",
		"-XX:+ExitOnOutOfMemoryError"}, jvm...), "-cp", classpath, "kafka.Kafka", props)...)
	cmd.Stdout, cmd.Stderr = out, out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("starting the secured broker: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
			_ = out.Close()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("kafkatest: the secured broker's logs (%s):\n%s\n%s", logs, tail(outPath, 20), tail(serverLog, 80))
		}
	})

	deadline := time.Now().Add(150 * time.Second)
	for {
		err := k.probe(t)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			logged, _ := os.ReadFile(outPath)
			if b, _ := os.ReadFile(serverLog); bytes.Contains(append(logged, b...), []byte("Address already in use")) {
				return errPortTaken
			}
			return fmt.Errorf("the secured broker exited while starting (%v); last probe: %v\n%s\n%s",
				waitErr, err, tail(outPath, 20), tail(serverLog, 80))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("the secured broker is not ready after 150s: %w\n%s\n%s", err, tail(outPath, 20), tail(serverLog, 80))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// kafkaLib finds scripts/kafka/lib with the broker jars in the module root
// above the working directory; why says what is missing.
func kafkaLib() (lib, why string) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err.Error()
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			lib = filepath.Join(d, "scripts", "kafka", "lib")
			if m, _ := filepath.Glob(filepath.Join(lib, "kafka_2.13-*.jar")); len(m) == 0 {
				return "", "no broker jars in " + lib + " (bash scripts/kafka/start.sh fetches them)"
			}
			return lib, ""
		}
		if filepath.Dir(d) == d {
			return "", "no go.mod above " + wd
		}
	}
}

// serverProperties is the broker's configuration.
func (k *SecureKafka) serverProperties(controller, dataDir string) string {
	c := k.Certs
	plainJAAS := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required username="%s" password="%s" user_%s="%s" user_%s="%s";`,
		SecureAdminUser, SecureAdminPassword, SecureAdminUser, SecureAdminPassword, SecureUser, SecurePassword)
	lines := []string{
		"process.roles=broker,controller",
		"node.id=1",
		"controller.quorum.bootstrap.servers=" + controller,
		"listeners=SASL_SSL://" + k.SASLSSL + ",SSL://" + k.SSL + ",SASL_PLAINTEXT://" + k.SASLPlaintext + ",CONTROLLER://" + controller,
		"advertised.listeners=SASL_SSL://" + k.SASLSSL + ",SSL://" + k.SSL + ",SASL_PLAINTEXT://" + k.SASLPlaintext,
		"listener.security.protocol.map=SASL_SSL:SASL_SSL,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=SASL_PLAINTEXT",
		"sasl.mechanism.inter.broker.protocol=PLAIN",
		"log.dirs=" + dataDir,

		"listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256",
		"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config=" + plainJAAS,
		"sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",

		"ssl.keystore.type=PKCS12",
		"ssl.keystore.location=" + c.ServerPKCS12,
		"ssl.keystore.password=" + SecureStorePassword,
		"ssl.key.password=" + SecureStorePassword,
		"ssl.truststore.type=PEM",
		"ssl.truststore.location=" + c.CAFile,
		"listener.name.ssl.ssl.client.auth=required",
		"ssl.principal.mapping.rules=RULE:^CN=([^,]*).*$/$1/,DEFAULT",

		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"allow.everyone.if.no.acl.found=false",
		"super.users=User:" + SecureAdminUser + ";User:ANONYMOUS",

		"auto.create.topics.enable=false",
		"num.partitions=1",
		"default.replication.factor=1",
		"min.insync.replicas=1",
		"offsets.topic.replication.factor=1",
		"offsets.topic.num.partitions=1",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=1",
		"share.coordinator.state.topic.replication.factor=1",
		"share.coordinator.state.topic.min.isr=1",
		"group.initial.rebalance.delay.ms=0",
		"num.recovery.threads.per.data.dir=1",
		"num.network.threads=2",
		"num.io.threads=2",
		"background.threads=2",
		"log.cleaner.threads=1",
	}
	return strings.Join(lines, "\n") + "\n"
}

// AdminConfig returns a sarama configuration for the super user
// User:admin on the SASL_PLAINTEXT listener ([SecureKafka.SASLPlaintext]),
// with SaramaConfig's test timings.
func (k *SecureKafka) AdminConfig(t testing.TB) *sarama.Config {
	t.Helper()
	cfg := SaramaConfig(t)
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	cfg.Net.SASL.User = SecureAdminUser
	cfg.Net.SASL.Password = SecureAdminPassword
	cfg.Metadata.AllowAutoTopicCreation = false
	return cfg
}

// probe reports, as a nil error, whether the broker answers User:admin's
// metadata request with itself and a controller.
func (k *SecureKafka) probe(t testing.TB) error {
	cfg := k.AdminConfig(t)
	cfg.Net.DialTimeout = 2 * time.Second
	cfg.Net.ReadTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 0
	client, err := sarama.NewClient([]string{k.SASLPlaintext}, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.RefreshMetadata(); err != nil {
		return err
	}
	if len(client.Brokers()) == 0 {
		return errors.New("metadata lists no broker")
	}
	if _, err := client.Controller(); err != nil {
		return fmt.Errorf("no controller yet: %w", err)
	}
	return nil
}

// admin runs f with a cluster admin of User:admin.
func (k *SecureKafka) admin(t testing.TB, f func(sarama.ClusterAdmin) error) {
	t.Helper()
	a, err := sarama.NewClusterAdmin([]string{k.SASLPlaintext}, k.AdminConfig(t))
	if err != nil {
		t.Fatalf("kafkatest: cluster admin of the secured broker: %v", err)
	}
	defer a.Close()
	if err := f(a); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

// CreateTopic creates topic with the given number of partitions as
// User:admin and waits until its partitions have leaders.
func (k *SecureKafka) CreateTopic(t testing.TB, topic string, partitions int32) {
	t.Helper()
	k.admin(t, func(a sarama.ClusterAdmin) error {
		err := a.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("creating topic %q: %w", topic, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := topicReady(a, topic, partitions)
			if err == nil {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("topic %q not ready after 30s: %w", topic, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// Allow grants principal (e.g. "User:connect") the operations on the
// resources of type rt whose names match name under pattern (literal or
// prefixed), from any host, as User:admin.
func (k *SecureKafka) Allow(t testing.TB, principal string, rt sarama.AclResourceType, name string,
	pattern sarama.AclResourcePatternType, ops ...sarama.AclOperation) {
	t.Helper()
	acls := make([]*sarama.ResourceAcls, 0, len(ops))
	for _, op := range ops {
		acls = append(acls, &sarama.ResourceAcls{
			Resource: sarama.Resource{ResourceType: rt, ResourceName: name, ResourcePatternType: pattern},
			Acls: []*sarama.Acl{{Principal: principal, Host: "*", Operation: op,
				PermissionType: sarama.AclPermissionAllow}},
		})
	}
	k.admin(t, func(a sarama.ClusterAdmin) error {
		if err := a.CreateACLs(acls); err != nil {
			return fmt.Errorf("creating ACLs for %s on %v %q: %w", principal, rt, name, err)
		}
		return nil
	})
}

// makeCerts generates the PKI of a SecureKafka into dir with openssl and
// keytool: two CAs, the broker's certificate and PKCS12 keystore
// (broker.p12), the client's certificate and its stores.
func makeCerts(t testing.TB, dir string) SecureCerts {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kafkatest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	pass := "pass:" + SecureStorePassword
	newCA := func(name, cn string) {
		run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
			"-subj", "/CN="+cn, "-keyout", name+".key", "-out", name+".pem",
			"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	}
	newCert := func(name, cn, ext string) {
		writeFile(t, dir, name+".ext", ext+"\n")
		run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/CN="+cn,
			"-keyout", name+".key", "-out", name+".csr")
		run("openssl", "x509", "-req", "-sha256", "-days", "2", "-in", name+".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
			"-CAcreateserial", "-out", name+".crt", "-extfile", name+".ext")
	}
	newCA("ca", "Sluice Test CA")
	newCA("other-ca", "Sluice Other CA")
	newCert("broker", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth")
	newCert("client", "connect", "extendedKeyUsage=clientAuth")
	run("openssl", "pkcs12", "-export", "-name", "broker", "-in", "broker.crt", "-inkey", "broker.key",
		"-certfile", "ca.pem", "-out", "broker.p12", "-passout", pass)
	run("openssl", "pkcs12", "-export", "-name", "client", "-in", "client.crt", "-inkey", "client.key",
		"-certfile", "ca.pem", "-out", "client.p12", "-passout", pass)
	run("keytool", "-importkeystore", "-noprompt", "-srckeystore", "client.p12", "-srcstoretype", "PKCS12",
		"-srcstorepass", SecureStorePassword, "-destkeystore", "client.jks", "-deststoretype", "JKS",
		"-deststorepass", SecureStorePassword, "-destkeypass", SecureStorePassword)
	for _, typ := range []string{"PKCS12", "JKS"} {
		run("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-storetype", typ,
			"-keystore", "trust."+strings.ToLower(typ), "-storepass", SecureStorePassword)
	}
	read := func(name string) string {
		b, err := os.ReadFile(p(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	chain := read("client.crt") + read("ca.pem")
	writeFile(t, dir, "client-chain.pem", chain)
	writeFile(t, dir, "client-keystore.pem", read("client.key")+chain)
	return SecureCerts{
		CAFile: p("ca.pem"), OtherCAFile: p("other-ca.pem"),
		ClientCertFile: p("client-chain.pem"), ClientKeyFile: p("client.key"), ClientPEMFile: p("client-keystore.pem"),
		ClientPKCS12: p("client.p12"), TrustPKCS12: p("trust.pkcs12"),
		ClientJKS: p("client.jks"), TrustJKS: p("trust.jks"),
		ServerPKCS12: p("broker.p12"),
	}
}

// securePorts picks the secured broker's ports (a variable for tests).
var securePorts = freePorts

// freePorts returns n distinct free TCP ports on 127.0.0.1 (free when
// asked: another process could take one before the broker binds it).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// clusterID returns a random KRaft cluster ID (16 bytes, URL-safe base64,
// Kafka's Uuid form).
func clusterID(t testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tail returns the last n lines of the file at path, or why it cannot.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "==> " + path + " <==\n" + string(bytes.Join(lines, []byte("\n")))
}
