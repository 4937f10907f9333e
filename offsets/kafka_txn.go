package offsets

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
)

// This file holds KafkaStore's TransactionalStore methods: offsets written
// in the caller's Kafka transaction (exactly-once sources, KIP-618).

// OffsetMessages returns the records Write would produce for entries, for
// the caller to send in its own Kafka transaction (TransactionalStore): one
// message per partition (when a partition occurs more than once, the last
// entry wins), in entries' order, with Topic set to the offsets topic, Key
// and Value in Kafka Connect's byte format (see EncodeKey, EncodeValue; a
// partition already in the topic keeps the key bytes it was read with, see
// KafkaStore), a nil Value for a nil Offset (a tombstone), and Metadata nil
// (the caller's to set).
//
// Partition is set to the topic partition Write uses: Kafka's murmur2 of
// the key bytes modulo the topic's partition count, as Kafka's Java
// producer and Kafka Connect place offsets. The producer must put the
// message there, with a partitioner that is sarama.NewMurmur2Partitioner for
// the offsets topic (which computes the same partition) or that honours
// Partition (sarama.NewManualPartitioner): a key written to two partitions
// survives compaction twice, and which copy a reader loads last is
// undefined.
//
// OffsetMessages produces nothing and changes nothing in the store: after
// the transaction committed, call Committed with the same entries; after an
// abort, nothing. The key bytes are chosen from the store's memory at the
// time of the call; Committed chooses them again, so a Write, Committed or
// Refresh of the same partitions between the two calls (which a single
// writer per partition rules out) could make the store remember other key
// bytes than those sent (the offset itself is right).
//
// Errors: an entry Kafka Connect refuses (a *FormatError, wrapped, naming
// connector and partition; then no message is returned), ErrClosed after
// Close, or a failure to learn the topic's partition count from the
// client's metadata. Errors name the offsets topic. Safe for concurrent use.
func (s *KafkaStore) OffsetMessages(connector string, entries []connect.OffsetEntry) ([]*sarama.ProducerMessage, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	recs, err := s.prepareRecords(context.Background(), connector, entries)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	parts, err := s.client.Partitions(s.topic)
	if err == nil && len(parts) == 0 {
		err = errors.New("metadata lists no partition")
	}
	if err != nil {
		return nil, fmt.Errorf("offsets: offsets topic %q: partitions of the topic: %w", s.topic, err)
	}
	hash := sarama.NewMurmur2Partitioner(s.topic)
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, wm := range recs {
		m := s.message(wm)
		m.Metadata = nil
		if m.Partition, err = hash.Partition(m, int32(len(parts))); err != nil {
			return nil, fmt.Errorf("offsets: offsets topic %q: connector %q, partition %s: placing the record: %w",
				s.topic, connector, wm.entry.partitionText(connector), err)
		}
		msgs[i] = m
	}
	return msgs, nil
}

