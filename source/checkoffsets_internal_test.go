package source

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// checkOffsets walks a source partition map once: the next record with the
// very same map is not validated again (the contract: maps are not modified
// once returned by Poll). Shown by a change the contract forbids going
// unnoticed, where a new map with the same change is refused.
func TestCheckOffsetsReusedPartitionMapCheckedOnce(t *testing.T) {
	r := &taskRunner{}
	part := map[string]any{"file": "a"}
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": 1}}); err != nil {
		t.Fatal(err)
	}
	part["bad"] = struct{}{} // forbidden: only to observe that part is not walked again
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": 2}}); err != nil {
		t.Fatalf("reused partition map walked again: %v", err)
	}
	if err := r.checkOffsets(&connect.Record{SourcePartition: map[string]any{"file": "a", "bad": struct{}{}}}); err == nil {
		t.Fatal("a new invalid partition map was accepted")
	}
	// The offset map is checked on every record.
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": struct{}{}}}); err == nil {
		t.Fatal("an invalid offset was accepted")
	}
	rec := &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": 3}}
	if n := testing.AllocsPerRun(100, func() { _ = r.checkOffsets(rec) }); n != 0 {
		t.Fatalf("%v allocs, want 0", n)
	}
}
