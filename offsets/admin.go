package offsets

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/connect"
)

// ListOffsets returns every stored offset of connector (Kafka Connect:
// GET /connectors/{name}/offsets), sorted by partition. It returns an empty
// slice when the connector has none.
func ListOffsets(ctx context.Context, s Store, connector string) ([]connect.OffsetEntry, error) {
	if connector == "" {
		return nil, errors.New("offsets: list offsets: empty connector name")
	}
	entries, err := s.List(ctx, connector)
	if err != nil {
		return nil, err
	}
	if entries == nil {
		entries = []connect.OffsetEntry{}
	}
	return entries, nil
}

// AlterOffsets writes the given offsets of connector (Kafka Connect:
// PATCH /connectors/{name}/offsets); an entry with a nil Offset resets that
// partition (a tombstone). Every entry is validated before anything is
// written: a nil Partition, or a value Kafka Connect refuses, fails the
// whole call with nothing written. Partitions not named keep their offsets.
//
// The caller must make sure the connector's pipeline is not running (see
// connect.ErrNotStopped).
func AlterOffsets(ctx context.Context, s Store, connector string, entries []connect.OffsetEntry) error {
	if connector == "" {
		return errors.New("offsets: alter offsets: empty connector name")
	}
	for i, e := range entries {
		if e.Partition == nil {
			return fmt.Errorf("offsets: alter offsets of connector %q: entry %d has no partition", connector, i)
		}
		if _, err := EncodeKey(connector, e.Partition); err != nil {
			return fmt.Errorf("offsets: alter offsets of connector %q: entry %d: %w", connector, i, err)
		}
		if _, err := EncodeValue(e.Offset); err != nil {
			return fmt.Errorf("offsets: alter offsets of connector %q: entry %d: %w", connector, i, err)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	return s.Write(ctx, connector, entries)
}

// ResetOffsets deletes every stored offset of connector (Kafka Connect:
// DELETE /connectors/{name}/offsets) by writing a tombstone for each of
// its partitions; the connector then starts from scratch. A connector
// without offsets is not an error. The partitions come from the store's
// PartitionLister if it has one, else from List.
//
// The caller must make sure the connector's pipeline is not running (see
// connect.ErrNotStopped).
func ResetOffsets(ctx context.Context, s Store, connector string) error {
	if connector == "" {
		return errors.New("offsets: reset offsets: empty connector name")
	}
	var parts []Partition
	if pl, ok := s.(PartitionLister); ok {
		var err error
		if parts, err = pl.Partitions(ctx, connector); err != nil {
			return err
		}
	} else {
		entries, err := s.List(ctx, connector)
		if err != nil {
			return err
		}
		for _, e := range entries {
			parts = append(parts, e.Partition)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	entries := make([]connect.OffsetEntry, len(parts))
	for i, p := range parts {
		entries[i] = connect.OffsetEntry{Partition: p}
	}
	return s.Write(ctx, connector, entries)
}

// PartitionLister is an optional Store capability: the source partitions
// of connector that have a stored offset, sorted, without decoding the
// offsets. ResetOffsets uses it when the store has it, so that an offset
// that no longer parses (written by a foreign tool, say) can still be
// reset. The stores of this package implement it.
type PartitionLister interface {
	Partitions(ctx context.Context, connector string) ([]Partition, error)
}
