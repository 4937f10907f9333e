package kafkaconf

import (
	"reflect"
	"testing"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

func TestNewSaramaConfig(t *testing.T) {
	cfg := NewSaramaConfig("sluice-test")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.ClientID != "sluice-test" {
		t.Errorf("ClientID = %q", cfg.ClientID)
	}
	if cfg.Version != sarama.V4_0_0_0 {
		t.Errorf("Version = %v, want %v", cfg.Version, sarama.V4_0_0_0)
	}
	if !cfg.Version.IsAtLeast(sarama.V2_1_0_0) {
		t.Errorf("Version %v is older than Kafka 2.1, which Kafka 4 brokers refuse", cfg.Version)
	}
	if !cfg.Producer.Return.Successes || !cfg.Producer.Return.Errors || !cfg.Consumer.Return.Errors {
		t.Errorf("Return flags not all set: %+v %+v", cfg.Producer.Return, cfg.Consumer.Return)
	}
	if !metrics.UseNilMetrics {
		t.Errorf("metrics.UseNilMetrics is false")
	}
	if NewSaramaConfig("") == cfg {
		t.Errorf("NewSaramaConfig returned a shared value")
	}
	if got := NewSaramaConfig("").ClientID; got != sarama.NewConfig().ClientID {
		t.Errorf("empty clientID: ClientID = %q", got)
	}
}

func TestParseBootstrap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"127.0.0.1:9092", []string{"127.0.0.1:9092"}},
		{" a:1, ,b:2 ,", []string{"a:1", "b:2"}},
		{"a:1,b:2,c:3", []string{"a:1", "b:2", "c:3"}},
	} {
		if got := ParseBootstrap(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseBootstrap(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestApplyConsumerPropsTimeouts: the consumer's group and request timeouts
// map to sarama's settings.
func TestApplyConsumerPropsTimeouts(t *testing.T) {
	cfg := NewSaramaConfig("")
	unmapped, err := ApplyConsumerProps(cfg, "consumer.", map[string]string{
		"session.timeout.ms": "45000", "heartbeat.interval.ms": "3000", "max.poll.interval.ms": "300000", "request.timeout.ms": "40000",
	})
	if err != nil || len(unmapped) != 0 {
		t.Fatalf("unmapped %v, err %v", unmapped, err)
	}
	g := cfg.Consumer.Group
	if g.Session.Timeout.Seconds() != 45 || g.Heartbeat.Interval.Seconds() != 3 || g.Rebalance.Timeout.Seconds() != 300 || cfg.Net.ReadTimeout.Seconds() != 40 {
		t.Fatalf("session %s heartbeat %s rebalance %s read %s", g.Session.Timeout, g.Heartbeat.Interval, g.Rebalance.Timeout, cfg.Net.ReadTimeout)
	}
	if _, err := ApplyConsumerProps(cfg, "consumer.", map[string]string{"request.timeout.ms": "soon"}); err == nil {
		t.Fatal("request.timeout.ms=soon accepted")
	}
}
