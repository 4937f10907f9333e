package errhandler

import (
	stderrors "errors"
	"fmt"
	"io"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// javaComponent is a component with a Kafka Connect counterpart.
type javaComponent struct{}

func (javaComponent) JavaClass() string { return "com.example.MyConverter" }

// javaErr has a Java class and message of its own; plainJavaErr a class
// only.
type (
	javaErr      struct{}
	plainJavaErr struct{}
)

func (*javaErr) Error() string          { return "go text" }
func (*javaErr) JavaClass() string      { return "com.example.BadThing" }
func (*javaErr) JavaMessage() string    { return "Java text" }
func (*plainJavaErr) Error() string     { return "plain go text" }
func (*plainJavaErr) JavaClass() string { return "com.example.PlainThing" }

// TestClassName: the executing class is Kafka Connect's for the stages whose
// class is the runtime's (TASK_PUT: WorkerErrantRecordReporter's
// SinkTask.class; KAFKA_PRODUCE: WorkerSourceTask.class), whatever the
// component; otherwise the component's JavaClass, else its Go type, else "".
func TestClassName(t *testing.T) {
	cases := []struct {
		f    *Failure
		want string
	}{
		{&Failure{Stage: connect.StageTaskPut, Component: &fakeConverter{}}, "org.apache.kafka.connect.sink.SinkTask"},
		{&Failure{Stage: connect.StageTaskPut}, "org.apache.kafka.connect.sink.SinkTask"},
		{&Failure{Stage: connect.StageTaskPut, Component: javaComponent{}}, "org.apache.kafka.connect.sink.SinkTask"},
		{&Failure{Stage: connect.StageKafkaProduce, Component: &fakeConverter{}}, "org.apache.kafka.connect.runtime.WorkerSourceTask"},
		{&Failure{Stage: connect.StageValueConverter, Component: javaComponent{}}, "com.example.MyConverter"},
		{&Failure{Stage: connect.StageValueConverter, Component: &fakeConverter{}}, "*errhandler.fakeConverter"},
		{&Failure{Stage: connect.StageTaskPoll}, ""},
	}
	for _, c := range cases {
		if got := ClassName(c.f); got != c.want {
			t.Errorf("ClassName(%s, %T) = %q, want %q", c.f.Stage, c.f.Component, got, c.want)
		}
	}
}

// TestJavaException: the first error of the chain with a Java class gives
// the class and its Java message (or its text); a retriable error is a
// RetriableException with the cause's text; Sluice's record errors without
// a more specific class are ConnectException; anything else keeps its Go
// type and text.
func TestJavaException(t *testing.T) {
	rec := connect.NewRecordError("c", 0, connect.StageTaskPut, nil, nil, 1, io.EOF)
	cases := []struct {
		err        error
		class, msg string
	}{
		{fmt.Errorf("wrapped: %w", &javaErr{}), "com.example.BadThing", "Java text"},
		{fmt.Errorf("wrapped: %w", &plainJavaErr{}), "com.example.PlainThing", "plain go text"},
		{connect.Retriable(io.ErrUnexpectedEOF), "org.apache.kafka.connect.errors.RetriableException", "unexpected EOF"},
		{connect.Retriable(&javaErr{}), "org.apache.kafka.connect.errors.RetriableException", "go text"},
		{connect.NewRecordError("c", 0, connect.StageTaskPut, nil, nil, 1, &javaErr{}), "com.example.BadThing", "Java text"},
		{rec, "org.apache.kafka.connect.errors.ConnectException", rec.Error()},
		{connect.Fatal(io.EOF), "org.apache.kafka.connect.errors.ConnectException", "fatal: EOF"},
		{(&connect.BatchError{}).Fail(1, io.EOF), "org.apache.kafka.connect.errors.ConnectException", "1 record(s) of the batch failed; [1]: EOF"},
		{fmt.Errorf("x: %w", &parseError{at: 3}), "*errhandler.parseError", "x: parse error at byte 3"},
		{stderrors.New("plain"), "*errors.errorString", "plain"},
	}
	for _, c := range cases {
		class, msg := JavaException(c.err)
		if class != c.class || msg != c.msg {
			t.Errorf("JavaException(%v) = %q, %q; want %q, %q", c.err, class, msg, c.class, c.msg)
		}
	}
}

// TestContextHeadersJavaException: a failure with a Kafka Connect
// counterpart carries Kafka Connect's class and message in the ten headers,
// the stack trace opens with them, and the Go details follow in Sluice's
// three headers, last.
func TestContextHeadersJavaException(t *testing.T) {
	f := &Failure{Stage: connect.StageValueConverter, Component: javaComponent{}, Record: sinkRecord(),
		Err: fmt.Errorf("converting value: %w", &javaErr{})}
	diffHeaders(t, ContextHeaders("orders-sink", 1, f), []kv{
		{"__connect.errors.topic", "orders"},
		{"__connect.errors.partition", "3"},
		{"__connect.errors.offset", "42"},
		{"__connect.errors.connector.name", "orders-sink"},
		{"__connect.errors.task.id", "1"},
		{"__connect.errors.stage", "VALUE_CONVERTER"},
		{"__connect.errors.class.name", "com.example.MyConverter"},
		{"__connect.errors.exception.class.name", "com.example.BadThing"},
		{"__connect.errors.exception.message", "Java text"},
		{"__connect.errors.exception.stacktrace", "com.example.BadThing: Java text\nCaused by: *fmt.wrapError: converting value: go text\nCaused by: *errhandler.javaErr: go text"},
		{"__sluice.errors.class.name", "errhandler.javaComponent"},
		{"__sluice.errors.exception.class.name", "*errhandler.javaErr"},
		{"__sluice.errors.exception.message", "converting value: go text"},
	})
}
