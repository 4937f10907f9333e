// Package offsettrack is the source pipeline's ack tracker: it follows the
// records a source task polled until Kafka acknowledged (or the pipeline
// dropped) them, and tells which source offsets are safe to commit. It is a
// runtime internal of package source.
package offsettrack

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// Tracker follows the records a source pipeline has submitted, per source
// partition in poll order, and tells which offsets are safe to commit: for
// each source partition, the offset of the last record such that it and every
// earlier record of the same partition were acknowledged by Kafka or
// deliberately dropped (filtered, or skipped under errors.tolerance). Unlike
// Kafka Connect (KAFKA-15296), dropped records advance offsets. A record that
// is never acknowledged blocks only its own partition.
//
// Submit is called by one goroutine (the poll loop); Done, Committable,
// MarkCommitted and InFlight may be called from any goroutine. The zero value
// is not usable; use New.
type Tracker struct {
	mu    sync.Mutex
	parts map[string]*partState

	// cache of the last partition submitted, to skip building a key for runs
	// of records of the same partition (the common case).
	lastMap   offsets.Partition
	lastState *partState
	// the partition maps submitted last, by identity, to skip building a
	// key for records that alternate between a few partitions each reusing
	// one map.
	recent RecentMaps[*partState]

	inFlight      int
	inFlightBytes int64
	doneCount     int   // records completed since the last MarkCommitted
	doneBytes     int64 // bytes completed since the last MarkCommitted
}

// mapCacheSize is the number of maps a RecentMaps recognises by identity.
const mapCacheSize = 8

// RecentMaps remembers the last mapCacheSize maps put, each with a value,
// and finds them by identity (SameMap), not by content: for maps a task
// returned, which must not be modified afterwards, the same map means the
// same entries. It holds the maps, so that no other map can take their
// address. The zero value is empty; not safe for concurrent use.
type RecentMaps[V any] struct {
	maps [mapCacheSize]map[string]any
	vals [mapCacheSize]V
	n    int // entries in use: [0, n)
	next int // the entry Put replaces next
}

// Get returns the value put with m, if m is one of the maps remembered.
func (r *RecentMaps[V]) Get(m map[string]any) (V, bool) {
	for i := range r.n {
		if SameMap(r.maps[i], m) {
			return r.vals[i], true
		}
	}
	var zero V
	return zero, false
}

// Put remembers m with v, in place of the oldest map once full.
func (r *RecentMaps[V]) Put(m map[string]any, v V) {
	r.maps[r.next], r.vals[r.next] = m, v
	r.next = (r.next + 1) % mapCacheSize
	r.n = min(r.n+1, mapCacheSize)
}

type partState struct {
	partition offsets.Partition
	slots     []slot
	head      int            // index in slots of the oldest unfinished record
	base      uint64         // sequence number of slots[0]
	next      uint64         // sequence number of the next record
	committed offsets.Offset // committable offset
	version   uint64         // incremented whenever committed changes
	flushed   uint64         // version last marked committed
}

type slot struct {
	offset offsets.Offset
	bytes  int
	done   bool
}

// Handle identifies one submitted record; pass it to Done.
type Handle struct {
	p   *partState
	seq uint64
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{parts: make(map[string]*partState)} }

// Submit registers a record of source partition p (nil for a record without
// offsets) at offset o, weighing size bytes, and returns its handle. The maps
// must not be modified afterwards.
func (t *Tracker) Submit(p offsets.Partition, o offsets.Offset, size int) Handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.lastState
	if ps == nil || !SameMap(t.lastMap, p) {
		ps = t.stateOf(p)
		t.lastMap, t.lastState = p, ps
	}
	if p == nil || o == nil {
		o = nil
	}
	if ps.head > 64 && ps.head > len(ps.slots)/2 {
		n := copy(ps.slots, ps.slots[ps.head:])
		clear(ps.slots[n:])
		ps.slots = ps.slots[:n]
		ps.base += uint64(ps.head)
		ps.head = 0
	}
	ps.slots = append(ps.slots, slot{offset: o, bytes: size})
	seq := ps.next
	ps.next++
	t.inFlight++
	t.inFlightBytes += int64(size)
	return Handle{ps, seq}
}

// stateOf returns the state of partition p, created if new: found by the
// map's identity among the last ones seen, else by equal content to the
// last partition, else by its key.
func (t *Tracker) stateOf(p offsets.Partition) *partState {
	if ps, ok := t.recent.Get(p); ok {
		return ps
	}
	var ps *partState
	if t.lastState != nil && samePartition(t.lastMap, p) {
		ps = t.lastState
	} else {
		key := partitionKey(p)
		ps = t.parts[key]
		if ps == nil {
			ps = &partState{partition: p}
			t.parts[key] = ps
		}
	}
	t.recent.Put(p, ps)
	return ps
}

