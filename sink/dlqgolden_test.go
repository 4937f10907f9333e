package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/transforms"
)

// TestDLQHeadersGolden is issue 20's "DLQ header golden bytes": a sink with
// Kafka Connect's JsonConverter for values and headers, a Cast$Value SMT
// configured by its short alias, and a task that reports an errant record,
// under errors.tolerance=all with a dead-letter queue and context headers.
// Each failure's dead-letter record carries exactly the header list (keys
// and values, byte for byte, in order: the record's own headers, Kafka
// Connect's ten, Sluice's Go details) of its fixture in
// internal/errhandler/testdata, whose comments say which Kafka Connect
// class and method each value comes from:
//
//   - dlq_value_converter.golden: a value that is not JSON (VALUE_CONVERTER);
//   - dlq_transformation.golden: Cast$Value on a value that is not a map
//     (TRANSFORMATION; the class is the canonical one, not the alias);
//   - dlq_task_put.golden: a record the task reports (TASK_PUT, SinkTask);
//   - dlq_header_converter.golden: a header that is not JSON
//     (HEADER_CONVERTER).
//
// The topic (also the connector's name) is random per run and stands as
// ${topic} in the fixtures.
func TestDLQHeadersGolden(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	dlq := topic + "-dlq"
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	ts := time.UnixMilli(1_700_000_000_000)
	msg := func(value string, headers ...sarama.RecordHeader) *sarama.ProducerMessage {
		return &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(value), Timestamp: ts, Headers: headers}
	}
	sendAll(t, brokers, []*sarama.ProducerMessage{
		msg(`{"id":0}`),
		msg(`not json`), // offset 1: VALUE_CONVERTER
		msg(`"text"`),   // offset 2: TRANSFORMATION (Cast needs a map)
		msg(`{"id":3}`, sarama.RecordHeader{Key: []byte("ok"), Value: []byte(`"fine"`)},
			sarama.RecordHeader{Key: []byte("trace"), Value: []byte(`{"unterminated`)}), // offset 3: HEADER_CONVERTER
		msg(`{"id":4}`), // offset 4: reported by the task (TASK_PUT)
		msg(`{"id":5}`),
	})

	task := newRecTask()
	task.onPut = func(ctx context.Context, recs []connect.Record) error {
		for i := range recs {
			if m, ok := recs[i].Value.(map[string]any); ok && m["id"] == int32(4) {
				if err := task.tc.Report(ctx, &recs[i], errors.New("rejected downstream: id 4 is reserved")); err != nil {
					return err
				}
			}
		}
		return nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	jsonConv, err := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ValueConverter = jsonConv
	cfg.HeaderConverter = jsonConv
	cfg.Transforms, err = transforms.NewRegistry().ParseChain(map[string]string{
		"transforms": "toInt", "transforms.toInt.type": "Cast$Value", "transforms.toInt.spec": "id:int32",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQReplicationFactor: 1, DLQContextHeaders: true}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "every record", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut+st.Tasks[0].RecordsSkipped == 6 && st.Tasks[0].Errors.RecordsSkipped == 4
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, brokers, dlq)
	if len(got) != 4 {
		t.Fatalf("DLQ holds %d records, want 4", len(got))
	}
	byStage := map[string]*sarama.ConsumerMessage{}
	for _, m := range got {
		for _, h := range m.Headers {
			if string(h.Key) == sluiceerrors.HeaderStage {
				byStage[string(h.Value)] = m
			}
		}
	}
	for stage, file := range map[string]string{
		"VALUE_CONVERTER":  "dlq_value_converter.golden",
		"TRANSFORMATION":   "dlq_transformation.golden",
		"TASK_PUT":         "dlq_task_put.golden",
		"HEADER_CONVERTER": "dlq_header_converter.golden",
	} {
		m := byStage[stage]
		if m == nil {
			t.Errorf("no DLQ record of stage %s", stage)
			continue
		}
		gotLines := make([]string, len(m.Headers))
		for i, h := range m.Headers {
			v := strings.ReplaceAll(string(h.Value), topic, "${topic}")
			gotLines[i] = string(h.Key) + " " + strconv.Quote(v)
		}
		want := readGolden(t, filepath.Join("..", "internal", "errhandler", "testdata", file))
		if strings.Join(gotLines, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: DLQ headers differ from %s:\n got:\n%s\n want:\n%s", stage, file, strings.Join(gotLines, "\n"), strings.Join(want, "\n"))
		}
	}
}

// readGolden reads a DLQ header fixture: one header a line, its key, a
// space and its value as a Go-quoted string; lines starting with # and
// blank lines are comments.
func readGolden(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, q, ok := strings.Cut(line, " ")
		if _, err := strconv.Unquote(q); !ok || err != nil {
			t.Fatalf("%s: bad line %q", path, line)
		}
		out = append(out, k+" "+q)
	}
	return out
}
