package errhandler

import (
	stderrors "errors"
	"fmt"
	"io"
	"strings"
	"testing"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
)

type kv struct{ k, v string }

func headerList(hs []sarama.RecordHeader) []kv {
	out := make([]kv, len(hs))
	for i, h := range hs {
		out[i] = kv{string(h.Key), string(h.Value)}
	}
	return out
}

func diffHeaders(t *testing.T, got []sarama.RecordHeader, want []kv) {
	t.Helper()
	g := headerList(got)
	if len(g) != len(want) {
		t.Errorf("%d headers, want %d:\n got  %q\n want %q", len(g), len(want), g, want)
		return
	}
	for i := range want {
		if g[i] != want[i] {
			t.Errorf("header %d = %q, want %q", i, g[i], want[i])
		}
	}
}

// TestContextHeadersSinkRecord: for a consumed record, exactly Kafka
// Connect's 10 __connect.errors.* headers, in DeadLetterQueueReporter's
// order, with the original (pre-transform) coordinates as decimal strings.
func TestContextHeadersSinkRecord(t *testing.T) {
	cause := fmt.Errorf("converting value: %w", &parseError{at: 7})
	f := &Failure{Stage: connect.StageValueConverter, Component: &fakeConverter{}, Record: sinkRecord(), Err: cause, Attempts: 1}
	diffHeaders(t, ContextHeaders("orders-sink", 2, f), []kv{
		{"__connect.errors.topic", "orders"},
		{"__connect.errors.partition", "3"},
		{"__connect.errors.offset", "42"},
		{"__connect.errors.connector.name", "orders-sink"},
		{"__connect.errors.task.id", "2"},
		{"__connect.errors.stage", "VALUE_CONVERTER"},
		{"__connect.errors.class.name", "*errhandler.fakeConverter"},
		{"__connect.errors.exception.class.name", "*errhandler.parseError"},
		{"__connect.errors.exception.message", "converting value: parse error at byte 7"},
		{"__connect.errors.exception.stacktrace", "*fmt.wrapError: converting value: parse error at byte 7\nCaused by: *errhandler.parseError: parse error at byte 7"},
		{"__sluice.errors.class.name", "*errhandler.fakeConverter"},
		{"__sluice.errors.exception.class.name", "*errhandler.parseError"},
		{"__sluice.errors.exception.message", "converting value: parse error at byte 7"},
	})
}

// TestContextHeadersSourceRecord: for a source record the topic is the
// target topic, there is no partition or offset header, and the source
// partition and offset follow as JSON, before Sluice's Go details. A
// KAFKA_PRODUCE failure's class is Kafka Connect's WorkerSourceTask
// (WorkerSourceTask's producer callback, executeFailed(…, KAFKA_PRODUCE,
// WorkerSourceTask.class, …)), a retriable error is a RetriableException
// whose message is the cause's.
func TestContextHeadersSourceRecord(t *testing.T) {
	cause := connect.Retriable(io.ErrUnexpectedEOF)
	f := &Failure{Stage: connect.StageKafkaProduce, Component: &fakeConverter{}, Record: sourceRecord(), Err: cause}
	hs := ContextHeaders("files", 0, f)
	diffHeaders(t, hs, []kv{
		{"__connect.errors.topic", "lines"},
		{"__connect.errors.connector.name", "files"},
		{"__connect.errors.task.id", "0"},
		{"__connect.errors.stage", "KAFKA_PRODUCE"},
		{"__connect.errors.class.name", "org.apache.kafka.connect.runtime.WorkerSourceTask"},
		{"__connect.errors.exception.class.name", "org.apache.kafka.connect.errors.RetriableException"},
		{"__connect.errors.exception.message", "unexpected EOF"},
		{"__connect.errors.exception.stacktrace", "org.apache.kafka.connect.errors.RetriableException: unexpected EOF\nCaused by: *connect.RetriableError: retriable: unexpected EOF\nCaused by: *errors.errorString: unexpected EOF"},
		{"__connect.errors.source.partition", `{"file":"a.txt"}`},
		{"__connect.errors.source.offset", `{"pos":7}`},
		{"__sluice.errors.class.name", "*errhandler.fakeConverter"},
		{"__sluice.errors.exception.class.name", "*connect.RetriableError"},
		{"__sluice.errors.exception.message", "retriable: unexpected EOF"},
	})
	for _, h := range hs {
		if k := string(h.Key); k == sluiceerrors.HeaderPartition || k == sluiceerrors.HeaderOffset {
			t.Errorf("source record has header %s", k)
		}
	}
}

// TestContextHeadersTopicFallbacks: without a consumed record the topic
// comes from the raw record, else the record's topic; no record at all
// gives no topic header.
func TestContextHeadersTopicFallbacks(t *testing.T) {
	first := func(f *Failure) kv { return headerList(ContextHeaders("c", 1, f))[0] }
	if got := first(&Failure{Stage: connect.StageTaskPoll, Raw: &RawRecord{Topic: "raw-topic"}, Record: &connect.Record{Topic: "rec-topic"}}); got != (kv{sluiceerrors.HeaderTopic, "raw-topic"}) {
		t.Errorf("raw: %q", got)
	}
	if got := first(&Failure{Stage: connect.StageTaskPoll, Record: &connect.Record{Topic: "rec-topic"}}); got != (kv{sluiceerrors.HeaderTopic, "rec-topic"}) {
		t.Errorf("record: %q", got)
	}
	diffHeaders(t, ContextHeaders("c", 1, &Failure{Stage: connect.StageTaskPoll}), []kv{
		{sluiceerrors.HeaderConnectorName, "c"}, {sluiceerrors.HeaderTaskID, "1"}, {sluiceerrors.HeaderStage, "TASK_POLL"},
	})
}

// TestErrorClass: the exception class is the first error in the chain that
// is not a standard-library wrapper (fmt.Errorf, errors.Join, errors.New),
// including error types of other packages that happen to be named errors.
func TestErrorClass(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&parseError{at: 1}, "*errhandler.parseError"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", &parseError{})), "*errhandler.parseError"},
		{fmt.Errorf("a: %w", connect.Fatal(&parseError{})), "*connect.FatalError"},
		{&WindowError{Err: io.EOF}, "*errhandler.WindowError"},
		{fmt.Errorf("report: %w", &ReportError{Err: io.EOF, Cause: io.EOF}), "*errhandler.ReportError"},
		{stderrors.New("plain"), "*errors.errorString"},
		// Only standard-library types in the chain: the outermost one.
		{fmt.Errorf("wrapped: %w", io.EOF), "*fmt.wrapError"},
		{stderrors.Join(io.EOF, &parseError{}), "*errors.joinError"},
	}
	for _, c := range cases {
		if got := errorClass(c.err); got != c.want {
			t.Errorf("errorClass(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

// TestErrorChain renders each cause on its own "Caused by:" line.
func TestErrorChain(t *testing.T) {
	err := fmt.Errorf("put: %w", connect.Retriable(fmt.Errorf("write: %w", io.ErrClosedPipe)))
	got := errorChain(err)
	want := strings.Join([]string{
		"*fmt.wrapError: put: retriable: write: io: read/write on closed pipe",
		"Caused by: *connect.RetriableError: retriable: write: io: read/write on closed pipe",
		"Caused by: *fmt.wrapError: write: io: read/write on closed pipe",
		"Caused by: *errors.errorString: io: read/write on closed pipe",
	}, "\n")
	if got != want {
		t.Errorf("errorChain:\n%s\nwant\n%s", got, want)
	}
}
