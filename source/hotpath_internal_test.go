package source

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/offsettrack"
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
	// A new offset map with other member names is walked: its names are
	// checked (and its values).
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"\xff": 1}}); err == nil {
		t.Fatal("an offset member name that is not UTF-8 was accepted")
	}
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": 1, "x": uint64(1 << 63)}}); err == nil {
		t.Fatal("an out-of-range offset value was accepted")
	}
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": 1, "x": 2}}); err != nil {
		t.Fatal(err)
	}
	if err := r.checkOffsets(&connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": 1, "x": "\xff"}}); err == nil {
		t.Fatal("a string offset value that is not UTF-8 was accepted")
	}
	// Alternating between a few partition maps, each is checked once.
	var parts [8]map[string]any
	for i := range parts {
		parts[i] = map[string]any{"file": i}
		if err := r.checkOffsets(&connect.Record{SourcePartition: parts[i]}); err != nil {
			t.Fatal(err)
		}
		parts[i]["bad"] = struct{}{} // forbidden, to observe that it is not walked again
	}
	for i := range 2 * len(parts) {
		if err := r.checkOffsets(&connect.Record{SourcePartition: parts[i%len(parts)]}); err != nil {
			t.Fatalf("partition map %d walked again: %v", i%len(parts), err)
		}
	}
	rec := &connect.Record{SourcePartition: map[string]any{"file": "z"}, SourceOffset: map[string]any{"pos": 3}}
	if n := testing.AllocsPerRun(100, func() { _ = r.checkOffsets(rec) }); n != 0 {
		t.Fatalf("%v allocs, want 0", n)
	}
}

// waitForSpace's periodic check reuses one timer: a wait allocates nothing
// (time.After allocated a timer per wait).
func TestWaitForSpaceReusesItsTimer(t *testing.T) {
	r := &taskRunner{p: &Pipeline{cfg: Config{MaxInFlightRecords: 1, MaxInFlightBytes: 1 << 30}},
		tracker: offsettrack.New(), space: make(chan struct{}, 1)}
	r.tracker.Submit(nil, nil, 1)    // the bound is reached
	r.failure = errors.New("failed") // each wait ends at its first check
	if r.waitForSpace(context.Background()) {
		t.Fatal("waitForSpace reported space")
	}
	if n := testing.AllocsPerRun(2, func() { r.waitForSpace(context.Background()) }); n != 0 {
		t.Fatalf("%v allocs per wait, want 0", n)
	}
}

// Slots released by the ack loop (putSlots) come back zeroed from getSlot,
// reused without allocating; send relies on the zeroing.
func TestSlotFreeListReusesZeroedSlots(t *testing.T) {
	r := &taskRunner{}
	s := r.getSlot()
	s.rec, s.size, s.resends, s.msg.Topic = &connect.Record{}, 10, 2, "t"
	s.msg.Headers = []sarama.RecordHeader{{Key: []byte("k")}}
	r.putSlots([]*msgSlot{s})
	got := r.getSlot()
	if got != s {
		t.Fatal("the released slot was not reused")
	}
	if !reflect.ValueOf(*got).IsZero() {
		t.Fatalf("reused slot not zeroed: %+v", got)
	}
	batch := make([]*msgSlot, 64)
	for i := range batch {
		batch[i] = r.getSlot()
	}
	r.putSlots(batch)
	if n := testing.AllocsPerRun(10, func() {
		for i := range batch {
			batch[i] = r.getSlot()
		}
		r.putSlots(batch)
	}); n != 0 {
		t.Fatalf("%v allocs per 64 slots taken and released, want 0", n)
	}
}

// The slots a task keeps idle, its free list and the poll loop's own
// together, stay within maxFreeSlots however the two exchange them.
func TestSlotFreeListBounded(t *testing.T) {
	r := &taskRunner{}
	fill := func() {
		ss := make([]*msgSlot, maxFreeSlots)
		for i := range ss {
			ss[i] = new(msgSlot)
		}
		r.putSlots(ss)
	}
	fill()
	r.getSlot() // the poll loop takes the whole list (maxFreeSlots-1 left)
	fill()      // the ack loop releases as many again
	if held := len(r.ownSlots) + len(r.slotFree.free); held > maxFreeSlots {
		t.Fatalf("%d idle slots held (%d own, %d free), want at most %d", held, len(r.ownSlots), len(r.slotFree.free), maxFreeSlots)
	}
	for range maxFreeSlots { // the poll loop uses its own and swaps again
		r.getSlot()
	}
	fill()
	if held := len(r.ownSlots) + len(r.slotFree.free); held > maxFreeSlots || len(r.slotFree.free) == 0 {
		t.Fatalf("%d idle slots held (%d own, %d free), want some, at most %d", held, len(r.ownSlots), len(r.slotFree.free), maxFreeSlots)
	}
}
