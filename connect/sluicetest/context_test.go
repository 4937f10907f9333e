package sluicetest_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/source"
)

// TestSourceTaskContext: preset offsets are read back through Offsets as a
// store returns them (integers as int64), CommitRecords commits each
// record's offset, a nil offset deletes.
func TestSourceTaskContext(t *testing.T) {
	ctx := context.Background()
	tc := sluicetest.NewSourceTaskContext(map[string]string{"k": "v"}).WithName("c").WithTaskID(2)
	if tc.ConnectorName() != "c" || tc.TaskID() != 2 || tc.Config()["k"] != "v" {
		t.Fatalf("ConnectorName, TaskID, Config = %q, %d, %v", tc.ConnectorName(), tc.TaskID(), tc.Config())
	}
	a := map[string]any{"file": "a", "n": 1}
	tc.SetOffset(a, map[string]any{"pos": 7, "f": float32(0.5)})
	got, err := tc.Offsets().Offset(ctx, map[string]any{"n": int64(1), "file": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got["pos"] != int64(7) || got["f"] != float64(0.5) {
		t.Errorf("Offset = %#v, want pos int64(7), f float64(0.5)", got)
	}
	tc.CommitRecords([]connect.Record{
		{SourcePartition: a, SourceOffset: map[string]any{"pos": 8}},
		{SourcePartition: map[string]any{"file": "b"}, SourceOffset: map[string]any{"pos": 1}},
		{SourcePartition: a, SourceOffset: map[string]any{"pos": 9}},
		{Value: "no partition"},
	})
	offs, err := tc.Offsets().Offsets(ctx, []map[string]any{a, {"file": "b"}, {"file": "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if offs[0]["pos"] != int64(9) || offs[1]["pos"] != int64(1) || offs[2] != nil {
		t.Errorf("Offsets = %v, want pos 9, pos 1, nil", offs)
	}
	tc.SetOffset(a, nil)
	if o := tc.CommittedOffset(a); o != nil {
		t.Errorf("after SetOffset(nil): %v", o)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tc.Offsets().Offset(cancelled, a); !errors.Is(err, context.Canceled) {
		t.Errorf("Offset with a cancelled context: %v", err)
	}
}

// TestSinkTaskContext: seeks, pauses, commit requests and reports are
// recorded; Pause of an unassigned partition fails as the pipeline's.
func TestSinkTaskContext(t *testing.T) {
	tp0 := connect.TopicPartition{Topic: "t", Partition: 0}
	tp1 := connect.TopicPartition{Topic: "t", Partition: 1}
	other := connect.TopicPartition{Topic: "u", Partition: 0}
	tc := sluicetest.NewSinkTaskContext(nil, tp0, tp1)

	tc.Offset(tp0, 5)
	tc.Offset(tp0, 7)
	if got := tc.Seeks(); got[tp0] != 7 || len(got) != 1 {
		t.Errorf("Seeks = %v, want {t-0: 7}", got)
	}
	if err := tc.Pause(tp1, tp0); err != nil {
		t.Fatal(err)
	}
	if err := tc.Pause(other); err == nil {
		t.Error("Pause of an unassigned partition succeeded")
	}
	if err := tc.Resume(tp1); err != nil {
		t.Fatal(err)
	}
	if got := tc.Paused(); !slices.Equal(got, []connect.TopicPartition{tp0}) {
		t.Errorf("Paused = %v, want [t-0]", got)
	}
	tc.SetAssignment(tp1)
	if got := tc.Paused(); len(got) != 0 {
		t.Errorf("Paused after revoking t-0 = %v", got)
	}
	tc.RequestCommit()
	tc.RequestCommit()
	if n := tc.CommitRequests(); n != 2 {
		t.Errorf("CommitRequests = %d", n)
	}
	rec := &connect.Record{Value: "x"}
	boom := errors.New("boom")
	if err := tc.Report(context.Background(), rec, boom); err != nil {
		t.Fatal(err)
	}
	dlqDown := errors.New("dlq down")
	tc.SetReportError(dlqDown)
	if err := tc.Report(context.Background(), rec, boom); !errors.Is(err, dlqDown) {
		t.Errorf("Report after SetReportError = %v", err)
	}
	rec.Value = "changed"
	reps := tc.Reports()
	if len(reps) != 2 || reps[0].Record.Value != "x" || !errors.Is(reps[0].Err, boom) {
		t.Errorf("Reports = %+v", reps)
	}
}

// TestSourceTaskContextTransactions: WithTransactionContext gives the task a
// TransactionContext (through source.TransactionContextOf) whose requests
// the test reads back once; without it there is none.
func TestSourceTaskContextTransactions(t *testing.T) {
	if tc := source.TransactionContextOf(sluicetest.NewSourceTaskContext(nil)); tc != nil {
		t.Fatalf("TransactionContextOf without WithTransactionContext = %v; want nil", tc)
	}
	c := sluicetest.NewSourceTaskContext(nil).WithTransactionContext()
	tc := source.TransactionContextOf(c)
	if tc == nil {
		t.Fatal("TransactionContextOf = nil after WithTransactionContext")
	}
	recs := []connect.Record{{Topic: "a"}, {Topic: "b"}}
	tc.CommitTransactionAfter(&recs[0])
	tc.AbortTransactionAfter(&recs[1])
	tc.CommitTransaction()
	got := c.TransactionRequests()
	if !got.Commit || got.Abort || len(got.CommitAfter) != 1 || got.CommitAfter[0] != &recs[0] || len(got.AbortAfter) != 1 || got.AbortAfter[0] != &recs[1] {
		t.Fatalf("TransactionRequests = %+v", got)
	}
	tc.AbortTransaction()
	if got := c.TransactionRequests(); !got.Abort || got.Commit || got.CommitAfter != nil {
		t.Fatalf("second TransactionRequests = %+v; want only Abort (the first call forgot the rest)", got)
	}
}
