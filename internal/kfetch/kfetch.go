// Package kfetch fetches partitions' records in batches with sarama's
// lower-level API (Client.LeaderAndEpoch, Broker.Fetch): one fetch request
// per broker at a time covering every subscribed partition it leads, decoded
// straight into a callback's batch. It replaces sarama's Consumer on the
// sink's hot path, which hands every record through a channel and two
// goroutines and waits for them to drain before its next fetch (issue #21:
// ≈ 0.2 µs of CPU per record).
//
// It does what sarama's partition consumer does with a fetch response:
// records below the fetch offset are skipped, control batches (transaction
// markers) are never delivered, with read_committed the batches of aborted
// transactions are dropped, LogAppendTime batches give their records the
// broker's time, an offset out of range resets to Consumer.Offsets.Initial
// (logged), and a partition whose leader moved or whose broker failed is
// fetched again from its current leader after Consumer.Retry.Backoff. What
// it does not do: fetch from a preferred read replica (KIP-392; Sluice sends
// no client.rack, so the leader serves), incremental fetch sessions
// (KIP-227) and consumer interceptors.
package kfetch

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// Handler receives a subscription's records, in offset order, on the
// goroutine of the broker fetcher that fetched them; hwm is the partition's
// high watermark in that fetch. The slice is reused once Handler returns:
// a handler keeps the Msg values (copies), which with the bytes they refer
// to (aliasing the fetch response) are then its own. A Handler must not call
// the subscription's Close (it would wait for itself) and must not block
// for long: the broker's other partitions wait for it.
type Handler func(msgs []Msg, hwm int64)

// Msg is one fetched record: 24 bytes that point at what sarama decoded
// (the record, and what its batch's records share), so that handing records
// on costs no allocation and no copy of their fields. Its accessors give
// what sarama's ConsumerMessage holds. The zero Msg is not valid.
type Msg struct {
	Offset int64
	rec    *sarama.Record
	batch  *Batch
}

// Batch is what the records of one fetched record batch share.
type Batch struct {
	Topic          string
	Partition      int32
	FirstTimestamp time.Time // the base for the records' timestamp deltas
	MaxTimestamp   time.Time // the broker's time when LogAppendTime
	LogAppendTime  bool
}

// NewMsg makes a Msg from a record's fields (its timestamp as given), as
// the fetcher does for a legacy message set and tests do.
func NewMsg(topic string, partition int32, offset int64, ts time.Time, key, value []byte, headers []*sarama.RecordHeader) Msg {
	return Msg{
		Offset: offset,
		rec:    &sarama.Record{Key: key, Value: value, Headers: headers},
		batch:  &Batch{Topic: topic, Partition: partition, FirstTimestamp: ts},
	}
}

// Topic is the record's topic.
func (m *Msg) Topic() string { return m.batch.Topic }

// Partition is the record's partition.
func (m *Msg) Partition() int32 { return m.batch.Partition }

// Key is the record's key (nil for none).
func (m *Msg) Key() []byte { return m.rec.Key }

// Value is the record's value (nil for a tombstone).
func (m *Msg) Value() []byte { return m.rec.Value }

// Headers are the record's headers.
func (m *Msg) Headers() []*sarama.RecordHeader { return m.rec.Headers }

// Timestamp is the record's timestamp as sarama's consumer gives it: the
// broker's time for a LogAppendTime batch, else the producer's.
func (m *Msg) Timestamp() time.Time {
	if m.batch.LogAppendTime {
		return m.batch.MaxTimestamp
	}
	return m.batch.FirstTimestamp.Add(m.rec.TimestampDelta)
}

// LogAppendTime reports whether the record's batch carries the broker's
// time (the topic's message.timestamp.type was LogAppendTime when it was
// written).
func (m *Msg) LogAppendTime() bool { return m.batch.LogAppendTime }

