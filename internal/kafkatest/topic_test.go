package kafkatest

import (
	"regexp"
	"strings"
	"testing"
)

var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func TestTopic(t *testing.T) {
	names := []string{"plain", "with spaces/and.dots#01", strings.Repeat("long", 100), "ünïcode"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			a, b := Topic(t), Topic(t)
			for _, topic := range []string{a, b} {
				if len(topic) > maxTopicLen || !legalTopic.MatchString(topic) {
					t.Errorf("Topic() = %q (%d chars): not a legal topic name of at most %d chars", topic, len(topic), maxTopicLen)
				}
				if !strings.HasPrefix(topic, "TestTopic_") {
					t.Errorf("Topic() = %q does not start with the sanitized test name", topic)
				}
			}
			if a == b {
				t.Errorf("two calls returned the same name %q", a)
			}
		})
	}
}

func TestExternal(t *testing.T) {
	t.Setenv(EnvBootstrap, " , ")
	if External() {
		t.Errorf("External() with a blank %s = true", EnvBootstrap)
	}
	t.Setenv(EnvBootstrap, "127.0.0.1:9092")
	if !External() {
		t.Errorf("External() with %s set = false", EnvBootstrap)
	}
}

func TestSaramaConfig(t *testing.T) {
	cfg := SaramaConfig(t)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.Consumer.MaxWaitTime > 100e6 {
		t.Errorf("Consumer.MaxWaitTime = %v, want a short wait for tests", cfg.Consumer.MaxWaitTime)
	}
	if !legalTopic.MatchString(cfg.ClientID) {
		t.Errorf("ClientID = %q", cfg.ClientID)
	}
}
