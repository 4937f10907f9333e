package kafkatest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// PKI is a throw-away certificate authority with a server certificate (for
// 127.0.0.1 and localhost) and a client certificate, written as PEM files
// into a test's temporary directory.
type PKI struct {
	// CA is the authority's certificate; CAFile holds it as PEM.
	CA     *x509.Certificate
	CAFile string
	// Server is the broker's certificate and key, for a tls.Config.
	Server tls.Certificate
	// ClientCert and ClientKey are the client's certificate and key;
	// ClientCertFile and ClientKeyFile hold them as PEM (the key as
	// unencrypted PKCS#8), ClientPEMFile both (key first).
	ClientCert                                   *x509.Certificate
	ClientKey                                    *ecdsa.PrivateKey
	ClientCertFile, ClientKeyFile, ClientPEMFile string
	// ClientCertPEM and ClientKeyPEM are the same PEM texts.
	ClientCertPEM, ClientKeyPEM string
	// CAPEM is CAFile's text.
	CAPEM string
}

// NewPKI generates a PKI for the test; it fails the test on error.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	ca := sign(t, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	serverKey := newKey(t)
	server := sign(t, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &serverKey.PublicKey, caKey)
	clientKey := newKey(t)
	client := sign(t, &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "sluice-client"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, &clientKey.PublicKey, caKey)

	p := &PKI{CA: ca, ClientCert: client, ClientKey: clientKey}
	p.Server = tls.Certificate{Certificate: [][]byte{server.Raw, ca.Raw}, PrivateKey: serverKey}
	p.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}))
	p.ClientCertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.Raw}))
	der, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ClientKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	p.CAFile = writeFile(t, dir, "ca.pem", p.CAPEM)
	p.ClientCertFile = writeFile(t, dir, "client.crt", p.ClientCertPEM)
	p.ClientKeyFile = writeFile(t, dir, "client.key", p.ClientKeyPEM)
	p.ClientPEMFile = writeFile(t, dir, "client.pem", p.ClientKeyPEM+p.ClientCertPEM)
	return p
}

// ServerTLS returns a broker TLS configuration with the server
// certificate; clientAuth says whether client certificates signed by the
// CA are required.
func (p *PKI) ServerTLS(clientAuth bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
	if clientAuth {
		pool := x509.NewCertPool()
		pool.AddCert(p.CA)
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, key *ecdsa.PrivateKey) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t testing.TB, dir, name, content string) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// PKCS12 writes the client's key and certificate chain to a PKCS12
// keystore and the CA to a PKCS12 truststore, both protected by password,
// and returns their paths.
func (p *PKI) PKCS12(t testing.TB, password string) (keystore, truststore string) {
	t.Helper()
	dir := t.TempDir()
	ks, err := pkcs12.Modern2023.Encode(p.ClientKey, p.ClientCert, []*x509.Certificate{p.CA}, password)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := pkcs12.Modern2023.EncodeTrustStore([]*x509.Certificate{p.CA}, password)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "client.p12", string(ks)), writeFile(t, dir, "trust.p12", string(ts))
}

// JKS writes the client's key and certificate chain to a JKS keystore (key
// entry password = store password) and the CA to a JKS truststore, both
// protected by password, and returns their paths.
func (p *PKI) JKS(t testing.TB, password string) (keyStore, trustStore string) {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ks := keystore.New()
	if err := ks.SetPrivateKeyEntry("client", keystore.PrivateKeyEntry{
		CreationTime: now, PrivateKey: der,
		CertificateChain: []keystore.Certificate{{Type: "X509", Content: p.ClientCert.Raw}, {Type: "X509", Content: p.CA.Raw}},
	}, []byte(password)); err != nil {
		t.Fatal(err)
	}
	ts := keystore.New()
	if err := ts.SetTrustedCertificateEntry("ca", keystore.TrustedCertificateEntry{
		CreationTime: now, Certificate: keystore.Certificate{Type: "X509", Content: p.CA.Raw},
	}); err != nil {
		t.Fatal(err)
	}
	store := func(k keystore.KeyStore, name string) string {
		var b bytes.Buffer
		if err := k.Store(&b, []byte(password)); err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, b.String())
	}
	return store(ks, "client.jks"), store(ts, "trust.jks")
}