// Fetcher fetches the partitions subscribed to it. Its methods are safe for
// concurrent use. Close stops every goroutine it started.
type Fetcher struct {
	client sarama.Client
	conf   *sarama.Config
	log    *slog.Logger

	mu      sync.Mutex
	brokers map[*sarama.Broker]*brokerFetcher
	pending []*Sub // waiting for a leader (or an offset reset)
	open    map[topicPartition]*Sub
	closed  bool

	wake chan struct{} // dispatcher wake-up; cap 1
	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// New returns a Fetcher over client, configured by client's configuration
// (Consumer.Fetch.*, Consumer.MaxWaitTime, Consumer.IsolationLevel,
// Consumer.Offsets.Initial, Consumer.Retry.Backoff, Version). log receives
// fetch errors, which are retried. The client must stay open until Close
// returned.
func New(client sarama.Client, log *slog.Logger) *Fetcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Fetcher{
		client:  client,
		conf:    client.Config(),
		log:     log,
		brokers: map[*sarama.Broker]*brokerFetcher{},
		open:    map[topicPartition]*Sub{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	f.wg.Go(f.dispatcher)
	return f
}

// Close stops fetching and waits for the Fetcher's goroutines: for a fetch
// in flight (Consumer.MaxWaitTime, or Net.ReadTimeout on a silent broker)
// and for a leader or offset lookup in progress (the client's metadata
// retries). No Handler runs once it returned. Calling it again does
// nothing.
func (f *Fetcher) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	close(f.done)
	f.mu.Unlock()
	f.wg.Wait()
}

// topicPartition identifies a partition.
type topicPartition struct {
	topic     string
	partition int32
}

// Sub is one partition's subscription.
type Sub struct {
	f         *Fetcher
	topic     string
	partition int32
	handler   Handler

	paused atomic.Bool
	hwm    atomic.Int64

	// mu serializes deliveries with Close.
	mu     sync.Mutex
	closed bool

	// Owned by whoever holds the Sub: its broker fetcher's goroutine, or the
	// dispatcher while it is pending (hand-overs under Fetcher.mu).
	offset      int64 // next offset to fetch
	fetchSize   int32
	leaderEpoch int32
	reset       bool      // the offset was out of range: reset it
	retryAt     time.Time // pending until then
	bf          *brokerFetcher
}

// Subscribe starts fetching topic's partition from offset, or from the
// oldest or newest offset for sarama.OffsetOldest and sarama.OffsetNewest.
// An offset outside the partition's log is refused with an error wrapping
// sarama.ErrOffsetOutOfRange; an error reading the log's bounds is returned
// too. paused starts the subscription paused. h receives the records. A
// partition has at most one open subscription per Fetcher: Subscribe
// refuses another until the first one's Close (a fetch request holds one
// offset per partition).
func (f *Fetcher) Subscribe(topic string, partition int32, offset int64, paused bool, h Handler) (*Sub, error) {
	off, hwm, err := f.startOffset(topic, partition, offset)
	if err != nil {
		return nil, err
	}
	s := &Sub{f: f, topic: topic, partition: partition, handler: h, offset: off, fetchSize: f.conf.Consumer.Fetch.Default, leaderEpoch: -1}
	s.paused.Store(paused)
	s.hwm.Store(hwm)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, errors.New("kfetch: the fetcher is closed")
	}
	tp := topicPartition{topic, partition}
	if f.open[tp] != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("kfetch: %s/%d is already subscribed", topic, partition)
	}
	f.open[tp] = s
	f.pending = append(f.pending, s)
	f.mu.Unlock()
	f.signal()
	return s, nil
}

// startOffset resolves offset as sarama's ConsumePartition does: a
// sentinel to the log's bound, an explicit offset checked against them.
func (f *Fetcher) startOffset(topic string, partition int32, offset int64) (off, hwm int64, err error) {
	newest, err := f.client.GetOffset(topic, partition, sarama.OffsetNewest)
	if err != nil {
		return 0, 0, fmt.Errorf("%s/%d: reading the newest offset: %w", topic, partition, err)
	}
	if offset == sarama.OffsetNewest {
		return newest, newest, nil
	}
	oldest, err := f.client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return 0, 0, fmt.Errorf("%s/%d: reading the oldest offset: %w", topic, partition, err)
	}
	switch {
	case offset == sarama.OffsetOldest:
		return oldest, newest, nil
	case offset >= oldest && offset <= newest:
		return offset, newest, nil
	}
	return 0, 0, fmt.Errorf("%s/%d: offset %d is outside [%d, %d]: %w", topic, partition, offset, oldest, newest, sarama.ErrOffsetOutOfRange)
}

