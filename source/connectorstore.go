package source

import (
	"context"
	"errors"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// connectorStore is the offsets store of a connector with its own offsets
// topic (ExactlyOnce.OffsetsTopic, Kafka Connect's connector-level
// offsets.storage.topic, KIP-618), as Kafka Connect's
// ConnectorOffsetBackingStore: the connector's topic is the primary store,
// where the tasks write (inside their transactions under exactly-once) and
// read first; the worker's store is secondary, read for the source
// partitions the primary does not hold (a connector moved to its own topic
// keeps its offsets). Writes go to the primary, then, once it succeeded,
// to the secondary (at-least-once commits, AlterOffsets, ResetOffsets: a
// reset partition does not come back from the secondary); an exactly-once
// task's transactions write the primary only.
type connectorStore struct {
	primary   *ownedStore
	secondary offsets.Store
}

var (
	_ offsets.Store           = (*connectorStore)(nil)
	_ offsets.PartitionLister = (*connectorStore)(nil)
)

// newConnectorStore opens the connector's topic with the worker storage's
// settings (partitions, replication factor) on c's brokers.
func newConnectorStore(c *Config) *connectorStore {
	st := offsets.Storage{Topic: c.ExactlyOnce.OffsetsTopic, Partitions: c.OffsetStorage.Partitions, ReplicationFactor: c.OffsetStorage.ReplicationFactor}
	primary := &ownedStore{storage: st, brokers: c.Brokers, sarama: c.Sarama, log: c.Logger.With("connector", c.Name)}
	return &connectorStore{primary: primary, secondary: c.OffsetStore}
}

// owned returns the stores the pipeline opens and closes itself.
func (s *connectorStore) owned() []*ownedStore {
	out := []*ownedStore{s.primary}
	if o, ok := s.secondary.(*ownedStore); ok {
		out = append(out, o)
	}
	return out
}

func (s *connectorStore) Get(ctx context.Context, connector string, partition offsets.Partition) (offsets.Offset, error) {
	off, err := s.primary.Get(ctx, connector, partition)
	if err != nil || off != nil {
		return off, err
	}
	return s.secondary.Get(ctx, connector, partition)
}

func (s *connectorStore) List(ctx context.Context, connector string) ([]connect.OffsetEntry, error) {
	prim, err := s.primary.List(ctx, connector)
	if err != nil {
		return nil, err
	}
	sec, err := s.secondary.List(ctx, connector)
	if err != nil {
		return nil, err
	}
	return mergeEntries(prim, sec), nil
}

// mergeEntries returns prim and the entries of sec whose partition prim does
// not hold.
func mergeEntries(prim, sec []connect.OffsetEntry) []connect.OffsetEntry {
	out := append([]connect.OffsetEntry(nil), prim...)
	for _, e := range sec {
		held := false
		for _, p := range prim {
			if samePartitionValue(p.Partition, e.Partition) {
				held = true
				break
			}
		}
		if !held {
			out = append(out, e)
		}
	}
	return out
}

// samePartitionValue compares two source partitions by their canonical
// JSON form.
func samePartitionValue(a, b offsets.Partition) bool {
	ka, err1 := offsets.EncodeKey("", a)
	kb, err2 := offsets.EncodeKey("", b)
	return err1 == nil && err2 == nil && string(ka) == string(kb)
}

func (s *connectorStore) Partitions(ctx context.Context, connector string) ([]offsets.Partition, error) {
	es, err := s.List(ctx, connector)
	ps := make([]offsets.Partition, 0, len(es))
	for _, e := range es {
		ps = append(ps, e.Partition)
	}
	// A partition reset in one store and not the other still needs a
	// tombstone in both: list each store's own partitions too.
	if pl, ok := s.secondary.(offsets.PartitionLister); ok {
		more, perr := pl.Partitions(ctx, connector)
		err = errors.Join(err, perr)
		ps = mergePartitions(ps, more)
	}
	more, perr := s.primary.Partitions(ctx, connector)
	return mergePartitions(ps, more), errors.Join(err, perr)
}

func mergePartitions(ps, more []offsets.Partition) []offsets.Partition {
	for _, m := range more {
		held := false
		for _, p := range ps {
			if samePartitionValue(p, m) {
				held = true
				break
			}
		}
		if !held {
			ps = append(ps, m)
		}
	}
	return ps
}

// Write writes the primary store, then the secondary (Kafka Connect writes
// the secondary only once the primary succeeded).
func (s *connectorStore) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
	if err := s.primary.Write(ctx, connector, entries); err != nil {
		return err
	}
	return s.secondary.Write(ctx, connector, entries)
}

// Close is a no-op: the pipeline closes the stores it opened, and the
// caller its own.
func (s *connectorStore) Close() error { return nil }
