package offsets

import (
	"context"
	"sync"

	"github.com/sluicehq/sluice/connect"
)

// guardedIndex is an offsetIndex behind a lock, with the closed flag: the
// read side shared by MemoryStore and FileStore.
type guardedIndex struct {
	mu     sync.RWMutex
	ix     *offsetIndex
	closed bool
}

// Get returns the offset of connector's partition, nil if none. It fails
// with a *FormatError (wrapped) if partition holds a value Kafka Connect
// refuses, with ErrClosed after Close, and with ctx's error if ctx is done.
func (g *guardedIndex) Get(ctx context.Context, connector string, partition Partition) (Offset, error) {
	return read(ctx, g, func(ix *offsetIndex) (Offset, error) { return ix.get(connector, partition) })
}

// List returns every entry of connector, sorted by partition (canonical
// key order); an empty slice when there is none.
func (g *guardedIndex) List(ctx context.Context, connector string) ([]connect.OffsetEntry, error) {
	return read(ctx, g, func(ix *offsetIndex) ([]connect.OffsetEntry, error) { return ix.list(connector) })
}

// Partitions returns the partitions of connector that have an offset,
// sorted (PartitionLister).
func (g *guardedIndex) Partitions(ctx context.Context, connector string) ([]Partition, error) {
	return read(ctx, g, func(ix *offsetIndex) ([]Partition, error) { return ix.partitions(connector) })
}

// read runs f on the index under the read lock, after the context and
// closed checks.
func read[T any](ctx context.Context, g *guardedIndex, f func(*offsetIndex) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return zero, ErrClosed
	}
	return f(g.ix)
}
