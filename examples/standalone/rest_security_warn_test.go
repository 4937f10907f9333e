package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// TestBasicAuthWarnsOnCleartextListener: loading basic authentication
// warns about each http:// listener not bound to a loopback address
// (passwords cross the network in clear), and about no https:// or
// loopback http:// listener.
func TestBasicAuthWarnsOnCleartextListener(t *testing.T) {
	dir := t.TempDir()
	creds := writeFile(t, dir, "creds.properties", "admin=admin-secret")
	jaas := writeFile(t, dir, "jaas.conf", `KafkaConnect { `+propertyFileLoginModule+` required file="`+filepath.ToSlash(creds)+`"; };`)
	const warning = "passwords cross the network in clear"
	for _, c := range []struct {
		listeners string
		warned    []string // the listeners warned about
	}{
		{"http://127.0.0.1:8083,http://localhost:8084,http://[::1]:8085,https://0.0.0.0:8443", nil},
		{"http://0.0.0.0:8083", []string{"http://0.0.0.0:8083"}},
		{"http://:8083,https://:8443,http://127.0.0.2:8084,http://connect.example.com:8085",
			[]string{"http://:8083", "http://connect.example.com:8085"}},
	} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		props := map[string]string{keyListeners: c.listeners, keyJAASFile: jaas}
		if _, err := loadBasicAuth(props, func(string) string { return "" }, log); err != nil {
			t.Fatalf("%s: %v", c.listeners, err)
		}
		var got []string
		for line := range strings.Lines(buf.String()) {
			if strings.Contains(line, warning) {
				_, l, _ := strings.Cut(line, "listener=")
				got = append(got, strings.TrimSpace(l))
			}
		}
		if strings.Join(got, " ") != strings.Join(c.warned, " ") {
			t.Errorf("listeners %s: warned about %q, want %q:\n%s", c.listeners, got, c.warned, buf.String())
		}
		if strings.Contains(buf.String(), "admin-secret") {
			t.Errorf("the log shows the password:\n%s", buf.String())
		}
	}
}
