package kafkaconf

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWorkerSecurityProps(t *testing.T) {
	cases := []struct {
		worker        map[string]string
		keep, ignored []string
	}{
		{map[string]string{"ssl.keystore.location": "/k", "bootstrap.servers": "b:1"}, nil, []string{"ssl.keystore.location"}},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "ssl.keystore.location": "/k"},
			[]string{"sasl.mechanism", "security.protocol"}, []string{"ssl.keystore.location"}},
		{map[string]string{"security.protocol": "ssl", "sasl.mechanism": "PLAIN", "ssl.keystore.location": "/k"},
			[]string{"security.protocol", "ssl.keystore.location"}, []string{"sasl.mechanism"}},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "ssl.keystore.location": "/k", "producer.ssl.x": "y"},
			[]string{"sasl.mechanism", "security.protocol", "ssl.keystore.location"}, nil},
		{map[string]string{"security.protocol": "bogus", "sasl.mechanism": "PLAIN"}, []string{"sasl.mechanism", "security.protocol"}, nil},
	}
	for _, c := range cases {
		props, ignored := WorkerSecurityProps(c.worker)
		var keys []string
		for k := range props {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, c.keep) || !slices.Equal(ignored, c.ignored) {
			t.Errorf("%v: kept %v ignored %v, want %v and %v", c.worker, keys, ignored, c.keep, c.ignored)
		}
	}
}

func TestApplyAdminProps(t *testing.T) {
	cfg := NewSaramaConfig("")
	unmapped, err := ApplyAdminProps(cfg, "admin.", map[string]string{
		"client.id": "adm", "request.timeout.ms": "7000", "default.api.timeout.ms": "9000", "retries": "2",
		"retry.backoff.ms": "50", "bootstrap.servers": "x:1", "metadata.max.age.ms": "1",
		"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
		"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID != "adm" || cfg.Admin.Timeout != 9*time.Second || cfg.Admin.Retry.Max != 2 || cfg.Admin.Retry.Backoff != 50*time.Millisecond ||
		!cfg.Net.SASL.Enable || cfg.Net.SASL.User != "u" {
		t.Errorf("not applied: %+v %+v %+v", cfg.Admin, cfg.ClientID, cfg.Net.SASL.User)
	}
	if !slices.Equal(unmapped, []string{"admin.metadata.max.age.ms"}) {
		t.Errorf("unmapped %v", unmapped)
	}
	for k, v := range map[string]string{"retries": "-1", "request.timeout.ms": "0", "sasl.mechanism": "PLAIN"} {
		if _, err := ApplyAdminProps(NewSaramaConfig(""), "admin.override.", map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), "admin.override."+k) {
			t.Errorf("%s=%s: %v, want an error naming admin.override.%s", k, v, err, k)
		}
	}
}

func TestAdminConfigFallback(t *testing.T) {
	fallback := NewSaramaConfig("producer")
	fallback.Net.SASL.Enable, fallback.Net.SASL.User = true, "from-producer"
	cfg, _, err := AdminConfig(nil, fallback, "adm", "admin.", nil)
	if err != nil || !cfg.Net.SASL.Enable || cfg.Net.SASL.User != "from-producer" || cfg.ClientID != "adm" || fallback.ClientID != "producer" {
		t.Errorf("nil props: %+v %v", cfg.Net.SASL, err)
	}
	cfg, _, err = AdminConfig(nil, fallback, "adm", "admin.", map[string]string{"security.protocol": "PLAINTEXT"})
	if err != nil || cfg.Net.SASL.Enable {
		t.Errorf("props set: the fallback's SASL stayed: %+v %v", cfg.Net.SASL, err)
	}
}

func TestUsedSecurityPropsLenient(t *testing.T) {
	props := map[string]string{"security.protocol": "SASL_PLAINTEXT", "ssl.truststore.location": "/top", "ssl.keystore.location": "/admin"}
	used, ignored := UsedSecurityProps(props, func(k string) bool { return k != "ssl.keystore.location" })
	if _, ok := used["ssl.keystore.location"]; !ok || len(used) != 2 || !slices.Equal(ignored, []string{"ssl.truststore.location"}) {
		t.Errorf("used %v ignored %v", used, ignored)
	}
}

func TestApplyAdminPropsTimeout(t *testing.T) {
	cfg := NewSaramaConfig("")
	if _, err := ApplyAdminProps(cfg, "", map[string]string{"request.timeout.ms": "1000"}); err != nil || cfg.Admin.Timeout != time.Second {
		t.Errorf("request.timeout.ms=1000: Admin.Timeout %v (%v), want 1s", cfg.Admin.Timeout, err)
	}
}
