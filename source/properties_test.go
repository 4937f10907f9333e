package source_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

func TestConfigFromProperties(t *testing.T) {
	worker := map[string]string{
		"bootstrap.servers":                 "127.0.0.1:1, 127.0.0.1:2",
		"key.converter":                     "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":                   "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable":    "true",
		"offset.flush.interval.ms":          "1000",
		"producer.linger.ms":                "7",
		"producer.compression.type":         "gzip",
		"task.shutdown.graceful.timeout.ms": "2500",
	}
	connector := map[string]string{
		"name":                           "file-src",
		"connector.class":                "FileStreamSource",
		"tasks.max":                      "3",
		"topic":                          "lines",
		"file":                           "/tmp/in.txt",
		"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": "false",
		"transforms":                     "route",
		"transforms.route.type":          "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":         "lines",
		"transforms.route.replacement":   "copied-lines",
		"producer.override.linger.ms":    "20",
		"topic.creation.default.replication.factor": "1",
		"topic.creation.default.partitions":         "3",
		"topic.creation.default.cleanup.policy":     "compact",
	}
	cfg, err := source.ConfigFromProperties(worker, connector, source.PropertyOptions{NewTask: func() source.Task { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "file-src" || cfg.TasksMax != 3 || len(cfg.Brokers) != 2 || cfg.Brokers[1] != "127.0.0.1:2" {
		t.Errorf("name/tasks/brokers: %q %d %v", cfg.Name, cfg.TasksMax, cfg.Brokers)
	}
	if cfg.Properties["topic"] != "lines" || cfg.Properties["file"] != "/tmp/in.txt" {
		t.Errorf("connector's own keys not kept: %v", cfg.Properties)
	}
	if _, ok := cfg.KeyConverter.(*converters.String); !ok {
		t.Errorf("key converter %T, want the worker's StringConverter", cfg.KeyConverter)
	}
	// The connector's value converter wins, with its own sub-properties
	// (schemas.enable=false: plain JSON, no envelope).
	b, err := cfg.ValueConverter.FromConnect(context.Background(), "t", nil, nil, map[string]any{"a": int64(1)})
	if err != nil || string(b) != `{"a":1}` {
		t.Errorf("value converter wrote %q, %v; want schemaless JSON", b, err)
	}
	if cfg.OffsetFlushInterval != time.Second || cfg.ShutdownTimeout != 2500*time.Millisecond {
		t.Errorf("durations: %s %s", cfg.OffsetFlushInterval, cfg.ShutdownTimeout)
	}
	if cfg.ProducerProps["linger.ms"] != "20" || cfg.ProducerProps["compression.type"] != "gzip" {
		t.Errorf("producer props (override must win over worker): %v", cfg.ProducerProps)
	}
	if cfg.Transforms == nil {
		t.Fatal("transforms not parsed")
	}
	out, err := cfg.Transforms.Apply(context.Background(), &connect.Record{Topic: "lines"})
	if err != nil || out.Topic != "copied-lines" {
		t.Errorf("RegexRouter from properties: %v %v", out, err)
	}
	tc := cfg.TopicCreation
	if tc == nil || tc.Partitions != 3 || tc.ReplicationFactor != 1 || tc.Configs["cleanup.policy"] != "compact" {
		t.Errorf("topic creation: %+v", tc)
	}
}

func TestConfigFromPropertiesErrorsNameKeys(t *testing.T) {
	for _, tc := range []struct {
		connector map[string]string
		want      string
	}{
		{map[string]string{"tasks.max": "1"}, "name:"},
		{map[string]string{"name": "x", "tasks.max": "zero"}, "tasks.max:"},
		{map[string]string{"name": "x", "offset.flush.interval.ms": "-5"}, "offset.flush.interval.ms:"},
		{map[string]string{"name": "x", "value.converter": "com.example.Nope"}, "value.converter:"},
		{map[string]string{"name": "x", "value.converter": "JsonConverter", "value.converter.schemas.enable": "yes"}, "schemas.enable"},
		{map[string]string{"name": "x", "transforms": "a", "transforms.a.type": "NoSuchSMT"}, "transforms.a"},
		{map[string]string{"name": "x", "topic.creation.default.partitions": "3"}, "topic.creation.default.replication.factor"},
		{map[string]string{"name": "x", "topic.creation.default.partitions": "0", "topic.creation.default.replication.factor": "1"}, "topic.creation.default.partitions:"},
		{map[string]string{"name": "x", "sluice.tracing.propagate": "no"}, "sluice.tracing.propagate"},
	} {
		_, err := source.ConfigFromProperties(map[string]string{"bootstrap.servers": "x:1"}, tc.connector, source.PropertyOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to name %q", tc.connector, err, tc.want)
		}
	}
}

func TestValidateNamesKeys(t *testing.T) {
	_, err := source.New(source.Config{TasksMax: -1})
	for _, want := range []string{"name:", "bootstrap.servers:", "NewTask:", "tasks.max:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v; want it to name %q", err, want)
		}
	}
	_, err = source.New(source.Config{Name: "x", Brokers: []string{"a:1"}, NewTask: func() source.Task { return nil },
		ProducerProps: map[string]string{"acks": "most"}})
	if err != nil {
		t.Fatalf("producer props are checked when a task starts, not in New: %v", err)
	}
}

func TestProducerOverrideErrorFailsTaskNamingKey(t *testing.T) {
	task := &genTask{topic: "x", parts: 1, perPart: 1}
	p, err := source.New(source.Config{Name: "bad-props", Brokers: []string{"127.0.0.1:1"}, NewTask: func() source.Task { return task },
		ProducerProps: map[string]string{"acks": "most"}, OffsetStore: offsets.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	err = runUntilFailed(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "producer.override.acks") {
		t.Fatalf("Run: %v; want an error naming producer.override.acks", err)
	}
}

func TestTopicCreation(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	task := &genTask{topic: topic, parts: 3, perPart: 10}
	cfg := baseConfig(t, brokers, "gen-create", task)
	cfg.TopicCreation = &source.TopicCreation{Partitions: 3, ReplicationFactor: 1, Configs: map[string]string{"cleanup.policy": "compact"}}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "30 acks", 30*time.Second, func() bool { st := p.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 30 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 || len(md[0].Partitions) != 3 {
		t.Fatalf("topic %s: %v %+v; want 3 partitions (created by the pipeline)", topic, err, md)
	}
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic}}, sarama.DescribeConfigsOptions{})
	if err != nil || len(results) != 1 || results[0].ErrorCode != sarama.ErrNoError {
		t.Fatalf("describing %s: %v %+v", topic, err, results)
	}
	found := false
	for _, e := range results[0].Configs {
		if e.Name == "cleanup.policy" && e.Value == "compact" {
			found = true
		}
	}
	if !found {
		t.Errorf("cleanup.policy=compact not set on the created topic: %+v", results[0].Configs)
	}
}

// TestConfigFromPropertiesOffsetStorage: the worker's offset.storage.* keys
// select the store the pipeline opens: a file (standalone), a topic
// (distributed), the topic connect-offsets when neither is set; both is an
// error; a store passed in PropertyOptions takes their place.
func TestConfigFromPropertiesOffsetStorage(t *testing.T) {
	connector := map[string]string{"name": "src"}
	opts := source.PropertyOptions{NewTask: func() source.Task { return nil }}
	for _, tc := range []struct {
		name   string
		worker map[string]string
		want   offsets.Storage
		topic  string
	}{
		{"neither", map[string]string{}, offsets.Storage{}, "connect-offsets"},
		{"file", map[string]string{"offset.storage.file.filename": "/var/lib/connect.offsets"},
			offsets.Storage{File: "/var/lib/connect.offsets"}, ""},
		{"topic", map[string]string{"offset.storage.topic": "my-connect-offsets", "offset.storage.partitions": "10",
			"offset.storage.replication.factor": "2"},
			offsets.Storage{Topic: "my-connect-offsets", Partitions: 10, ReplicationFactor: 2}, "my-connect-offsets"},
	} {
		tc.worker["bootstrap.servers"] = "127.0.0.1:1"
		cfg, err := source.ConfigFromProperties(tc.worker, connector, opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.OffsetStore != nil || cfg.OffsetStorage != tc.want || cfg.OffsetStorage.TopicName() != tc.topic {
			t.Errorf("%s: store %v, storage %+v (topic %q); want no store, storage %+v (topic %q)",
				tc.name, cfg.OffsetStore, cfg.OffsetStorage, cfg.OffsetStorage.TopicName(), tc.want, tc.topic)
		}
	}
	_, err := source.ConfigFromProperties(map[string]string{"offset.storage.file.filename": "f", "offset.storage.topic": "t"}, connector, opts)
	if err == nil || !strings.Contains(err.Error(), "offset.storage.file.filename and offset.storage.topic") {
		t.Errorf("both keys: %v; want an error naming both", err)
	}
	store := offsets.NewMemoryStore()
	opts.OffsetStore = store
	cfg, err := source.ConfigFromProperties(map[string]string{"bootstrap.servers": "127.0.0.1:1", "offset.storage.topic": "t"}, connector, opts)
	if err != nil || cfg.OffsetStore != store || cfg.OffsetStorage != (offsets.Storage{}) {
		t.Errorf("with a store: %v, store %v, storage %+v; want the given store", err, cfg.OffsetStore, cfg.OffsetStorage)
	}
	if _, err := source.New(cfg); err != nil {
		t.Errorf("New with the given store: %v", err)
	}
}

// TestConfigFromPropertiesConnectorOffsetStorageKeys: offset storage keys
// in the connector configuration are errors naming the key and where to
// set the store, not properties silently handed to the task while the
// pipeline uses the worker's store; with a store given too. (The
// connector's own offsets.storage.topic, KIP-618, is a connector key:
// TestExactlyOnceProperties.)
func TestConfigFromPropertiesConnectorOffsetStorageKeys(t *testing.T) {
	worker := map[string]string{"bootstrap.servers": "127.0.0.1:1"}
	for _, opts := range []source.PropertyOptions{
		{NewTask: func() source.Task { return nil }},
		{NewTask: func() source.Task { return nil }, OffsetStore: offsets.NewMemoryStore()},
	} {
		for key, want := range map[string][]string{
			"offset.storage.topic":              {"offset.storage.topic", "worker properties"},
			"offset.storage.partitions":         {"offset.storage.partitions", "worker properties"},
			"offset.storage.replication.factor": {"offset.storage.replication.factor", "worker properties"},
			"offset.storage.file.filename":      {"offset.storage.file.filename", "worker properties"},
		} {
			_, err := source.ConfigFromProperties(worker, map[string]string{"name": "src", key: "x"}, opts)
			for _, w := range want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("connector %s (store given: %t): %v; want an error naming %q", key, opts.OffsetStore != nil, err, w)
				}
			}
		}
	}
}

// TestConfigFromPropertiesTracingPropagate: sluice.tracing.propagate=false
// disables the traceparent header; it is on by default.
func TestConfigFromPropertiesTracingPropagate(t *testing.T) {
	opts := source.PropertyOptions{NewTask: func() source.Task { return nil }}
	for v, disabled := range map[string]bool{"": false, "true": false, "false": true, " FALSE ": true} {
		connector := map[string]string{"name": "src"}
		if v != "" {
			connector["sluice.tracing.propagate"] = v
		}
		cfg, err := source.ConfigFromProperties(map[string]string{}, connector, opts)
		if err != nil || cfg.DisableTraceparent != disabled {
			t.Errorf("sluice.tracing.propagate=%q: DisableTraceparent %v (%v), want %v", v, cfg.DisableTraceparent, err, disabled)
		}
	}
}
