package offsets

import (
	"context"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestAdminOperations(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	defer s.Close()

	if l, err := ListOffsets(ctx, s, "c"); err != nil || l == nil || len(l) != 0 {
		t.Fatalf("ListOffsets on nothing = %#v, %v; want an empty, non-nil slice", l, err)
	}
	if err := AlterOffsets(ctx, s, "c", []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "b"}, Offset: Offset{"pos": 2}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := AlterOffsets(ctx, s, "other", []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 9}}}); err != nil {
		t.Fatal(err)
	}
	// A nil Offset resets that partition only.
	if err := AlterOffsets(ctx, s, "c", []connect.OffsetEntry{{Partition: Partition{"f": "a"}}}); err != nil {
		t.Fatal(err)
	}
	l, err := ListOffsets(ctx, s, "c")
	if want := []connect.OffsetEntry{{Partition: Partition{"f": "b"}, Offset: Offset{"pos": int64(2)}}}; err != nil || !reflect.DeepEqual(l, want) {
		t.Fatalf("after alter: %v, %v; want %v", l, err, want)
	}

	// Validation: nothing written.
	for _, bad := range [][]connect.OffsetEntry{
		{{Partition: Partition{"f": "z"}, Offset: Offset{"pos": 1}}, {Offset: Offset{"pos": 1}}},
		{{Partition: Partition{"f": "z"}, Offset: Offset{"pos": 1}}, {Partition: Partition{"f": "y"}, Offset: Offset{"pos": map[string]any{}}}},
	} {
		if err := AlterOffsets(ctx, s, "c", bad); err == nil {
			t.Fatalf("AlterOffsets(%v) accepted", bad)
		}
		if o, _ := s.Get(ctx, "c", Partition{"f": "z"}); o != nil {
			t.Fatalf("a rejected alter wrote %v", o)
		}
	}
	if err := AlterOffsets(ctx, s, "", nil); err == nil {
		t.Fatal("AlterOffsets accepted an empty connector name")
	}

	if err := ResetOffsets(ctx, s, "c"); err != nil {
		t.Fatal(err)
	}
	if l, err := ListOffsets(ctx, s, "c"); err != nil || len(l) != 0 {
		t.Fatalf("after reset: %v, %v", l, err)
	}
	if err := ResetOffsets(ctx, s, "c"); err != nil {
		t.Fatalf("reset of nothing: %v", err)
	}
	if o, _ := s.Get(ctx, "other", Partition{"f": "a"}); o["pos"] != int64(9) {
		t.Fatalf("reset of c touched other: %v", o)
	}
}

// TestResetUnparsableOffset: an offset that does not parse (written by a
// foreign tool) makes List fail, but it can still be reset.
func TestResetUnparsableOffset(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	defer s.Close()
	s.mu.Lock()
	_, _, err := s.ix.load([]byte(`["c",{"f":"a"}]`), []byte(`{"pos":{"nested":1}}`))
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "c", Partition{"f": "a"}); err == nil {
		t.Fatal("Get of an unparsable offset succeeded")
	}
	if _, err := ListOffsets(ctx, s, "c"); err == nil {
		t.Fatal("ListOffsets with an unparsable offset succeeded")
	}
	if err := ResetOffsets(ctx, s, "c"); err != nil {
		t.Fatal(err)
	}
	if o, err := s.Get(ctx, "c", Partition{"f": "a"}); o != nil || err != nil {
		t.Fatalf("after reset: %v, %v", o, err)
	}
}
