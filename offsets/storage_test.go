package offsets

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

func TestStorageFromProperties(t *testing.T) {
	for _, tc := range []struct {
		name   string
		worker map[string]string
		want   Storage
		topic  string
		errs   []string
	}{
		{name: "neither: the Kafka default", worker: map[string]string{"bootstrap.servers": "b:9092"},
			want: Storage{}, topic: "connect-offsets"},
		{name: "file (standalone)", worker: map[string]string{"offset.storage.file.filename": " /tmp/connect.offsets "},
			want: Storage{File: "/tmp/connect.offsets"}},
		{name: "topic (distributed)", worker: map[string]string{"offset.storage.topic": "my-offsets",
			"offset.storage.partitions": "5", "offset.storage.replication.factor": "-1"},
			want: Storage{Topic: "my-offsets", Partitions: 5, ReplicationFactor: -1}, topic: "my-offsets"},
		{name: "topic settings only", worker: map[string]string{"offset.storage.replication.factor": "1"},
			want: Storage{ReplicationFactor: 1}, topic: "connect-offsets"},
		{name: "both", worker: map[string]string{"offset.storage.file.filename": "f", "offset.storage.topic": "t"},
			errs: []string{"offset.storage.file.filename and offset.storage.topic are both set"}},
		{name: "file and a topic setting", worker: map[string]string{"offset.storage.file.filename": "f", "offset.storage.partitions": "3"},
			errs: []string{"offset.storage.file.filename and offset.storage.partitions are both set"}},
		{name: "bad values", worker: map[string]string{"offset.storage.partitions": "0", "offset.storage.replication.factor": "three",
			"offset.storage.topic": " "},
			errs: []string{"offset.storage.partitions:", "offset.storage.replication.factor:", "offset.storage.topic: empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StorageFromProperties(tc.worker)
			if len(tc.errs) > 0 {
				for _, want := range tc.errs {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v; want it to contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || got.TopicName() != tc.topic {
				t.Fatalf("got %+v (topic %q), want %+v (topic %q)", got, got.TopicName(), tc.want, tc.topic)
			}
		})
	}
}

// TestOpenFromPropertiesFile: offset.storage.file.filename opens a file
// store, and every store opened on the same file in the process shares it,
// so two pipelines' offsets are both kept (two FileStores on one file would
// each rewrite it with only their own).
func TestOpenFromPropertiesFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "connect.offsets")
	worker := map[string]string{"offset.storage.file.filename": path}
	a, err := OpenFromProperties(ctx, worker, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenFromProperties(ctx, worker, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := Partition{"f": "x"}
	if err := a.Write(ctx, "conn-a", []connect.OffsetEntry{{Partition: p, Offset: Offset{"pos": 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, "conn-b", []connect.OffsetEntry{{Partition: p, Offset: Offset{"pos": 2}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "conn-a", p); err != ErrClosed {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if o, err := b.Get(ctx, "conn-a", p); err != nil || o["pos"] != int64(1) {
		t.Fatalf("b after a's Close: %v %v, want the shared store still open", o, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	fs, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	for conn, want := range map[string]int64{"conn-a": 1, "conn-b": 2} {
		if o, err := fs.Get(ctx, conn, p); err != nil || o["pos"] != want {
			t.Errorf("%s in the file: %v %v, want pos %d", conn, o, err, want)
		}
	}
	sharedFiles.Lock()
	n := len(sharedFiles.m)
	sharedFiles.Unlock()
	if n != 0 {
		t.Errorf("%d shared file stores left open after every handle closed", n)
	}
}

// TestOpenFromPropertiesTopic: offset.storage.topic opens a Kafka store on
// the worker's bootstrap.servers and that topic.
func TestOpenFromPropertiesTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	s, err := OpenFromProperties(t.Context(), map[string]string{
		"bootstrap.servers": strings.Join(brokers, ","), "offset.storage.topic": topic,
		"offset.storage.partitions": "2", "offset.storage.replication.factor": "1",
	}, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ks, ok := s.(*KafkaStore)
	if !ok || ks.Topic() != topic {
		t.Fatalf("store %T, want a *KafkaStore on %q", s, topic)
	}
	if _, err := OpenFromProperties(t.Context(), map[string]string{"offset.storage.file.filename": "f", "offset.storage.topic": topic}, nil); err == nil {
		t.Fatal("both keys: no error")
	}
}
