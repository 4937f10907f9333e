package connect

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var errCause = errors.New("boom")

type fakeConverter struct{}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestRetriableFatalNil(t *testing.T) {
	if Retriable(nil) != nil || RetryAfter(nil, time.Second) != nil || Fatal(nil) != nil {
		t.Error("marking a nil error must return nil")
	}
	if IsRetriable(nil) || IsFatal(nil) {
		t.Error("nil is neither retriable nor fatal")
	}
	if d, ok := RetryAfterHint(nil); ok || d != 0 {
		t.Errorf("RetryAfterHint(nil) = %v, %v", d, ok)
	}
}

func TestRetriableAndFatalClassification(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		retriable bool
		fatal     bool
		hint      time.Duration // 0 = none
	}{
		{"plain", errCause, false, false, 0},
		{"retriable", Retriable(errCause), true, false, 0},
		{"wrapped retriable", fmt.Errorf("write: %w", Retriable(errCause)), true, false, 0},
		{"double-wrapped retriable", fmt.Errorf("task: %w", fmt.Errorf("write: %w", Retriable(errCause))), true, false, 0},
		{"retry after", RetryAfter(errCause, 5*time.Second), true, false, 5 * time.Second},
		{"wrapped retry after", fmt.Errorf("put: %w", RetryAfter(errCause, 250*time.Millisecond)), true, false, 250 * time.Millisecond},
		{"retry after zero", RetryAfter(errCause, 0), true, false, 0},
		{"retry after negative", RetryAfter(errCause, -time.Second), true, false, 0},
		{"fatal", Fatal(errCause), false, true, 0},
		{"wrapped fatal", fmt.Errorf("x: %w", Fatal(errCause)), false, true, 0},
		{"fatal of retriable", Fatal(Retriable(errCause)), false, true, 0},
		{"retriable of fatal", Retriable(Fatal(errCause)), false, true, 0},
		{"wrapped fatal of retry after", fmt.Errorf("x: %w", Fatal(RetryAfter(errCause, time.Second))), false, true, time.Second},
		{"join of retriable and fatal", errors.Join(Retriable(errCause), Fatal(errCause)), false, true, 0},
		{"join of retriable and plain", errors.Join(errCause, Retriable(errCause)), true, false, 0},
		{"%v does not wrap", fmt.Errorf("x: %v", Retriable(errCause)), false, false, 0},
		{"record error wrapping retriable", NewRecordError("c", 0, StageTaskPut, nil, nil, 1, Retriable(errCause)), true, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsRetriable(tc.err); got != tc.retriable {
				t.Errorf("IsRetriable = %v, want %v", got, tc.retriable)
			}
			if got := IsFatal(tc.err); got != tc.fatal {
				t.Errorf("IsFatal = %v, want %v", got, tc.fatal)
			}
			d, ok := RetryAfterHint(tc.err)
			if d != tc.hint || ok != (tc.hint > 0) {
				t.Errorf("RetryAfterHint = %v, %v; want %v", d, ok, tc.hint)
			}
			if strings.HasPrefix(tc.name, "%v") {
				return
			}
			if !errors.Is(tc.err, errCause) {
				t.Error("errors.Is does not reach the cause")
			}
		})
	}
}

func TestRetriableFatalText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{Retriable(errCause), "retriable: boom"},
		{RetryAfter(errCause, 5*time.Second), "retriable (retry after 5s): boom"},
		{RetryAfter(errCause, 0), "retriable: boom"},
		{Fatal(errCause), "fatal: boom"},
		{Fatal(Retriable(errCause)), "fatal: retriable: boom"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	var re *RetriableError
	if !errors.As(fmt.Errorf("w: %w", RetryAfter(errCause, time.Minute)), &re) || re.After != time.Minute || re.Err != errCause {
		t.Errorf("errors.As(*RetriableError) = %+v", re)
	}
	var fe *FatalError
	if !errors.As(fmt.Errorf("w: %w", Fatal(errCause)), &fe) || fe.Err != errCause {
		t.Errorf("errors.As(*FatalError) = %+v", fe)
	}
}