// HighWaterMark is the partition's high watermark as last fetched (or read
// at Subscribe).
func (s *Sub) HighWaterMark() int64 { return s.hwm.Load() }

// Pause stops fetching the partition after the fetch in flight (whose
// records are still delivered). Non-blocking.
func (s *Sub) Pause() { s.paused.Store(true) }

// Resume undoes Pause. Non-blocking.
func (s *Sub) Resume() {
	if s.paused.Swap(false) {
		s.f.mu.Lock()
		bf := s.bf
		s.f.mu.Unlock()
		if bf != nil {
			bf.signal()
		}
	}
}

// Close ends the subscription: once it returned, its Handler is not called
// again. It waits for a delivery in progress, so it must not be called from
// the Handler or while holding a lock the Handler takes.
func (s *Sub) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.f.mu.Lock()
	if tp := (topicPartition{s.topic, s.partition}); s.f.open[tp] == s {
		delete(s.f.open, tp) // a broker fetcher drops s before it fetches a successor
	}
	bf := s.bf
	s.f.mu.Unlock()
	if bf != nil {
		bf.signal() // it drops closed subscriptions
	}
}

func (s *Sub) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// deliver hands msgs to the handler unless the subscription was closed.
func (s *Sub) deliver(msgs []Msg, hwm int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.hwm.Store(hwm)
	if len(msgs) > 0 {
		s.handler(msgs, hwm)
	}
}

func (f *Fetcher) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *Fetcher) backoff() time.Duration {
	if b := f.conf.Consumer.Retry.BackoffFunc; b != nil {
		return b(1)
	}
	return max(f.conf.Consumer.Retry.Backoff, 10*time.Millisecond)
}

// requeue moves subs back to the dispatcher, due after wait. Called with
// f.mu held.
func (f *Fetcher) requeueLocked(wait time.Duration, subs ...*Sub) {
	at := time.Now().Add(wait)
	for _, s := range subs {
		s.bf = nil
		s.retryAt = at
		f.pending = append(f.pending, s)
	}
	f.signal()
}

// dispatcher finds the leader of each pending subscription (resetting its
// offset first if it was out of range) and hands it to that broker's
// fetcher, until Close.
func (f *Fetcher) dispatcher() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-f.wake:
		case <-timer.C:
		}
		now := time.Now()
		f.mu.Lock()
		var due []*Sub
		next := time.Duration(-1)
		f.pending = slices.DeleteFunc(f.pending, func(s *Sub) bool {
			if !s.retryAt.After(now) {
				due = append(due, s)
				return true
			}
			if d := s.retryAt.Sub(now); next < 0 || d < next {
				next = d
			}
			return false
		})
		f.mu.Unlock()
		refreshed := map[string]bool{}
		for _, s := range due {
			select {
			case <-f.done:
				return
			default:
			}
			if s.isClosed() {
				continue
			}
			if err := f.place(s, refreshed); err != nil {
				f.log.Warn("fetch: cannot reach the partition's leader yet; retrying", "stage", "KAFKA_CONSUME", "topic", s.topic, "partition", s.partition, "offset", s.offset, "error", err)
				f.mu.Lock()
				f.requeueLocked(f.backoff(), s)
				f.mu.Unlock()
			}
		}
		f.mu.Lock()
		for _, s := range f.pending {
			if d := time.Until(s.retryAt); next < 0 || d < next {
				next = max(d, 0)
			}
		}
		f.mu.Unlock()
		if next >= 0 {
			timer.Reset(next)
		}
	}
}

