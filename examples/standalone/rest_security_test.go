package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

const storePassword = "st0re-Secret-42"

// serverStores writes the PKI's server certificate chain and key as a PEM
// file (key first), a PKCS12 keystore and a JKS keystore, the stores
// protected by storePassword.
func serverStores(t *testing.T, pki *kafkatest.PKI) (pemFile, p12File, jksFile string) {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(pki.Server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	var chainPEM bytes.Buffer
	var chain []keystore.Certificate
	var certs []*x509.Certificate
	for _, c := range pki.Server.Certificate {
		_ = pem.Encode(&chainPEM, &pem.Block{Type: "CERTIFICATE", Bytes: c})
		chain = append(chain, keystore.Certificate{Type: "X509", Content: c})
		x, err := x509.ParseCertificate(c)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, x)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	pemFile = filepath.Join(dir, "server.pem")
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(pemFile, append(keyPEM, chainPEM.Bytes()...))

	p12, err := pkcs12.Modern2023.Encode(pki.Server.PrivateKey, certs[0], certs[1:], storePassword)
	if err != nil {
		t.Fatal(err)
	}
	p12File = filepath.Join(dir, "server.p12")
	write(p12File, p12)

	ks := keystore.New()
	if err := ks.SetPrivateKeyEntry("server", keystore.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: der, CertificateChain: chain}, []byte(storePassword)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ks.Store(&b, []byte(storePassword)); err != nil {
		t.Fatal(err)
	}
	jksFile = filepath.Join(dir, "server.jks")
	write(jksFile, b.Bytes())
	return pemFile, p12File, jksFile
}

// restClient returns a client trusting the PKI's CA, presenting cert if
// it is not nil.
func restClient(pki *kafkatest.PKI, cert *tls.Certificate) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA)
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true},
		Timeout:   30 * time.Second,
	}
}

