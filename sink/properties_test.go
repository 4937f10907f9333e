package sink_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/sink"
)

func TestConfigFromProperties(t *testing.T) {
	worker := map[string]string{
		"bootstrap.servers":                 "127.0.0.1:1, 127.0.0.1:2",
		"key.converter":                     "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":                   "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable":    "true",
		"offset.flush.interval.ms":          "1000",
		"task.shutdown.graceful.timeout.ms": "2500",
		"offset.flush.timeout.ms":           "7000",
		"consumer.max.poll.records":         "100",
		"consumer.session.timeout.ms":       "30000",
	}
	connector := map[string]string{
		"name":                                            "jdbc-sink",
		"connector.class":                                 "JdbcSink",
		"tasks.max":                                       "3",
		"topics":                                          "orders, refunds,,",
		"connection.url":                                  "jdbc:postgresql://db/shop",
		"value.converter":                                 "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable":                  "false",
		"transforms":                                      "route",
		"transforms.route.type":                           "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":                          "orders",
		"transforms.route.replacement":                    "orders_table",
		"consumer.override.max.poll.records":              "250",
		"consumer.override.auto.offset.reset":             "latest",
		"consumer.override.group.id":                      "custom-group",
		"errors.tolerance":                                "all",
		"errors.retry.timeout":                            "30000",
		"errors.retry.delay.max.ms":                       "5000",
		"errors.log.enable":                               "true",
		"errors.log.include.messages":                     "true",
		"errors.deadletterqueue.topic.name":               "dlq-orders",
		"errors.deadletterqueue.topic.replication.factor": "1",
		"errors.deadletterqueue.context.headers.enable":   "true",
		"sluice.task.retry.timeout.ms":                    "120000",
	}
	cfg, err := sink.ConfigFromProperties(worker, connector, sink.PropertyOptions{NewTask: func() sink.Task { return newRecTask() }})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "jdbc-sink" || cfg.TasksMax != 3 || len(cfg.Brokers) != 2 || cfg.Brokers[1] != "127.0.0.1:2" {
		t.Errorf("name/tasks/brokers: %q %d %v", cfg.Name, cfg.TasksMax, cfg.Brokers)
	}
	if len(cfg.Topics) != 2 || cfg.Topics[0] != "orders" || cfg.Topics[1] != "refunds" || cfg.TopicsRegex != "" {
		t.Errorf("topics %q regex %q", cfg.Topics, cfg.TopicsRegex)
	}
	if cfg.Properties["connection.url"] != "jdbc:postgresql://db/shop" {
		t.Errorf("connector's own keys not kept: %v", cfg.Properties)
	}
	if _, ok := cfg.KeyConverter.(*converters.String); !ok {
		t.Errorf("key converter %T, want the worker's StringConverter", cfg.KeyConverter)
	}
	sv, err := cfg.ValueConverter.ToConnect(context.Background(), "orders", nil, []byte(`{"a":1}`))
	if m, ok := sv.Value.(map[string]any); err != nil || !ok || m["a"] != int64(1) {
		t.Errorf("value converter read %#v, %v; want schemaless JSON", sv.Value, err)
	}
	if cfg.OffsetFlushInterval != time.Second || cfg.ShutdownTimeout != 2500*time.Millisecond ||
		cfg.OffsetFlushTimeout != 7*time.Second || cfg.TaskRetryTimeout != 2*time.Minute {
		t.Errorf("durations: %s %s %s %s", cfg.OffsetFlushInterval, cfg.ShutdownTimeout, cfg.OffsetFlushTimeout, cfg.TaskRetryTimeout)
	}
	if cfg.BatchSize != 250 || cfg.ConsumerProps["auto.offset.reset"] != "latest" || cfg.ConsumerProps["session.timeout.ms"] != "30000" {
		t.Errorf("batch size %d, consumer props %v (override must win over worker)", cfg.BatchSize, cfg.ConsumerProps)
	}
	out, err := cfg.Transforms.Apply(context.Background(), &connect.Record{Topic: "orders"})
	if err != nil || out.Topic != "orders_table" {
		t.Errorf("RegexRouter from properties: %v %v", out, err)
	}
	want := sluiceerrors.Config{
		Tolerance: sluiceerrors.ToleranceAll, RetryTimeout: 30 * time.Second, RetryDelayMax: 5 * time.Second,
		LogEnable: true, LogIncludeMessages: true, DLQTopic: "dlq-orders", DLQReplicationFactor: 1, DLQContextHeaders: true,
	}
	if cfg.Errors != want {
		t.Errorf("errors config %+v, want %+v", cfg.Errors, want)
	}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.GroupID() != "custom-group" {
		t.Errorf("group id %q", p.GroupID())
	}

	// sluice.task.retry.timeout.ms=-1 (and absent): without limit.
	connector["sluice.task.retry.timeout.ms"] = "-1"
	if cfg, err := sink.ConfigFromProperties(worker, connector, sink.PropertyOptions{NewTask: func() sink.Task { return newRecTask() }}); err != nil || cfg.TaskRetryTimeout != -1 {
		t.Errorf("sluice.task.retry.timeout.ms=-1: %s, %v", cfg.TaskRetryTimeout, err)
	}
	delete(connector, "sluice.task.retry.timeout.ms")

	// topics.regex instead of topics.
	delete(connector, "topics")
	connector["topics.regex"] = "orders-.*"
	cfg, err = sink.ConfigFromProperties(worker, connector, sink.PropertyOptions{NewTask: func() sink.Task { return newRecTask() }})
	if err != nil || cfg.TopicsRegex != "orders-.*" || cfg.Topics != nil {
		t.Fatalf("topics.regex: %q %v, %v", cfg.TopicsRegex, cfg.Topics, err)
	}
	p, err = sink.New(cfg)
	if err != nil || p.GroupID() != "custom-group" {
		t.Fatalf("New: %v", err)
	}
}

