package connprops

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestAdminProps: Kafka Connect's Worker.adminConfigs order (top-level, then
// admin.*, then admin.override.*), with the top-level ssl.*/sasl.* keys the
// resulting protocol does not use left out.
func TestAdminProps(t *testing.T) {
	cases := []struct {
		name              string
		worker, connector map[string]string
		want              map[string]string
		ignored           []string
	}{
		{"nothing", map[string]string{"bootstrap.servers": "b:1", "producer.security.protocol": "SSL"}, nil, nil, nil},
		{"admin.security.protocol makes the top-level truststore used",
			map[string]string{"ssl.truststore.location": "/ca.pem", "ssl.truststore.type": "PEM", "admin.security.protocol": "SSL"}, nil,
			map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/ca.pem", "ssl.truststore.type": "PEM"}, nil},
		{"override wins, top-level ssl.* unused under SASL_PLAINTEXT",
			map[string]string{"security.protocol": "SSL", "ssl.keystore.location": "/k", "admin.sasl.mechanism": "PLAIN", "request.timeout.ms": "9000"},
			map[string]string{"admin.override.security.protocol": "SASL_PLAINTEXT", "admin.override.retries": "3"},
			map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "request.timeout.ms": "9000", "retries": "3"},
			[]string{"ssl.keystore.location"}},
		{"non-security admin keys alone", map[string]string{"admin.request.timeout.ms": "90000"}, nil,
			map[string]string{"request.timeout.ms": "90000"}, nil},
		{"a prefixed ssl key on a non-TLS protocol stays, for the check to refuse",
			map[string]string{"admin.ssl.keystore.location": "/k"}, nil, map[string]string{"ssl.keystore.location": "/k"}, nil},
	}
	for _, c := range cases {
		got, ignored := AdminProps(c.worker, c.connector)
		if !maps.Equal(got, c.want) || !slices.Equal(ignored, c.ignored) {
			t.Errorf("%s: %v (ignored %v), want %v (ignored %v)", c.name, got, ignored, c.want, c.ignored)
		}
	}
	// The check names the key as written and does not repeat top-level
	// errors its caller checked.
	worker := map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI", "admin.retries": "x"}
	props, _ := AdminProps(worker, nil)
	errs := CheckAdminProps(worker, nil, props, true)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "admin.retries") {
		t.Errorf("checked: %v, want one error naming admin.retries", errs)
	}
	if errs := CheckAdminProps(worker, nil, props, false); len(errs) != 2 || !strings.Contains(errs[1].Error(), "sasl.mechanism") {
		t.Errorf("unchecked: %v, want errors naming admin.retries and sasl.mechanism", errs)
	}
}