// place resets s's offset if it must and attaches it to its leader's
// fetcher. refreshed holds the topics whose metadata this round refreshed.
func (f *Fetcher) place(s *Sub, refreshed map[string]bool) error {
	if s.reset {
		reset := f.conf.Consumer.Offsets.Initial
		off, err := f.client.GetOffset(s.topic, s.partition, reset)
		if err != nil {
			return fmt.Errorf("resetting the offset per auto.offset.reset: %w", err)
		}
		f.log.Warn("offset out of range; resetting per auto.offset.reset", "stage", "KAFKA_CONSUME", "topic", s.topic, "partition", s.partition, "offset", s.offset, "reset_to", off)
		s.offset, s.reset = off, false
	}
	if !refreshed[s.topic] {
		if err := f.client.RefreshMetadata(s.topic); err != nil {
			return err
		}
		refreshed[s.topic] = true
	}
	b, epoch, err := f.client.LeaderAndEpoch(s.topic, s.partition)
	if err != nil {
		return err
	}
	s.leaderEpoch = epoch
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	bf := f.brokers[b]
	if bf == nil {
		bf = &brokerFetcher{f: f, broker: b, wake: make(chan struct{}, 1)}
		f.brokers[b] = bf
		f.wg.Go(bf.run)
	}
	s.bf = bf
	bf.subs = append(bf.subs, s)
	bf.signal()
	return nil
}

// brokerFetcher fetches the subscriptions one broker leads.
type brokerFetcher struct {
	f      *Fetcher
	broker *sarama.Broker
	wake   chan struct{} // cap 1
	subs   []*Sub        // guarded by f.mu

	req   []*Sub                       // this round's, in request order
	round int                          // rounds started, to rotate req's order
	msgs  []Msg                        // reused for deliveries
	abrt  []*sarama.AbortedTransaction // reused
}

func (bf *brokerFetcher) signal() {
	select {
	case bf.wake <- struct{}{}:
	default:
	}
}

// run fetches until Close, or until the broker has no subscriptions left or
// its fetch failed (the subscriptions then go back to the dispatcher).
func (bf *brokerFetcher) run() {
	f := bf.f
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return
		}
		bf.subs = slices.DeleteFunc(bf.subs, func(s *Sub) bool {
			if s.isClosed() {
				s.bf = nil
				return true
			}
			return false
		})
		if len(bf.subs) == 0 {
			delete(f.brokers, bf.broker)
			f.mu.Unlock()
			return
		}
		// The partitions' order rotates from one round to the next, as the
		// Java consumer's does: a broker may answer only the first
		// partition with a batch larger than its share of the fetch
		// (KIP-74), so no partition may stay behind the others.
		bf.req = bf.req[:0]
		bf.round++
		for i := range bf.subs {
			if s := bf.subs[(bf.round+i)%len(bf.subs)]; !s.paused.Load() {
				bf.req = append(bf.req, s)
			}
		}
		f.mu.Unlock()
		if len(bf.req) == 0 {
			select {
			case <-f.done:
				return
			case <-bf.wake:
			}
			continue
		}
		select {
		case <-bf.wake: // drained: a signal sent before this round is served by it
		default:
		}
		resp, err := bf.broker.Fetch(bf.request())
		if err != nil {
			f.log.Warn("fetch failed; fetching from the partitions' leaders again", "stage", "KAFKA_CONSUME", "broker", bf.broker.Addr(), "partitions", len(bf.req), "error", err)
			_ = bf.broker.Close()
			f.mu.Lock()
			delete(f.brokers, bf.broker)
			subs := bf.subs
			bf.subs = nil
			f.requeueLocked(f.backoff(), subs...)
			f.mu.Unlock()
			return
		}
		for _, s := range bf.req {
			if err := bf.handle(s, resp); err != nil {
				f.mu.Lock()
				if i := slices.Index(bf.subs, s); i >= 0 {
					bf.subs = slices.Delete(bf.subs, i, i+1)
				}
				wait := f.backoff()
				if s.reset {
					wait = 0
				}
				f.requeueLocked(wait, s)
				f.mu.Unlock()
			}
		}
		if resp.ThrottleTime > 0 {
			t := time.NewTimer(min(resp.ThrottleTime, time.Second))
			select {
			case <-f.done:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// request builds this round's fetch request as sarama's consumer does.
func (bf *brokerFetcher) request() *sarama.FetchRequest {
	conf := bf.f.conf
	req := &sarama.FetchRequest{
		MinBytes:    conf.Consumer.Fetch.Min,
		MaxWaitTime: int32(conf.Consumer.MaxWaitTime / time.Millisecond),
		Version:     FetchVersion(conf.Version),
	}
	if req.Version >= 3 {
		req.MaxBytes = conf.Consumer.Fetch.MaxBytes
	}
	if req.Version >= 4 {
		req.Isolation = conf.Consumer.IsolationLevel
	}
	if req.Version >= 7 {
		req.SessionID, req.SessionEpoch = 0, -1 // no fetch session (KIP-227)
	}
	for _, s := range bf.req {
		req.AddBlock(s.topic, s.partition, s.offset, s.fetchSize, s.leaderEpoch)
	}
	return req
}

// FetchVersion is the Fetch request version sarama's consumer uses for a
// negotiated Kafka version.
func FetchVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_7_0_0):
		return 12
	case v.IsAtLeast(sarama.V2_3_0_0):
		return 11
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 10
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 8
	case v.IsAtLeast(sarama.V1_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 6
	case v.IsAtLeast(sarama.V0_11_0_0):
		return 5
	case v.IsAtLeast(sarama.V0_10_1_0):
		return 3
	case v.IsAtLeast(sarama.V0_10_0_0):
		return 2
	case v.IsAtLeast(sarama.V0_9_0_0):
		return 1
	}
	return 0
}

