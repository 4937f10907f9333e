package main

import (
	"slices"
	"strings"
	"testing"
)

// TestWorkerSecurityKeyWarnings: top-level ssl.* and sasl.* keys the
// worker's security.protocol does not use are reported, as Kafka's clients
// would not use them; admin.* keys are used (no warning).
func TestWorkerSecurityKeyWarnings(t *testing.T) {
	const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
	base := map[string]string{"bootstrap.servers": "127.0.0.1:1", "offset.storage.file.filename": t.TempDir() + "/o"}
	with := func(kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		props map[string]string
		warn  []string // keys warned about
	}{
		{with("ssl.truststore.location", "/ca.pem"), []string{"ssl.truststore.location"}},
		{with("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN", "sasl.jaas.config", jaas, "ssl.truststore.location", "/ca.pem"),
			[]string{"ssl.truststore.location"}},
		{with("security.protocol", "SSL", "ssl.endpoint.identification.algorithm", "", "sasl.mechanism", "PLAIN"),
			[]string{"sasl.mechanism"}},
		{with("admin.security.protocol", "SASL_PLAINTEXT", "admin.sasl.mechanism", "PLAIN",
			"admin.sasl.jaas.config", jaas), nil},
	}
	for _, c := range cases {
		cfg, err := parseWorkerConfig("worker.properties", c.props)
		if err != nil {
			t.Errorf("%v: %v", c.props, err)
			continue
		}
		var warned []string
		for _, w := range cfg.warnings {
			if k, _, ok := strings.Cut(w, " is not used"); ok {
				warned = append(warned, k)
			} else if strings.Contains(w, "security") || strings.Contains(w, "admin") {
				t.Errorf("%v: unexpected warning %q", c.props, w)
			}
		}
		if !slices.Equal(warned, c.warn) {
			t.Errorf("%v: warned about %v, want %v (%q)", c.props, warned, c.warn, cfg.warnings)
		}
	}
}