// Committed applies entries to the store's memory, as Write does once the
// broker acknowledged its records, without producing anything
// (TransactionalStore): call it after the Kafka transaction that carried
// OffsetMessages(connector, entries) committed, and only then. Get, List
// and Partitions show the entries from then on; a nil Offset deletes the
// partition's offset. Entries that OffsetMessages refuses are ignored (they
// cannot have been sent), with a warning.
//
// A Refresh running at the same time does not undo it: the records Refresh
// read for these partitions are older and are dropped. Safe for concurrent
// use; it also works after Close (which makes Get fail anyway).
func (s *KafkaStore) Committed(connector string, entries []connect.OffsetEntry) {
	prepared, err := prepareWrite(context.Background(), connector, entries)
	if err != nil {
		s.log.Warn("offsets: Committed with offsets that OffsetMessages refuses; ignored", "connector", connector, "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range prepared {
		s.applyLocked(connector, e, s.ix.keyBytes(connector, e.canon))
	}
}

// stagedRecord is a record Refresh read, applied once the reading is done.
type stagedRecord struct {
	offset     int64
	key, value []byte
}

// Refresh brings the store's memory up to date with the topic
// (TransactionalStore): it reads every partition from where the store last
// read it (the last stable offset at open, or the previous Refresh) up to
// the partition's high watermark taken at the start of the call, with
// read_committed isolation (records of aborted transactions and
// transaction markers are skipped, as at open), and applies the records
// read, in log order per partition. A store opened before another process
// committed offsets (a fenced predecessor, a Kafka Connect worker) sees them
// after Refresh; call it before a task starts to read its offsets.
//
// Open transactions: the high watermark includes the records of
// transactions still open when Refresh starts, and a read_committed reader
// cannot pass them until they end, so Refresh waits until every transaction
// open at its start on the offsets topic commits or aborts (Kafka's
// coordinator aborts it at its transaction.timeout.ms at the latest). This
// is what makes its result complete: stopping at the last stable offset,
// as opening does, could miss offsets committed after an older transaction
// that is still open. The wait is bounded by ctx and by the store's
// ReadTimeout, whichever ends first; the error then wraps ctx's error
// (context.DeadlineExceeded for the ReadTimeout) and names the partition
// and offsets where the read stopped. Whatever was read before the error
// (committed records only, a prefix of each partition) is applied, and the
// next Refresh goes on from there; but the store may still lack offsets
// committed before the call, so a caller must not resume a task from it
// after an error: retry Refresh (a stall), or fail.
//
// Records that Write or Committed applied while Refresh runs are not
// overwritten by older records Refresh read for the same partitions.
// Refresh calls are serialized; Get, List, Write, OffsetMessages and
// Committed go on meanwhile (Get sees the state before Refresh until it
// applies what it read, at once). Close ends a Refresh in progress, which
// then returns an error; after Close, Refresh returns ErrClosed.
func (s *KafkaStore) Refresh(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.readTimeout)
	defer cancel()
	stop := context.AfterFunc(s.life, cancel)
	defer stop()
	fail := func(err error) error {
		switch {
		case s.closed.Load():
			err = fmt.Errorf("%w: %w", ErrClosed, err)
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("%w (Refresh is bounded by ReadTimeout %v and ctx; it waits for the transactions open "+
				"on the offsets topic when it started to commit or abort)", err, s.readTimeout)
		}
		return fmt.Errorf("offsets: offsets topic %q: refreshing: %w", s.topic, err)
	}

	// From here on, what this process applies is newer than what is read.
	s.mu.Lock()
	s.touched = make(map[string]struct{})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.touched = nil
		s.mu.Unlock()
	}()

	_ = s.client.RefreshMetadata(s.topic) // partitions added since; the cached list does otherwise
	parts, err := s.client.Partitions(s.topic)
	if err != nil {
		return fail(fmt.Errorf("listing partitions: %w", err))
	}
	ends, err := s.endOffsets(ctx, parts, sarama.ReadUncommitted)
	if err != nil {
		return fail(err)
	}
	staged := make([][]stagedRecord, len(parts))
	reached, readErr := s.readPartitions(ctx, parts, s.pos, ends, func(i int, _ int32, offset int64, key, value []byte) {
		staged[i] = append(staged[i], stagedRecord{offset: offset, key: key, value: value})
	})
	if s.beforeRefreshApply != nil {
		s.beforeRefreshApply()
	}

	type warning struct {
		p                int32
		rec              stagedRecord
		connector        string
		valueErr, keyErr error
	}
	var warnings []warning
	s.mu.Lock()
	for i, p := range parts {
		for _, r := range staged[i] {
			if s.touchedLocked(r.key) {
				continue
			}
			connector, valueErr, keyErr := s.ix.load(r.key, r.value)
			if valueErr != nil || keyErr != nil {
				warnings = append(warnings, warning{p, r, connector, valueErr, keyErr})
			}
		}
	}
	s.mu.Unlock()
	s.pos = reached
	for _, w := range warnings {
		s.logLoaded(w.p, w.rec.offset, w.rec.key, w.connector, w.valueErr, w.keyErr)
	}
	if readErr != nil {
		return fail(readErr)
	}
	return nil
}

// touchedLocked reports whether this process applied the partition of key
// since Refresh started. s.mu must be held.
func (s *KafkaStore) touchedLocked(key []byte) bool {
	if len(s.touched) == 0 {
		return false
	}
	connector, partition, err := DecodeKey(key)
	if err != nil {
		return false
	}
	canon, err := EncodeKey(connector, partition)
	if err != nil {
		return false
	}
	_, ok := s.touched[string(canon)]
	return ok
}