// errRetry marks a partition error after which the partition is placed
// again (its leader looked up anew).
var errRetry = errors.New("kfetch: place again")

// handle delivers s's part of resp. A non-nil error sends s back to the
// dispatcher (s.reset set when its offset must be reset).
func (bf *brokerFetcher) handle(s *Sub, resp *sarama.FetchResponse) error {
	f := bf.f
	block := resp.GetBlock(s.topic, s.partition)
	if block == nil {
		return nil // throttled or not answered: fetched again next round
	}
	switch {
	case errors.Is(block.Err, sarama.ErrNoError):
	case errors.Is(block.Err, sarama.ErrOffsetOutOfRange):
		s.reset = true
		return errRetry
	case errors.Is(block.Err, sarama.ErrUnknownTopicOrPartition), errors.Is(block.Err, sarama.ErrNotLeaderForPartition),
		errors.Is(block.Err, sarama.ErrLeaderNotAvailable), errors.Is(block.Err, sarama.ErrReplicaNotAvailable),
		errors.Is(block.Err, sarama.ErrFencedLeaderEpoch), errors.Is(block.Err, sarama.ErrUnknownLeaderEpoch),
		errors.Is(block.Err, sarama.ErrNotCoordinatorForConsumer):
		return errRetry
	default:
		f.log.Warn("fetch error; retrying", "stage", "KAFKA_CONSUME", "topic", s.topic, "partition", s.partition, "offset", s.offset, "error", block.Err)
		return errRetry
	}
	msgs, next, partial := bf.parse(s, block)
	if end, ok := emptyBatchesEnd(block); ok && end > next && end <= block.HighWaterMarkOffset {
		next = end // past batches the log cleaner emptied, as sarama's consumer does
	}
	if len(msgs) == 0 && partial && next == s.offset {
		// Only part of the next batch fit: ask for more (sarama's rule).
		limit := int64(cmp.Or(f.conf.Consumer.Fetch.Max, 1<<30))
		switch {
		case int64(s.fetchSize) >= limit:
			f.log.Error("fetch: a record batch exceeds the largest fetch allowed; skipping one offset, as sarama's consumer does", "stage", "KAFKA_CONSUME", "topic", s.topic, "partition", s.partition, "offset", s.offset, "max_bytes", limit)
			next++
		default:
			s.fetchSize = int32(min(2*int64(s.fetchSize), limit))
		}
	} else if len(msgs) > 0 {
		s.fetchSize = f.conf.Consumer.Fetch.Default
	}
	s.offset = next
	s.deliver(msgs, block.HighWaterMarkOffset)
	clear(bf.msgs)
	return nil
}

