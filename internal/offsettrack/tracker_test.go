package offsettrack

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/offsets"
)

func part(name string) offsets.Partition { return offsets.Partition{"file": name} }
func off(n int64) offsets.Offset         { return offsets.Offset{"pos": n} }

func committedOf(t *testing.T, s Snapshot, p string) (int64, bool) {
	t.Helper()
	for _, e := range s.Entries {
		if e.Partition["file"] == p {
			return e.Offset["pos"].(int64), true
		}
	}
	return 0, false
}

func TestTrackerCommitsOnlyContiguousPrefixPerPartition(t *testing.T) {
	tr := New()
	a := []Handle{tr.Submit(part("a"), off(1), 10), tr.Submit(part("a"), off(2), 10), tr.Submit(part("a"), off(3), 10)}
	b := []Handle{tr.Submit(part("b"), off(1), 5), tr.Submit(part("b"), off(2), 5)}
	if n, sz := tr.InFlight(); n != 5 || sz != 40 {
		t.Fatalf("in flight %d/%d", n, sz)
	}
	// a's second record acked first: a cannot advance; b is independent.
	tr.Done(a[1])
	tr.Done(b[0])
	s := tr.Committable()
	if _, ok := committedOf(t, s, "a"); ok {
		t.Fatal("a advanced although its first record is not acknowledged")
	}
	if v, ok := committedOf(t, s, "b"); !ok || v != 1 {
		t.Fatalf("b committable %v %v, want 1", v, ok)
	}
	tr.MarkCommitted(s)
	if len(tr.Committable().Entries) != 0 {
		t.Fatal("committed offsets returned again without progress")
	}
	if !tr.Done(a[0]) {
		t.Fatal("acknowledging a's head should advance a")
	}
	if v, _ := committedOf(t, tr.Committable(), "a"); v != 2 {
		t.Fatalf("a committable %d, want 2 (records 1 and 2 done)", v)
	}
	tr.Done(a[2])
	tr.Done(a[2]) // twice: no-op
	tr.Done(b[1])
	s = tr.Committable()
	if v, _ := committedOf(t, s, "a"); v != 3 {
		t.Fatalf("a = %d, want 3", v)
	}
	if v, _ := committedOf(t, s, "b"); v != 2 {
		t.Fatalf("b = %d, want 2", v)
	}
	if n, sz := tr.InFlight(); n != 0 || sz != 0 {
		t.Fatalf("in flight %d/%d after all done", n, sz)
	}
	if n, _ := tr.SinceCommit(); n != 3 {
		t.Fatalf("since commit %d, want 3 (a[0], a[2], b[1] after the last commit)", n)
	}
	tr.MarkCommitted(s)
	if n, _ := tr.SinceCommit(); n != 0 {
		t.Fatal("SinceCommit not reset")
	}
}

func TestTrackerPartitionIdentityIgnoresMapOrderAndIntType(t *testing.T) {
	tr := New()
	h1 := tr.Submit(offsets.Partition{"db": "d", "table": "t", "shard": 1}, off(1), 0)
	h2 := tr.Submit(offsets.Partition{"shard": int64(1), "table": "t", "db": "d"}, off(2), 0)
	tr.Done(h2)
	if len(tr.Committable().Entries) != 0 {
		t.Fatal("the same partition written differently was tracked as two partitions")
	}
	tr.Done(h1)
	s := tr.Committable()
	if len(s.Entries) != 1 || s.Entries[0].Offset["pos"].(int64) != 2 {
		t.Fatalf("entries %v", s.Entries)
	}
}

func TestTrackerRecordsWithoutOffsetsAndCompaction(t *testing.T) {
	tr := New()
	// Records without a source partition are tracked for in-flight
	// accounting but never produce offsets.
	h := tr.Submit(nil, nil, 3)
	tr.Done(h)
	if len(tr.Committable().Entries) != 0 {
		t.Fatal("a record without source partition produced an offset")
	}
	// Many records: the queue compacts and handles stay valid.
	var hs []Handle
	for i := range 1000 {
		hs = append(hs, tr.Submit(part("x"), off(int64(i)), 1))
	}
	for i := 0; i < 999; i++ {
		tr.Done(hs[i])
		if i%100 == 0 {
			hs = append(hs, tr.Submit(part("x"), off(int64(1000+i)), 1))
		}
	}
	if v, _ := committedOf(t, tr.Committable(), "x"); v != 998 {
		t.Fatalf("committable %d, want 998", v)
	}
	for _, h := range hs[999:] {
		tr.Done(h)
	}
	if v, _ := committedOf(t, tr.Committable(), "x"); v != 1900 {
		t.Fatalf("committable %d, want 1900", v)
	}
	if n, _ := tr.InFlight(); n != 0 {
		t.Fatalf("in flight %d", n)
	}
}

func TestTrackerMarkCommittedKeepsNewerProgress(t *testing.T) {
	tr := New()
	h1 := tr.Submit(part("a"), off(1), 0)
	h2 := tr.Submit(part("a"), off(2), 0)
	tr.Done(h1)
	s := tr.Committable() // offset 1
	tr.Done(h2)           // advances to 2 while 1 is being written
	tr.MarkCommitted(s)
	if v, ok := committedOf(t, tr.Committable(), "a"); !ok || v != 2 {
		t.Fatalf("progress made during a commit was lost: %v %v", v, ok)
	}
}

func BenchmarkTrackerSubmitDone(b *testing.B) {
	tr := New()
	p := part("a")
	o := off(1)
	b.ReportAllocs()
	for b.Loop() {
		tr.Done(tr.Submit(p, o, 100))
	}
}

