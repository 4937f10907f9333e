package source

import (
	"strings"
	"testing"
)

// TestConfigFromPropertiesChecksProducerProps: a bad producer property
// value fails ConfigFromProperties naming the key as written (worker
// producer.* or connector producer.override.*), not the task when it
// starts; unmapped keys and good values pass.
func TestConfigFromPropertiesChecksProducerProps(t *testing.T) {
	newTask := func() Task { return nil }
	for _, c := range []struct {
		name              string
		worker, connector map[string]string
		want              []string // substrings of the error; nil: no error
	}{
		{"worker acks", map[string]string{"producer.acks": "some"}, nil, []string{"producer.acks", `"some"`}},
		{"connector acks", nil, map[string]string{"producer.override.acks": "some"}, []string{"producer.override.acks"}},
		{"override wins", map[string]string{"producer.linger.ms": "5"}, map[string]string{"producer.override.linger.ms": "soon"}, []string{"producer.override.linger.ms"}},
		{"delivery key", map[string]string{"producer.delivery.timeout.ms": "never"}, nil, []string{"producer.delivery.timeout.ms"}},
		{"good and unmapped", map[string]string{"producer.acks": "all", "producer.linger.ms": "5", "producer.delivery.timeout.ms": "120000", "producer.buffer.memory": "33554432"}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			worker := map[string]string{"bootstrap.servers": "127.0.0.1:9092"}
			for k, v := range c.worker {
				worker[k] = v
			}
			connector := map[string]string{"name": "c"}
			for k, v := range c.connector {
				connector[k] = v
			}
			_, err := ConfigFromProperties(worker, connector, PropertyOptions{NewTask: newTask})
			if c.want == nil {
				if err != nil {
					t.Fatalf("ConfigFromProperties: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}
