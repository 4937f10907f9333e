package offsets

import (
	"context"
	"errors"

	"github.com/sluicehq/sluice/connect"
)

// Partition is a source partition (e.g. {"filename": "a.txt"}) and Offset a
// position in it (e.g. {"position": 30}). Values are primitives: string,
// bool, integers (read back as int64) and floats (read back as float64), or
// nil.
type (
	Partition = map[string]any
	Offset    = map[string]any
)

// Reader reads committed source offsets of one connector. It is what a source
// task sees through its context. Safe for concurrent use.
type Reader interface {
	// Offset returns the committed offset of partition, or nil if there is
	// none.
	Offset(ctx context.Context, partition Partition) (Offset, error)
	// Offsets returns the committed offsets of several partitions, in the
	// order asked (nil where there is none).
	Offsets(ctx context.Context, partitions []Partition) ([]Offset, error)
}

// Store keeps source offsets for any number of connectors. Implementations
// are safe for concurrent use.
//
// Get reads one offset (nil when none); List returns every stored entry of a
// connector; Write stores entries atomically per entry and durably (when it
// returns nil the offsets survive a restart of the process), a nil Offset
// deleting the partition's offset. Close releases resources; the store must
// not be used after it.
type Store interface {
	Get(ctx context.Context, connector string, partition Partition) (Offset, error)
	List(ctx context.Context, connector string) ([]connect.OffsetEntry, error)
	Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error
	Close() error
}

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("offsets: store is closed")

// ConnectorReader returns the Reader of one connector's offsets in s.
func ConnectorReader(s Store, connector string) Reader { return connectorReader{s, connector} }

type connectorReader struct {
	s    Store
	name string
}

func (r connectorReader) Offset(ctx context.Context, p Partition) (Offset, error) {
	return r.s.Get(ctx, r.name, p)
}

func (r connectorReader) Offsets(ctx context.Context, ps []Partition) ([]Offset, error) {
	out := make([]Offset, len(ps))
	for i, p := range ps {
		o, err := r.s.Get(ctx, r.name, p)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}
