// Package kafkalog tells how far a partition's log holds nothing a
// consumer would deliver: transaction markers, aborted transactions'
// batches (read_committed) and batches emptied by compaction, which
// sarama's consumer skips without a word. A reader that must reach a known
// end offset (the offsets store, the tests' read_committed reader) probes
// the log with it instead of waiting on an idle timer.
package kafkalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"
)

// Probe fetches partition p of topic directly (MaxWaitTime 0) from offset next, with
// the given isolation, and returns how far it is certain that nothing
// remains for a consumer with that isolation to deliver, and whether it
// stopped at a record such a consumer delivers. It skips control batches
// (transaction markers), with read_committed the batches of aborted
// transactions, and batches whose records all lie below next (compaction);
// it never goes past end. found false with the returned offset equal to
// next (and a nil error) means it could not tell (a truncated batch).
func Probe(client sarama.Client, topic string, p int32, next, end int64, isolation sarama.IsolationLevel) (int64, bool, error) {
	conf := client.Config()
	for next < end {
		leader, err := client.Leader(topic, p)
		if err != nil {
			_ = client.RefreshMetadata(topic)
			return next, false, fmt.Errorf("probing the log: leader: %w", err)
		}
		req := &sarama.FetchRequest{
			Version:     4,
			MaxWaitTime: 0,
			MinBytes:    1,
			MaxBytes:    conf.Consumer.Fetch.Default,
			Isolation:   isolation,
		}
		if conf.Version.IsAtLeast(sarama.V2_3_0_0) {
			req.Version = 11
			req.SessionID, req.SessionEpoch = 0, -1
		}
		req.AddBlock(topic, p, next, conf.Consumer.Fetch.Default, -1)
		resp, err := leader.Fetch(req)
		if err != nil {
			return next, false, fmt.Errorf("probing the log: fetch from offset %d: %w", next, err)
		}
		block := resp.GetBlock(topic, p)
		if block == nil {
			return next, false, fmt.Errorf("probing the log: fetch from offset %d: no answer for the partition", next)
		}
		if !errors.Is(block.Err, sarama.ErrNoError) {
			return next, false, fmt.Errorf("probing the log: fetch from offset %d: %w", next, block.Err)
		}
		advanced, found := SkipUndelivered(block, next, isolation)
		if found || advanced == next {
			return min(advanced, end), found, nil
		}
		next = advanced
	}
	return next, false, nil
}

// SkipUndelivered walks a fetched block from offset next as sarama's
// consumer filters it, and returns the offset past the leading batches a
// consumer with the given isolation does not deliver, and whether it
// stopped at a record such a consumer delivers. A legacy message set or a
// truncated batch stops the walk (not found).
func SkipUndelivered(block *sarama.FetchResponseBlock, next int64, isolation sarama.IsolationLevel) (int64, bool) {
	aborted := slices.Clone(block.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b *sarama.AbortedTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	active := map[int64]bool{} // producers inside an aborted transaction
	for _, recs := range block.RecordsSet {
		b := recs.RecordBatch
		if b == nil || b.PartialTrailingRecord {
			return next, false
		}
		last := b.LastOffset()
		for len(aborted) > 0 && aborted[0].FirstOffset <= last {
			active[aborted[0].ProducerID] = true
			aborted = aborted[1:]
		}
		switch {
		case b.Control:
			delete(active, b.ProducerID) // the transaction's end
		case last < next:
		case isolation == sarama.ReadCommitted && b.IsTransactional && active[b.ProducerID]:
		default:
			for _, r := range b.Records {
				if b.FirstOffset+r.OffsetDelta >= next {
					return next, true
				}
			}
		}
		next = max(next, last+1)
	}
	return next, false
}