func TestTrackerReset(t *testing.T) {
	tr := New()
	h := tr.Submit(part("a"), off(1), 10)
	tr.Done(h)
	tr.Submit(part("a"), off(2), 5)
	tr.Reset()
	if n, b := tr.InFlight(); n != 0 || b != 0 {
		t.Fatalf("InFlight after Reset = %d, %d", n, b)
	}
	if s := tr.Committable(); len(s.Entries) != 0 {
		t.Fatalf("Committable after Reset = %v", s.Entries)
	}
	tr.Done(tr.Submit(part("a"), off(3), 1))
	if got, ok := committedOf(t, tr.Committable(), "a"); !ok || got != 3 {
		t.Fatalf("after Reset, committed = %d, %v; want 3", got, ok)
	}
}

func TestSameMapIsIdentityNotEquality(t *testing.T) {
	a := map[string]any{"file": "a"}
	b := map[string]any{"file": "a"}
	if !SameMap(a, a) || !SameMap(nil, nil) {
		t.Fatal("a map is not the same as itself")
	}
	if SameMap(a, b) || SameMap(a, nil) || SameMap(nil, b) {
		t.Fatal("distinct maps reported the same")
	}
}

// A record whose source partition is the very map of the previous record's
// takes the fast path: no key is built. The partition here holds a value
// the allocation-free comparison refuses (a slice), so without the identity
// check every Submit would build its key (allocating).
func TestSubmitReusedPartitionMapAllocatesNothing(t *testing.T) {
	tr := New()
	p := offsets.Partition{"file": []any{"x"}}
	o := off(1)
	tr.Done(tr.Submit(p, o, 1))
	allocs := testing.AllocsPerRun(1000, func() {
		tr.Done(tr.Submit(p, o, 1))
	})
	if allocs != 0 {
		t.Fatalf("Submit+Done of a reused partition map: %v allocs, want 0", allocs)
	}
	// Records alternating between a few partitions, each with its own map
	// (in the round-robin order that defeats a one-entry cache).
	ps := make([]offsets.Partition, mapCacheSize)
	for i := range ps {
		ps[i] = offsets.Partition{"file": []any{i}}
		tr.Done(tr.Submit(ps[i], o, 1))
	}
	k := 0
	allocs = testing.AllocsPerRun(1000, func() {
		tr.Done(tr.Submit(ps[k%len(ps)], o, 1))
		k++
	})
	if allocs != 0 {
		t.Fatalf("Submit+Done alternating %d partition maps: %v allocs, want 0", len(ps), allocs)
	}
	// An equal but distinct map still lands in the same partition.
	h := tr.Submit(offsets.Partition{"file": []any{"x"}}, off(2), 1)
	tr.Done(h)
	s := tr.Committable()
	if len(s.Entries) != 1+len(ps) {
		t.Fatalf("committable %+v, want %d partitions", s.Entries, 1+len(ps))
	}
	for _, e := range s.Entries {
		if fmt.Sprint(e.Partition) == fmt.Sprint(p) && e.Offset["pos"] != int64(2) {
			t.Fatalf("partition %v at %v, want 2", e.Partition, e.Offset)
		}
	}
}

// DoneBatch finishes its handles as Done one by one would: out of order
// within a partition, the offset advances only over the contiguous prefix;
// a handle already done is ignored.
func TestDoneBatchAsDone(t *testing.T) {
	tr := New()
	a := []Handle{tr.Submit(part("a"), off(1), 1), tr.Submit(part("a"), off(2), 1), tr.Submit(part("a"), off(3), 1)}
	b := tr.Submit(part("b"), off(7), 1)
	tr.DoneBatch([]Handle{a[1], b, b})
	s := tr.Committable()
	if _, ok := committedOf(t, s, "a"); ok {
		t.Fatal("a advanced past its unacknowledged first record")
	}
	if v, ok := committedOf(t, s, "b"); !ok || v != 7 {
		t.Fatalf("b: %v %v, want 7", v, ok)
	}
	if n, _ := tr.InFlight(); n != 2 {
		t.Fatalf("in flight %d, want 2 (b counted once)", n)
	}
	tr.DoneBatch([]Handle{a[0], a[2]})
	if v, ok := committedOf(t, tr.Committable(), "a"); !ok || v != 3 {
		t.Fatalf("a: %v %v, want 3", v, ok)
	}
	if n, sz := tr.InFlight(); n != 0 || sz != 0 {
		t.Fatalf("in flight %d/%d, want 0", n, sz)
	}
}

// RecentMaps finds the last mapCacheSize maps put by identity, not by
// content, and forgets the oldest beyond that.
func TestRecentMaps(t *testing.T) {
	var r RecentMaps[int]
	if _, ok := r.Get(nil); ok {
		t.Fatal("an empty RecentMaps found nil")
	}
	ms := make([]map[string]any, mapCacheSize+1)
	for i := range ms {
		ms[i] = map[string]any{"p": i}
		r.Put(ms[i], i)
	}
	if _, ok := r.Get(ms[0]); ok {
		t.Fatal("the oldest map was not forgotten")
	}
	for i := 1; i < len(ms); i++ {
		if v, ok := r.Get(ms[i]); !ok || v != i {
			t.Fatalf("map %d: %d, %v", i, v, ok)
		}
	}
	if _, ok := r.Get(map[string]any{"p": 1}); ok {
		t.Fatal("an equal but different map was found")
	}
}