// Done marks the record as finished: acknowledged by Kafka, or dropped. It
// reports whether the record's partition advanced its committable offset.
// Calling Done twice for one handle is a no-op.
func (t *Tracker) Done(h Handle) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.doneLocked(h)
}

// DoneBatch is Done for each handle in hs, in order, under one lock: the
// ack loop's way to finish a run of acknowledgements.
func (t *Tracker) DoneBatch(hs []Handle) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		t.doneLocked(h)
	}
}

func (t *Tracker) doneLocked(h Handle) bool {
	ps := h.p
	idx := int(h.seq - ps.base)
	if idx < ps.head || idx >= len(ps.slots) || ps.slots[idx].done {
		return false
	}
	s := &ps.slots[idx]
	s.done = true
	t.inFlight--
	t.inFlightBytes -= int64(s.bytes)
	t.doneCount++
	t.doneBytes += int64(s.bytes)
	advanced := false
	for ps.head < len(ps.slots) && ps.slots[ps.head].done {
		if o := ps.slots[ps.head].offset; o != nil {
			ps.committed = o
			advanced = true
		}
		ps.slots[ps.head] = slot{}
		ps.head++
	}
	if advanced {
		ps.version++
	}
	return advanced
}

// InFlight returns the number and total size of submitted records not yet
// done.
func (t *Tracker) InFlight() (records int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inFlight, t.inFlightBytes
}

// SinceCommit returns the number and size of records done since the last
// MarkCommitted, for commit-on-watermark decisions.
func (t *Tracker) SinceCommit() (records int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.doneCount, t.doneBytes
}

// Snapshot is a set of committable offsets taken by Committable.
type Snapshot struct {
	Entries  []connect.OffsetEntry
	states   []*partState
	versions []uint64
}

// Committable returns the committable offset of every partition whose offset
// advanced since it was last marked committed.
func (t *Tracker) Committable() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s Snapshot
	for _, ps := range t.parts {
		if ps.partition == nil || ps.committed == nil || ps.version == ps.flushed {
			continue
		}
		s.Entries = append(s.Entries, connect.OffsetEntry{Partition: ps.partition, Offset: ps.committed})
		s.states = append(s.states, ps)
		s.versions = append(s.versions, ps.version)
	}
	return s
}

// MarkCommitted records that the snapshot's offsets were written, so they are
// not returned again unless they advance, and resets the SinceCommit
// counters.
func (t *Tracker) MarkCommitted(s Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, ps := range s.states {
		if s.versions[i] > ps.flushed {
			ps.flushed = s.versions[i]
		}
	}
	t.doneCount, t.doneBytes = 0, 0
}

// SameMap reports whether a and b are the same map (not merely equal ones):
// one pointer comparison, where comparing contents walks both maps. Maps a
// task returned from Poll must not be modified afterwards (see
// connect.Record.SourcePartition), so a map identical to one already
// validated or compared holds the same entries. The caller must keep a
// reference to the map it compares against, so that its memory is not
// reused by a new map.
func SameMap(a, b map[string]any) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}

// samePartition reports whether a and b hold the same primitive entries,
// without allocating. Non-primitive values compare unequal (the caller then
// takes the slow path).
func samePartition(a, b offsets.Partition) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || !samePrimitive(va, vb) {
			return false
		}
	}
	return true
}

func samePrimitive(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, nil:
		return a == b
	}
	return false
}

// partitionKey builds a canonical identity for a source partition: the
// offsets-topic key encoding, which sorts members and writes integers of any
// Go type alike. Partitions the codec rejects (nested values) fall back to a
// formatted form.
func partitionKey(p offsets.Partition) string {
	if p == nil {
		return ""
	}
	b, err := offsets.EncodeKey("tracker", p)
	if err != nil {
		return fmt.Sprintf("%#v", p)
	}
	return string(b)
}

// Reset forgets every submitted record and every partition, as New: an
// exactly-once task calls it when it rewinds to the offsets last committed
// (an aborted transaction), with no record in flight.
func (t *Tracker) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.parts = make(map[string]*partState)
	t.lastMap, t.lastState = nil, nil
	t.recent = RecentMaps[*partState]{}
	t.inFlight, t.inFlightBytes, t.doneCount, t.doneBytes = 0, 0, 0, 0
}
