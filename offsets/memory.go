package offsets

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// MemoryStore is a Store that keeps offsets in process memory only: they do
// not survive the process, so it suits tests and pipelines that do not need
// to resume. It behaves like the durable stores in every other respect:
// Write validates and encodes entries as the Kafka store does (rejecting
// values Kafka Connect refuses), and reads return fresh maps in which
// integers are int64 and floats float64. Safe for concurrent use.
type MemoryStore struct {
	guardedIndex
}

var (
	_ Store           = (*MemoryStore)(nil)
	_ PartitionLister = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{guardedIndex{ix: newOffsetIndex()}} }

// Write stores entries, a nil Offset deleting the partition's offset. All
// entries are validated first: if any holds a value Kafka Connect refuses,
// nothing is written. When a partition occurs more than once, the last
// entry wins.
func (s *MemoryStore) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
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