// clientCert returns the PKI's client certificate and key.
func clientCert(t *testing.T, pki *kafkatest.PKI) *tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair([]byte(pki.ClientCertPEM), []byte(pki.ClientKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// restGet sends GET url (with basic credentials when user is not empty)
// and returns the status, the body and the response headers.
func restGet(t *testing.T, client *http.Client, method, url, user, password string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// urlsOf returns the worker's REST base URLs by scheme.
func urlsOf(w *runningWorker, scheme string) []string {
	var out []string
	for _, u := range w.w.restURLs() {
		if strings.HasPrefix(u, scheme+"://") {
			out = append(out, u)
		}
	}
	return out
}

// TestRESTHTTPS: listeners=https://… serves Kafka Connect's REST API over
// TLS with the server certificate of a PEM, PKCS12 or JKS keystore named
// by the listeners.https.ssl.* keys, or by the top-level ssl.* keys when
// no listeners.https.* key is set (Kafka Connect's fallback, which then
// does not warn that those keys are ignored); http and https listeners
// mix.
func TestRESTHTTPS(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	pki := kafkatest.NewPKI(t)
	pemFile, p12File, jksFile := serverStores(t, pki)
	for _, c := range []struct {
		name  string
		props []string
	}{
		{"PEM", []string{"listeners.https.ssl.keystore.type=PEM", "listeners.https.ssl.keystore.location=" + pemFile}},
		{"PKCS12", []string{"listeners.https.ssl.keystore.type=PKCS12", "listeners.https.ssl.keystore.location=" + p12File,
			"listeners.https.ssl.keystore.password=" + storePassword}},
		{"JKS", []string{"listeners.https.ssl.keystore.location=" + jksFile, // JKS: Kafka's default type
			"listeners.https.ssl.keystore.password=" + storePassword, "listeners.https.ssl.key.password=" + storePassword}},
		{"top-level ssl keys", []string{"ssl.keystore.type=PKCS12", "ssl.keystore.location=" + p12File, "ssl.keystore.password=" + storePassword}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			logs := &syncBuffer{}
			w := startWorkerLogging(t, logs, writeFile(t, dir, "worker.properties", workerProps(brokers, append(c.props,
				"offset.storage.file.filename="+filepath.Join(dir, "offsets"),
				"listeners=http://127.0.0.1:0, https://127.0.0.1:0")...)...))
			https, plain := urlsOf(w, "https"), urlsOf(w, "http")
			if len(https) != 1 || len(plain) != 1 {
				t.Fatalf("REST listeners %v, want one http and one https", w.w.restURLs())
			}
			client := restClient(pki, nil)
			for _, u := range []string{https[0], plain[0]} {
				if status, body, _ := restGet(t, client, http.MethodGet, u+"/connectors", "", ""); status != http.StatusOK || strings.TrimSpace(body) != "[]" {
					t.Errorf("GET %s/connectors: %d %q, want 200 []", u, status, body)
				}
			}
			// The https port speaks TLS only.
			if status, _, _ := restGet(t, client, http.MethodGet, "http"+strings.TrimPrefix(https[0], "https")+"/connectors", "", ""); status != http.StatusBadRequest {
				t.Errorf("plain http to the https listener: status %d, want 400", status)
			}
			w.stop()
			if strings.Contains(logs.String(), "is ignored") {
				t.Errorf("ssl keys reported as ignored:\n%s", logs)
			}
			if !strings.Contains(logs.String(), "url="+https[0]) {
				t.Errorf("the log does not announce %s:\n%s", https[0], logs)
			}
			if strings.Contains(logs.String(), storePassword) {
				t.Errorf("the store password appears in the log:\n%s", logs)
			}
		})
	}
}

// TestRESTAdvertisedListener: the worker id is the address of the http
// listener when there is one, as Kafka Connect advertises, else of the
// https one; rest.advertised.listener=https picks the https listener.
func TestRESTAdvertisedListener(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	pki := kafkatest.NewPKI(t)
	pemFile, _, _ := serverStores(t, pki)
	for _, c := range []struct {
		listeners, advertised, want string
	}{
		{"https://127.0.0.1:0,http://127.0.0.1:0", "", "http"},
		{"https://127.0.0.1:0,http://127.0.0.1:0", "rest.advertised.listener=HTTPS", "https"},
		{"https://127.0.0.1:0", "", "https"},
	} {
		dir := t.TempDir()
		w := startWorker(t, writeFile(t, dir, "worker.properties", workerProps(brokers,
			"offset.storage.file.filename="+filepath.Join(dir, "offsets"), "listeners="+c.listeners, c.advertised,
			"listeners.https.ssl.keystore.type=PEM", "listeners.https.ssl.keystore.location="+pemFile)...))
		want := strings.TrimPrefix(urlsOf(w, c.want)[0], c.want+"://")
		if got := w.w.runner.WorkerID(); got != want {
			t.Errorf("listeners=%s %s: worker id %s, want the %s listener's %s", c.listeners, c.advertised, got, c.want, want)
		}
		w.stop()
	}
}

// TestRESTClientAuth: listeners.https.ssl.client.auth=required refuses, at
// the TLS handshake, a client without a certificate or with one the
// truststore's CA did not sign, and serves one with a certificate it
// signed; requested serves a client without a certificate but still
// refuses an untrusted one.
func TestRESTClientAuth(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	pki, other := kafkatest.NewPKI(t), kafkatest.NewPKI(t)
	_, p12File, _ := serverStores(t, pki)
	_, trustP12 := pki.PKCS12(t, storePassword)
	good, untrusted := clientCert(t, pki), clientCert(t, other)
	for _, c := range []struct {
		auth       string
		noCertOK   bool
		truststore []string
	}{
		{"required", false, []string{"listeners.https.ssl.truststore.type=PKCS12", "listeners.https.ssl.truststore.location=" + trustP12,
			"listeners.https.ssl.truststore.password=" + storePassword}},
		{"requested", true, []string{"listeners.https.ssl.truststore.type=PEM", "listeners.https.ssl.truststore.location=" + pki.CAFile}},
	} {
		t.Run(c.auth, func(t *testing.T) {
			dir := t.TempDir()
			w := startWorker(t, writeFile(t, dir, "worker.properties", workerProps(brokers, append(c.truststore,
				"offset.storage.file.filename="+filepath.Join(dir, "offsets"),
				"listeners=https://127.0.0.1:0",
				"listeners.https.ssl.keystore.type=PKCS12", "listeners.https.ssl.keystore.location="+p12File,
				"listeners.https.ssl.keystore.password="+storePassword,
				"listeners.https.ssl.client.auth="+c.auth)...)...))
			u := w.w.restURLs()[0] + "/connectors"
			if status, body, _ := restGet(t, restClient(pki, good), http.MethodGet, u, "", ""); status != http.StatusOK {
				t.Errorf("a client certificate the CA signed: %d %q, want 200", status, body)
			}
			refused := func(what string, cert *tls.Certificate) {
				resp, err := restClient(pki, cert).Get(u)
				if err == nil {
					resp.Body.Close()
					t.Errorf("%s: served (%s), want the TLS handshake refused", what, resp.Status)
				} else if !strings.Contains(err.Error(), "tls") {
					t.Errorf("%s: %v, want a TLS error", what, err)
				}
			}
			refused("a certificate of another CA", untrusted)
			if c.noCertOK {
				if status, _, _ := restGet(t, restClient(pki, nil), http.MethodGet, u, "", ""); status != http.StatusOK {
					t.Errorf("no client certificate: %d, want 200", status)
				}
			} else {
				refused("no client certificate", nil)
			}
		})
	}
}

// basicAuthFiles writes a credentials file (user=password lines) and a
// JAAS file naming it, and returns the JAAS file's path and the
// credentials file's.
func basicAuthFiles(t *testing.T, dir string, creds ...string) (jaas, credentials string) {
	t.Helper()
	credentials = writeFile(t, dir, "credentials.properties", creds...)
	jaas = writeFile(t, dir, "rest-jaas.conf",
		"// the REST API's users",
		"KafkaServer {",
		`  org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="x";`,
		"};",
		"KafkaConnect {",
		"  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required",
		`  file="`+credentials+`";`,
		"};")
	return jaas, credentials
}

const basicAuthLine = "rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"

// TestRESTBasicAuth: with Kafka Connect's BasicAuthSecurityRestExtension
// and its JAAS file named by -Djava.security.auth.login.config in
// KAFKA_OPTS, the REST API over https (and http) serves a request with a
// user and password of the credentials file and answers any other (wrong
// password, unknown user, no or malformed credentials) 401 with Kafka
// Connect's body and no WWW-Authenticate header; Kafka Connect's internal
// requests pass unauthenticated; the credentials are read once, at start,
// as Kafka Connect caches them.
func TestRESTBasicAuth(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	pki := kafkatest.NewPKI(t)
	pemFile, _, _ := serverStores(t, pki)
	dir := t.TempDir()
	const password = "Rest-pa55:with-colon"
	// "=…": an empty user, which Kafka Connect never matches (malformed).
	jaas, creds := basicAuthFiles(t, dir, "admin="+password, "reader=other-pass", "=empty-user-pass")
	t.Setenv("KAFKA_OPTS", "-Xmx256m -Djava.security.auth.login.config="+jaas+" -Dfoo=bar")
	logs := &syncBuffer{}
	w := startWorkerLogging(t, logs, writeFile(t, dir, "worker.properties", workerProps(brokers,
		"offset.storage.file.filename="+filepath.Join(dir, "offsets"),
		"listeners=https://127.0.0.1:0,http://127.0.0.1:0",
		"listeners.https.ssl.keystore.type=PEM", "listeners.https.ssl.keystore.location="+pemFile,
		basicAuthLine)...))
	client := restClient(pki, nil)
	unauthorized := func(base, method, path, user, pw string, header ...string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		if len(header) > 0 {
			req.Header.Set("Authorization", header[0])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// Kafka Connect 4.3.1's response, byte for byte (checked with curl).
		if resp.StatusCode != http.StatusUnauthorized || string(body) != "User cannot access the resource." ||
			resp.Header.Get("WWW-Authenticate") != "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s%s (user %q, header %q): %d %q, WWW-Authenticate %q, Content-Type %q; want 401 %q, no WWW-Authenticate, application/json",
				method, base, path, user, header, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"), "User cannot access the resource.")
		}
	}
	for _, base := range w.w.restURLs() {
		if status, body, _ := restGet(t, client, http.MethodGet, base+"/connectors", "admin", password); status != http.StatusOK || strings.TrimSpace(body) != "[]" {
			t.Errorf("GET %s/connectors as admin: %d %q, want 200 []", base, status, body)
		}
		if status, _, _ := restGet(t, client, http.MethodGet, base+"/", "reader", "other-pass"); status != http.StatusOK {
			t.Errorf("GET %s/ as reader: %d, want 200", base, status)
		}
		unauthorized(base, http.MethodGet, "/connectors", "admin", "wrong")
		unauthorized(base, http.MethodGet, "/connectors", "admin", password+"x")
		unauthorized(base, http.MethodGet, "/connectors", "admin", "Rest-pa55") // only up to the colon
		unauthorized(base, http.MethodGet, "/connectors", "nobody", password)
		unauthorized(base, http.MethodGet, "/connectors", "", "")
		unauthorized(base, http.MethodPost, "/connectors", "", "")
		unauthorized(base, http.MethodGet, "/connectors", "", "", "Bearer "+base64.StdEncoding.EncodeToString([]byte("admin:"+password)))
		unauthorized(base, http.MethodGet, "/connectors", "", "", "Basic !!!")
		unauthorized(base, http.MethodGet, "/connectors", "", "", "Basic "+base64.StdEncoding.EncodeToString([]byte(":empty-user-pass")))
		// Kafka Connect's internal requests skip authentication (and the
		// standalone worker does not serve them).
		if status, _, _ := restGet(t, client, http.MethodPost, base+"/connectors/x/tasks", "", ""); status == http.StatusUnauthorized {
			t.Errorf("POST %s/connectors/x/tasks without credentials: 401, want it let through as Kafka Connect does", base)
		}
		unauthorized(base, http.MethodGet, "/connectors/x/tasks", "", "")
	}

	// A changed credentials file is not read again.
	if err := os.WriteFile(creds, []byte("admin=new-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := urlsOf(w, "https")[0]
	if status, _, _ := restGet(t, client, http.MethodGet, base+"/connectors", "admin", password); status != http.StatusOK {
		t.Errorf("after the credentials file changed, the old password: %d, want 200 (read once, at start)", status)
	}
	unauthorized(base, http.MethodGet, "/connectors", "admin", "new-password")
	w.stop()
	for _, secret := range []string{password, "other-pass"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a password appears in the log:\n%s", logs)
		}
	}
}

// TestRESTBasicAuthJAASKey: sluice.rest.jaas.config.file names the JAAS
// file in the worker file (and wins over KAFKA_OPTS); an empty credentials
// file lets every request through, as Kafka Connect's does.
func TestRESTBasicAuthJAASKey(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	dir := t.TempDir()
	jaas, _ := basicAuthFiles(t, dir, "admin=s3cret")
	t.Setenv("KAFKA_OPTS", "-Djava.security.auth.login.config="+filepath.Join(dir, "nonexistent.conf"))
	w := startWorker(t, writeFile(t, dir, "worker.properties", workerProps(brokers,
		"offset.storage.file.filename="+filepath.Join(dir, "offsets"), basicAuthLine, "sluice.rest.jaas.config.file="+jaas)...))
	client := &http.Client{Timeout: 30 * time.Second}
	base := w.w.restURLs()[0]
	if status, _, _ := restGet(t, client, http.MethodGet, base+"/connectors", "admin", "s3cret"); status != http.StatusOK {
		t.Errorf("right password: %d, want 200", status)
	}
	if status, _, _ := restGet(t, client, http.MethodGet, base+"/connectors", "admin", "nope"); status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", status)
	}
	w.stop()

	dir2 := t.TempDir()
	jaas, _ = basicAuthFiles(t, dir2 /* no users */)
	w = startWorker(t, writeFile(t, dir2, "worker.properties", workerProps(brokers,
		"offset.storage.file.filename="+filepath.Join(dir2, "offsets"), basicAuthLine, "sluice.rest.jaas.config.file="+jaas)...))
	if status, _, _ := restGet(t, client, http.MethodGet, w.w.restURLs()[0]+"/connectors", "", ""); status != http.StatusOK {
		t.Errorf("empty credentials file, no credentials: %d, want 200 (as Kafka Connect)", status)
	}
}

// TestRESTSecurityConfigErrors: a REST security setting that cannot be
// honoured stops the worker's start (exit status 2) with an error naming
// the file and the key, never a password.
func TestRESTSecurityConfigErrors(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	_, p12File, _ := serverStores(t, pki)
	dir := t.TempDir()
	offsets := "offset.storage.file.filename=" + filepath.Join(dir, "offsets")
	base := []string{"bootstrap.servers=127.0.0.1:1", offsets}
	noEntry := writeFile(t, dir, "no-entry.conf", `KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b"; };`)
	otherModule := writeFile(t, dir, "other.conf", `KafkaConnect { com.example.LdapLoginModule required url="ldap://x"; };`)
	noCreds := writeFile(t, dir, "nocreds.conf", `KafkaConnect { `+propertyFileLoginModule+` required file="`+filepath.Join(dir, "missing.properties")+`"; };`)
	https := "listeners=https://127.0.0.1:0"
	for _, c := range []struct {
		name      string
		props     []string
		kafkaOpts string
		want      []string
	}{
		{"https without keystore", []string{https}, "", []string{"ssl.keystore.location", "required", "listeners"}},
		{"https prefixed without keystore", []string{https, "listeners.https.ssl.client.auth=required"}, "", []string{"listeners.https.ssl.keystore.location", "required"}},
		{"wrong store password", []string{https, "listeners.https.ssl.keystore.type=PKCS12", "listeners.https.ssl.keystore.location=" + p12File,
			"listeners.https.ssl.keystore.password=wrong-" + storePassword}, "", []string{"listeners.https.ssl.keystore.location", "listeners.https.ssl.keystore.password"}},
		{"bad client auth", []string{https, "listeners.https.ssl.keystore.type=PKCS12", "listeners.https.ssl.keystore.location=" + p12File,
			"listeners.https.ssl.keystore.password=" + storePassword, "listeners.https.ssl.client.auth=always"}, "", []string{"listeners.https.ssl.client.auth", "always"}},
		{"unknown listener key", []string{https, "listeners.https.ssl.keystore.type=PKCS12", "listeners.https.ssl.keystore.location=" + p12File,
			"listeners.https.ssl.keystore.password=" + storePassword, "listeners.https.port=1"}, "", []string{"listeners.https.port"}},
		{"unsupported ssl key", []string{https, "listeners.https.ssl.keystore.type=PKCS12", "listeners.https.ssl.keystore.location=" + p12File,
			"listeners.https.ssl.keystore.password=" + storePassword, "listeners.https.ssl.provider=SunJSSE"}, "", []string{"listeners.https.ssl.provider", "not supported"}},
		{"advertised listener without one", []string{"listeners=http://127.0.0.1:0", "rest.advertised.listener=https"}, "", []string{"rest.advertised.listener", "https"}},
		{"unknown rest extension", []string{"rest.extension.classes=com.example.MyExtension"}, "", []string{"rest.extension.classes", "com.example.MyExtension"}},
		{"basic auth without JAAS file", []string{basicAuthLine}, "-Xmx1g", []string{"rest.extension.classes", "sluice.rest.jaas.config.file", "KAFKA_OPTS", "java.security.auth.login.config"}},
		{"missing JAAS file", []string{basicAuthLine}, "-Djava.security.auth.login.config=" + filepath.Join(dir, "nope.conf"), []string{"nope.conf", "KAFKA_OPTS"}},
		{"JAAS file without KafkaConnect", []string{basicAuthLine, "sluice.rest.jaas.config.file=" + noEntry}, "", []string{"no-entry.conf", "KafkaConnect"}},
		{"other login module", []string{basicAuthLine, "sluice.rest.jaas.config.file=" + otherModule}, "", []string{"other.conf", "com.example.LdapLoginModule"}},
		{"missing credentials file", []string{basicAuthLine, "sluice.rest.jaas.config.file=" + noCreds}, "", []string{"missing.properties"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KAFKA_OPTS", c.kafkaOpts)
			path := writeFile(t, t.TempDir(), "worker.properties", append(base, c.props...)...)
			w, err := newWorker(context.Background(), path, nil, options{})
			if err == nil {
				w.close()
				t.Fatal("no error")
			}
			if got := exitCode(err); got != exitWorker {
				t.Errorf("exit code %d, want %d (%v)", got, exitWorker, err)
			}
			for _, want := range append(c.want, "worker.properties") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), storePassword) {
				t.Errorf("error %q shows the store password", err)
			}
		})
	}
}