// parse turns block's records from s.offset on into messages, as sarama's
// partition consumer filters them, and returns the next offset to fetch and
// whether the block ended in a partial batch.
func (bf *brokerFetcher) parse(s *Sub, block *sarama.FetchResponseBlock) (msgs []Msg, next int64, partial bool) {
	next, partial = s.offset, block.Partial
	msgs = bf.msgs[:0]
	readCommitted := bf.f.conf.Consumer.IsolationLevel == sarama.ReadCommitted
	base := bf.abrt[:0]
	if readCommitted {
		base = append(base, block.AbortedTransactions...)
		slices.SortFunc(base, func(a, b *sarama.AbortedTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	}
	aborted := base
	var abortedPIDs map[int64]struct{}
	for _, recs := range block.RecordsSet {
		if b := recs.RecordBatch; b != nil {
			if b.PartialTrailingRecord {
				partial = true
				break
			}
			last := b.LastOffset()
			for len(aborted) > 0 && aborted[0].FirstOffset <= last {
				if abortedPIDs == nil {
					abortedPIDs = map[int64]struct{}{}
				}
				abortedPIDs[aborted[0].ProducerID] = struct{}{}
				aborted = aborted[1:]
			}
			skip := false
			switch {
			case b.Control:
				if len(b.Records) > 0 && controlType(b.Records[0].Key) == 0 { // abort marker
					delete(abortedPIDs, b.ProducerID)
				}
				skip = true
			case readCommitted && b.IsTransactional:
				_, skip = abortedPIDs[b.ProducerID]
			}
			if !skip && last >= next {
				var shared *Batch
				for _, rec := range b.Records {
					off := b.FirstOffset + rec.OffsetDelta
					if off < next {
						continue
					}
					if shared == nil {
						shared = &Batch{Topic: s.topic, Partition: s.partition, FirstTimestamp: b.FirstTimestamp,
							MaxTimestamp: b.MaxTimestamp, LogAppendTime: b.LogAppendTime}
					}
					msgs = append(msgs, Msg{Offset: off, rec: rec, batch: shared})
				}
			}
			next = max(next, last+1)
			continue
		}
		ms := recs.MsgSet
		if ms == nil {
			continue
		}
		for _, blk := range ms.Messages {
			inner := blk.Messages()
			for _, m := range inner {
				off, ts := m.Offset, m.Msg.Timestamp
				if m.Msg.Version >= 1 && len(inner) > 0 {
					off += blk.Offset - inner[len(inner)-1].Offset
					if m.Msg.LogAppendTime {
						ts = blk.Msg.Timestamp
					}
				}
				if off < next {
					continue
				}
				msgs = append(msgs, NewMsg(s.topic, s.partition, off, ts, m.Msg.Key, m.Msg.Value, nil))
				next = off + 1
			}
		}
		if ms.PartialTrailingMessage {
			partial = true
		}
	}
	clear(base)
	bf.abrt = base[:0]
	bf.msgs = msgs
	return msgs, next, partial
}

// emptyBatchesEnd returns the offset after the batches of a block that
// holds only batches without records. The log cleaner keeps a batch it
// emptied when it was its producer's last (the producer's state), and a
// fetch at the end of a cleaned segment returns such batches alone.
// sarama's decoder drops them from RecordsSet and keeps their end in an
// unexported field, which its own consumer reads ("received batch with zero
// records but high watermark was not reached"); without it the fetcher
// would ask for the same offset forever. ok is false when the block holds
// a batch with records or a partial one, or when the field is missing (a
// sarama upgrade renamed it: TestSaramaRecordsNextOffset fails).
func emptyBatchesEnd(block *sarama.FetchResponseBlock) (end int64, ok bool) {
	if len(block.RecordsSet) > 0 || block.Partial {
		return 0, false
	}
	f := reflect.ValueOf(block).Elem().FieldByName("recordsNextOffset")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*int64]() || f.IsNil() {
		return 0, false
	}
	return f.Elem().Int(), true
}

// controlType is a control record's type from its key (version int16,
// type int16): 0 abort, 1 commit, -1 unreadable.
func controlType(key []byte) int16 {
	if len(key) < 4 {
		return -1
	}
	return int16(key[2])<<8 | int16(key[3])
}