func TestConfigFromPropertiesErrorsNameKeys(t *testing.T) {
	worker := map[string]string{"bootstrap.servers": "127.0.0.1:1"}
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  []string
	}{
		{"both topics", map[string]string{"name": "s", "topics": "a", "topics.regex": "b.*"}, []string{"topics and topics.regex"}},
		{"no topics", map[string]string{"name": "s"}, []string{"topics or topics.regex"}},
		{"bad regex", map[string]string{"name": "s", "topics.regex": "a("}, []string{"topics.regex:"}},
		{"bad values", map[string]string{
			"topics": "a", "tasks.max": "zero", "errors.tolerance": "some", "errors.retry.timeout": "-5",
			"consumer.override.max.poll.records": "0", "consumer.override.auto.offset.reset": "sideways",
			"offset.flush.interval.ms": "soon", "value.converter": "com.example.Nope",
			"sluice.task.retry.timeout.ms": "forever",
		}, []string{
			"name:", "tasks.max", "errors.tolerance", "errors.retry.timeout", "consumer.override.max.poll.records",
			"consumer.override.auto.offset.reset", "offset.flush.interval.ms", "value.converter",
			"sluice.task.retry.timeout.ms",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.ConfigFromProperties(worker, tc.props, sink.PropertyOptions{NewTask: func() sink.Task { return newRecTask() }})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestValidateErrorsConfig(t *testing.T) {
	base := func() sink.Config {
		return sink.Config{Name: "x", Brokers: []string{"b:1"}, NewTask: func() sink.Task { return newRecTask() }, Topics: []string{"t", "dlq"}}
	}
	cfg := base()
	cfg.Errors.DLQTopic = "dlq"
	if _, err := sink.New(cfg); err == nil || !strings.Contains(err.Error(), "errors.deadletterqueue.topic.name") {
		t.Fatalf("DLQ topic among the consumed topics: %v", err)
	}
	cfg = base()
	cfg.Topics, cfg.TopicsRegex = nil, "d.*"
	cfg.Errors.DLQTopic = "dlq"
	if _, err := sink.New(cfg); err == nil || !strings.Contains(err.Error(), "matches topics.regex") {
		t.Fatalf("DLQ topic matching topics.regex: %v", err)
	}
	cfg = base()
	cfg.Errors.WindowSize = 5
	cfg.Restart.MaxRestarts = -1
	_, err := sink.New(cfg)
	for _, w := range []string{"errors.tolerance.window.size", "restart policy"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("error %v does not name %q", err, w)
		}
	}
}