func TestBatchError(t *testing.T) {
	e1, e2 := errors.New("too large"), Retriable(errors.New("timeout"))
	b := (&BatchError{}).Fail(3, e1).Fail(7, e2)
	if len(b.Failures) != 2 {
		t.Fatalf("Failures = %+v", b.Failures)
	}
	if b.Failures[0] != (RecordFailure{3, e1}) || b.Failures[1] != (RecordFailure{7, e2}) {
		t.Errorf("Failures = %+v", b.Failures)
	}
	if got, want := b.Error(), "2 record(s) of the batch failed; [3]: too large; [7]: retriable: timeout"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var be *BatchError
	if !errors.As(fmt.Errorf("put: %w", b), &be) || be != b {
		t.Error("errors.As does not find the BatchError through wrapping")
	}

	tests := []struct {
		n    int
		want string
	}{
		{0, "0 record(s) of the batch failed"},
		{1, "1 record(s) of the batch failed; [0]: e0"},
		{3, "3 record(s) of the batch failed; [0]: e0; [10]: e1; [20]: e2"},
		{4, "4 record(s) of the batch failed; [0]: e0; [10]: e1; [20]: e2; and 1 more"},
		{10, "10 record(s) of the batch failed; [0]: e0; [10]: e1; [20]: e2; and 7 more"},
	}
	for _, tc := range tests {
		b := &BatchError{}
		for i := 0; i < tc.n; i++ {
			if got := b.Fail(i*10, fmt.Errorf("e%d", i)); got != b {
				t.Fatal("Fail does not return its receiver")
			}
		}
		if got := b.Error(); got != tc.want {
			t.Errorf("%d failures: Error() = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestRecordErrorText(t *testing.T) {
	sink := &Record{
		Topic: "orders-renamed", Partition: 1, HasPartition: true, Offset: 999,
		OriginalTopic: "orders", OriginalPartition: 3, OriginalOffset: 42,
	}
	source := &Record{
		Topic:           "lines",
		SourcePartition: map[string]any{"filename": "a.txt"},
		SourceOffset:    map[string]any{"position": int64(30)},
	}
	tests := []struct {
		name string
		err  *RecordError
		want string
	}{
		{"sink", NewRecordError("orders-sink", 0, StageValueConverter, &fakeConverter{}, sink, 1, errCause),
			`connector "orders-sink" task 0 stage VALUE_CONVERTER (*connect.fakeConverter) failed on topic orders partition 3 offset 42 after 1 attempt(s): boom`},
		{"source", NewRecordError("file-source", 2, StageKafkaProduce, nil, source, 3, errCause),
			`connector "file-source" task 2 stage KAFKA_PRODUCE failed on source partition {filename=a.txt} offset {position=30} (topic lines) after 3 attempt(s): boom`},
		{"source without topic", NewRecordError("s", 1, StageTaskPoll, fakeConverter{}, &Record{SourcePartition: map[string]any{"p": 1}}, 0, errCause),
			`connector "s" task 1 stage TASK_POLL (connect.fakeConverter) failed on source partition {p=1} offset null: boom`},
		{"source offset only", NewRecordError("s", 1, StageTaskPoll, nil, &Record{SourceOffset: map[string]any{"pos": 1}}, 1, errCause),
			`connector "s" task 1 stage TASK_POLL failed on source partition null offset {pos=1} after 1 attempt(s): boom`},
		{"topic only", NewRecordError("s", 1, StageTransformation, nil, &Record{Topic: "t"}, 1, errCause),
			`connector "s" task 1 stage TRANSFORMATION failed on topic t after 1 attempt(s): boom`},
		{"no record", NewRecordError("c", 4, StageOffsetCommit, nil, nil, 0, errCause),
			`connector "c" task 4 stage OFFSET_COMMIT failed: boom`},
		{"no cause", &RecordError{Connector: "c", Stage: StageTaskCommit, Offset: -1},
			`connector "c" task 0 stage TASK_COMMIT failed: `},
		{"literal sink coordinates", &RecordError{Connector: "c", Task: 1, Stage: StageTaskPut, Topic: "t", Partition: 5, Offset: 0, Attempts: 2, Err: errCause},
			`connector "c" task 1 stage TASK_PUT failed on topic t partition 5 offset 0 after 2 attempt(s): boom`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

func TestNewRecordErrorCoordinates(t *testing.T) {
	cause := &codeError{code: 7}
	tests := []struct {
		name             string
		rec              *Record
		topic            string
		partition        int32
		offset           int64
		srcPart, srcOffs string
	}{
		{"nil record", nil, "", 0, -1, "null", "null"},
		{"sink record", &Record{Topic: "after", Partition: 1, HasPartition: true, Offset: 5,
			OriginalTopic: "before", OriginalPartition: 3, OriginalOffset: 42}, "before", 3, 42, "null", "null"},
		{"source record without partition", &Record{Topic: "lines",
			SourcePartition: map[string]any{"f": "a"}, SourceOffset: map[string]any{"pos": 1}}, "lines", -1, -1, "{f=a}", "{pos=1}"},
		{"source record with partition", &Record{Topic: "lines", Partition: 5, HasPartition: true,
			SourcePartition: map[string]any{"f": "a"}}, "lines", 5, -1, "{f=a}", "null"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewRecordError("conn", 3, StageTaskPut, &fakeConverter{}, tc.rec, 2, cause)
			if e.Connector != "conn" || e.Task != 3 || e.Stage != StageTaskPut || e.Attempts != 2 || e.Class != "*connect.fakeConverter" {
				t.Errorf("identity fields = %+v", *e)
			}
			if e.Topic != tc.topic || e.Partition != tc.partition || e.Offset != tc.offset {
				t.Errorf("coordinates = %s/%d/%d, want %s/%d/%d", e.Topic, e.Partition, e.Offset, tc.topic, tc.partition, tc.offset)
			}
			if got := FormatMap(e.SourcePartition); got != tc.srcPart {
				t.Errorf("SourcePartition = %s, want %s", got, tc.srcPart)
			}
			if got := FormatMap(e.SourceOffset); got != tc.srcOffs {
				t.Errorf("SourceOffset = %s, want %s", got, tc.srcOffs)
			}

			// errors.Is / errors.As reach the cause, also through wrapping.
			wrapped := fmt.Errorf("pipeline: %w", e)
			if !errors.Is(wrapped, cause) {
				t.Error("errors.Is does not reach the cause")
			}
			var ce *codeError
			if !errors.As(wrapped, &ce) || ce.code != 7 {
				t.Error("errors.As does not reach the cause")
			}
			var re *RecordError
			if !errors.As(wrapped, &re) || re != e {
				t.Error("errors.As does not find the RecordError")
			}
			if e.Unwrap() != cause {
				t.Error("Unwrap() is not the cause")
			}
			for _, part := range []string{`connector "conn"`, "task 3", "stage TASK_PUT", "(*connect.fakeConverter)", "after 2 attempt(s)", ": code 7"} {
				if !strings.Contains(e.Error(), part) {
					t.Errorf("Error() %q lacks %q", e.Error(), part)
				}
			}
		})
	}
	// A fatal cause stays fatal through the RecordError.
	if e := NewRecordError("c", 0, StageTaskPut, nil, nil, 1, Fatal(errCause)); !IsFatal(e) || IsRetriable(e) {
		t.Error("fatal cause lost")
	}
	// The record itself is not modified.
	rec := &Record{Topic: "t", SourcePartition: map[string]any{"f": "a"}}
	NewRecordError("c", 0, StageTaskPoll, nil, rec, 1, errCause)
	if rec.Topic != "t" || rec.HasPartition || len(rec.SourcePartition) != 1 {
		t.Errorf("record changed: %+v", *rec)
	}
}

func TestTypeName(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{&fakeConverter{}, "*connect.fakeConverter"},
		{fakeConverter{}, "connect.fakeConverter"},
		{&Struct{}, "*connect.Struct"},
		{42, "int"},
	} {
		if got := typeName(tc.v); got != tc.want {
			t.Errorf("typeName(%T) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