// TestJAASFile: the JAAS file forms Kafka Connect users write, and where
// KAFKA_OPTS names the file.
func TestJAASFile(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`KafkaConnect { ` + propertyFileLoginModule + ` required file="/etc/creds.properties"; };`, "/etc/creds.properties"},
		{"/* users */\nKafkaServer {\n a.B required x=\"1\"\n y=\"2\";\n};\n// REST\nKafkaConnect {\n  " + propertyFileLoginModule + "\n  required\n  debug=true\n  file = \"/a b/c\\\\d\";\n};\n", `/a b/c\d`},
	} {
		got, err := jaasCredentialsFile(c.text)
		if err != nil || got != c.want {
			t.Errorf("jaasCredentialsFile(%q) = %q, %v; want %q", c.text, got, err, c.want)
		}
	}
	for _, bad := range []string{
		`KafkaConnect { ` + propertyFileLoginModule + ` required file="/x" };`,
		`KafkaConnect { ` + propertyFileLoginModule + ` required file="/x"; }`,
		`KafkaConnect { ` + propertyFileLoginModule + ` required; };`,
		`KafkaConnect { ` + propertyFileLoginModule + ` always file="/x"; };`,
		`KafkaConnect { ` + propertyFileLoginModule + ` required file="/x"; ` + propertyFileLoginModule + ` required file="/y"; };`,
		`KafkaConnect { ` + propertyFileLoginModule + ` required file="/x; };`,
		`/* KafkaConnect { ` + propertyFileLoginModule + ` required file="/x"; };`,
		``,
	} {
		if got, err := jaasCredentialsFile(bad); err == nil {
			t.Errorf("jaasCredentialsFile(%q) = %q, want an error", bad, got)
		}
	}
	for opts, want := range map[string]string{
		"":       "",
		"-Xmx1g": "",
		"-Djava.security.auth.login.config=/a/jaas.conf":                                   "/a/jaas.conf",
		"-Djava.security.auth.login.config==/a/jaas.conf -Dx=y":                            "/a/jaas.conf",
		"-Djava.security.auth.login.config=file:///a/b.conf":                               "/a/b.conf",
		"-Djava.security.auth.login.config=/first -Djava.security.auth.login.config=/last": "/last",
	} {
		if got := jaasFromKafkaOpts(opts); got != want {
			t.Errorf("jaasFromKafkaOpts(%q) = %q, want %q", opts, got, want)
		}
	}
}
