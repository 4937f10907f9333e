package offsets

import (
	"context"
	"sync"
)

// MemoryStore is a Store that keeps offsets in process memory only: they do
// not survive the process, so it suits tests and pipelines that do not need
// to resume. It behaves like the durable stores in every other respect:
// Write validates and encodes entries as the Kafka store does (rejecting
// values Kafka Connect refuses), and reads return fresh maps in which
// integers are int64 and floats float64. Safe for concurrent use.
type MemoryStore struct {
	mu     sync.RWMutex
	ix     *offsetIndex
	closed bool
}

var (
	_ Store           = (*MemoryStore)(nil)
	_ PartitionLister = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{ix: newOffsetIndex()} }

// Get returns the offset of connector's partition, nil if none. It fails
// with a *FormatError (wrapped) if partition holds a value Kafka Connect
// refuses, with ErrClosed after Close, and with ctx's error if ctx is done.
func (s *MemoryStore) Get(ctx context.Context, connector string, partition Partition) (Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.ix.get(connector, partition)
}

// List returns every entry of connector, sorted by partition (canonical
// key order); an empty slice when there is none.
func (s *MemoryStore) List(ctx context.Context, connector string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.ix.list(connector)
}

// Partitions returns the partitions of connector that have an offset,
// sorted (PartitionLister).
func (s *MemoryStore) Partitions(ctx context.Context, connector string) ([]Partition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.ix.partitions(connector)
}

// Write stores entries, a nil Offset deleting the partition's offset. All
// entries are validated first: if any holds a value Kafka Connect refuses,
// nothing is written. When a partition occurs more than once, the last
// entry wins.
func (s *MemoryStore) Write(ctx context.Context, connector string, entries []Entry) error {
	prepared, err := prepareWrite(ctx, connector, entries)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, e := range prepared {
		s.ix.apply(connector, e, s.ix.keyBytes(connector, e.canon))
	}
	return nil
}

// Close discards the offsets; later calls fail with ErrClosed. Closing
// twice is a no-op.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.ix = nil
	return nil
}
