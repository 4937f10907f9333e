package offsets

import (
	"context"
	"errors"

	"github.com/IBM/sarama"

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

// TransactionalStore is a Store whose offsets can be written inside a Kafka
// transaction of the caller's own producer, as Kafka Connect's exactly-once
// source support (KIP-618) does: the records of a transaction and the
// source offsets they cover commit or abort together. *KafkaStore
// implements it.
//
// For each transaction the caller (one source task):
//
//  1. calls OffsetMessages for the offsets the transaction covers and sends
//     the messages with its transactional producer, inside the transaction,
//     on a producer that places them as the store does (see OffsetMessages);
//  2. commits the transaction (sarama's CommitTxn);
//  3. on success only, calls Committed with the same entries, so that Get
//     and List show them. After an abort it calls nothing: the store never
//     saw the aborted offsets.
//
// Before a task (re)starts under exactly-once, after its producer fenced
// any predecessor (InitProducerId), the caller calls Refresh so that the
// store reflects offsets that other processes (a fenced predecessor, a
// restarted process) committed after the store was opened.
//
// All methods are safe for concurrent use, by several tasks of one or more
// connectors; a connector's source partition must be written by one task at
// a time (fencing guarantees it).
type TransactionalStore interface {
	Store
	// Topic returns the name of the offsets topic the messages go to.
	Topic() string
	// OffsetMessages returns one producer message per entry, in Kafka
	// Connect's byte format and on the topic partition that Write uses (a
	// nil Offset: a tombstone; a partition given twice: the last entry
	// wins). It produces nothing and changes nothing; a *FormatError
	// (wrapped) reports an entry Kafka Connect refuses, and then no message
	// is returned.
	OffsetMessages(connector string, entries []connect.OffsetEntry) ([]*sarama.ProducerMessage, error)
	// Committed applies entries, whose messages (from OffsetMessages) were
	// committed in the caller's transaction, to what Get and List return.
	// It produces nothing.
	Committed(connector string, entries []connect.OffsetEntry)
	// Refresh reads the offsets that were committed to the topic since the
	// store last read it, up to the topic's end at the time of the call,
	// with read_committed isolation, and applies them. It returns nil once
	// the store reflects every transaction committed before the call.
	Refresh(ctx context.Context) error
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
