package sink

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestConsumerConfigGroupTimeouts: without a Sarama config the group
// settings are Kafka Connect's defaults; the group member's client always
// allows a response max.poll.interval.ms + 5 s (JoinGroup), while the data
// client keeps Net.ReadTimeout.
func TestConsumerConfigGroupTimeouts(t *testing.T) {
	newTask := func() Task { return nil }
	p, err := New(Config{Name: "s", Brokers: []string{"b:1"}, Topics: []string{"t"}, NewTask: newTask})
	if err != nil {
		t.Fatal(err)
	}
	data, group, _, err := p.consumerConfig(0)
	if err != nil {
		t.Fatal(err)
	}
	if s, h, r := data.Consumer.Group.Session.Timeout, data.Consumer.Group.Heartbeat.Interval, data.Consumer.Group.Rebalance.Timeout; s != 45*time.Second || h != 3*time.Second || r != 300*time.Second {
		t.Errorf("defaults session %s heartbeat %s max.poll.interval %s; want Kafka Connect's 45s 3s 5m0s", s, h, r)
	}
	if data.Net.ReadTimeout != 30*time.Second || group.Net.ReadTimeout != 305*time.Second {
		t.Errorf("read timeouts data %s group %s; want 30s and 5m5s", data.Net.ReadTimeout, group.Net.ReadTimeout)
	}

	base := sarama.NewConfig()
	base.Net.ReadTimeout = 2 * time.Second
	p, err = New(Config{Name: "s", Brokers: []string{"b:1"}, Topics: []string{"t"}, NewTask: newTask, Sarama: base,
		ConsumerProps: map[string]string{"max.poll.interval.ms": "20000", "session.timeout.ms": "8000"}})
	if err != nil {
		t.Fatal(err)
	}
	data, group, _, err = p.consumerConfig(0)
	if err != nil {
		t.Fatal(err)
	}
	if data.Consumer.Group.Session.Timeout != 8*time.Second || data.Net.ReadTimeout != 2*time.Second || group.Net.ReadTimeout != 25*time.Second {
		t.Errorf("session %s, read timeouts data %s group %s; want 8s, 2s, 25s", data.Consumer.Group.Session.Timeout, data.Net.ReadTimeout, group.Net.ReadTimeout)
	}

	// consumer request.timeout.ms sets both clients' timeout, the group's
	// only when longer than max.poll.interval.ms + 5 s.
	p, err = New(Config{Name: "s", Brokers: []string{"b:1"}, Topics: []string{"t"}, NewTask: newTask,
		ConsumerProps: map[string]string{"max.poll.interval.ms": "2000", "request.timeout.ms": "10000"}})
	if err != nil {
		t.Fatal(err)
	}
	data, group, unmapped, err := p.consumerConfig(0)
	if err != nil || len(unmapped) != 0 {
		t.Fatalf("unmapped %v, err %v", unmapped, err)
	}
	if data.Net.ReadTimeout != 10*time.Second || group.Net.ReadTimeout != 10*time.Second {
		t.Errorf("read timeouts data %s group %s; want 10s and 10s", data.Net.ReadTimeout, group.Net.ReadTimeout)
	}
}
