package kproduce

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// ErrTransactional is returned by New for a configuration with a
// Producer.Transaction.ID: transactions need sarama's own producer.
var ErrTransactional = errors.New("kproduce: transactional producers are not supported (Producer.Transaction.ID is set)")

// Size estimates, as sarama's produce set makes them (produce_set.go).
const (
	recordBatchOverhead   = 61
	maximumRecordOverhead = 5*5 + 1 // 5 varints of up to 5 bytes, and the attributes byte
	headerOverhead        = 2 * 5
)

// inputDrain bounds the messages the dispatcher takes from Input before it
// looks at the responses and sends what it holds.
const inputDrain = 4096

// maxBuffered bounds the bytes the producer holds unsent (Kafka's
// buffer.memory default): beyond it Input is not read until requests
// complete.
const maxBuffered = 32 << 20

// New returns a batch producer for conf (which must pass conf.Validate()
// and have no Producer.Transaction.ID) talking to the brokers at addrs. It
// creates its own sarama.Client, which it closes when the producer has shut
// down. With Producer.Idempotent it obtains a producer id first; an error
// doing so is returned (retriable, as kafkaconf.Retriable says).
//
// The producer implements sarama.AsyncProducer (see the package
// documentation for what it keeps of that contract); its transaction
// methods return sarama.ErrNonTransactedProducer.
func New(addrs []string, conf *sarama.Config) (sarama.AsyncProducer, error) {
	if conf == nil {
		conf = sarama.NewConfig()
	}
	if conf.Producer.Transaction.ID != "" {
		return nil, ErrTransactional
	}
	if err := conf.Validate(); err != nil {
		return nil, err
	}
	if !conf.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("kproduce: Kafka version %s: record batches need 0.11 or later", conf.Version)
	}
	client, err := sarama.NewClient(addrs, conf)
	if err != nil {
		return nil, err
	}
	p := &producer{
		client:    client,
		conf:      conf,
		input:     make(chan *sarama.ProducerMessage, conf.ChannelBufferSize),
		successes: make(chan *sarama.ProducerMessage, conf.ChannelBufferSize),
		errors:    make(chan *sarama.ProducerError, conf.ChannelBufferSize),
		results:   make(chan *flight, 16),
		closing:   make(chan struct{}),
		topics:    make(map[string]*topicState),
		senders:   make(map[*sarama.Broker]*sender),
		pid:       -1,
		epoch:     -1,
		version:   produceVersion(conf.Version),
	}
	if conf.Producer.Idempotent {
		if err := p.initProducerID(); err != nil {
			_ = client.Close()
			return nil, err
		}
	}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// produceVersion is the Produce request version sarama's own producer uses
// for a negotiated Kafka version (0.11 and later).
func produceVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V3_7_0_0):
		return 10
	case v.IsAtLeast(sarama.V2_8_0_0):
		return 9
	case v.IsAtLeast(sarama.V2_4_0_0):
		return 8
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 6
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 5
	default:
		return 3
	}
}

type producer struct {
	client    sarama.Client
	conf      *sarama.Config
	input     chan *sarama.ProducerMessage
	successes chan *sarama.ProducerMessage
	errors    chan *sarama.ProducerError
	results   chan *flight // a sender's finished request
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // run and the senders
	version   int16

	// Owned by the dispatcher (run) after New.
	pid      int64
	epoch    int16
	topics   map[string]*topicState
	last     *topicState // the previous message's topic
	senders  map[*sarama.Broker]*sender
	active   []*partState // partitions with records unsent or in flight
	scan     []*partState // send's copy of active
	inflight int          // requests out
	buffered int          // bytes of records not yet acknowledged
	closed   bool         // AsyncClose was called: failures are not retried
	free     []*batch
	round    uint64 // input rounds, to re-read partition counts once per round
	timer    *time.Timer
	now      time.Time // the time of round nowRound, for messages without a timestamp
	nowRound uint64
}

type topicState struct {
	name        string
	partitioner sarama.Partitioner
	parts       []*partState // by partition id
	ids         []int32      // the partitions to choose from (all, or the writable ones), re-read once per round
	err         error        // the partition lookup's error this round
	round       uint64
}

type partState struct {
	topic    *topicState
	id       int32
	open     *batch   // accumulating
	queue    []*batch // sealed, in order, waiting to be sent
	inflight *batch
	seq      int32     // the next batch's first sequence
	retryAt  time.Time // not sent before
	leader   *sender   // nil: look it up (again)
	poison   error     // set: messages come back with it at once (see failPartition)
	isActive bool
}

// batch is one partition's RecordBatch being built, queued or in flight.
type batch struct {
	msgs      []*sarama.ProducerMessage
	recs      []sarama.Record
	ptrs      []*sarama.Record
	hdrs      []*sarama.RecordHeader
	first     time.Time
	max       time.Time
	size      int
	seq       int32 // -1 until first sent
	attempts  int   // failed sends
	ambiguous bool  // an attempt failed in a way that may have written it
}

// flight is one Produce request and its answer.
type flight struct {
	s     *sender
	req   *sarama.ProduceRequest
	parts []*partState
	resp  *sarama.ProduceResponse
	err   error
}

// sender sends one broker's requests, one at a time.
type sender struct {
	broker *sarama.Broker
	reqs   chan *flight
	busy   bool
	dead   bool
	ready  []*partState // scratch: this round's partitions for the broker
}

// Input implements sarama.AsyncProducer.
func (p *producer) Input() chan<- *sarama.ProducerMessage { return p.input }

// Successes implements sarama.AsyncProducer.
func (p *producer) Successes() <-chan *sarama.ProducerMessage { return p.successes }

// Errors implements sarama.AsyncProducer.
func (p *producer) Errors() <-chan *sarama.ProducerError { return p.errors }

// AsyncClose implements sarama.AsyncProducer: the messages handed over
// before it are sent (or fail), then Successes and Errors are closed.
func (p *producer) AsyncClose() {
	p.closeOnce.Do(func() { close(p.closing) })
}

// Close implements sarama.AsyncProducer: AsyncClose, then it drains
// Successes and Errors and returns the errors as sarama.ProducerErrors.
func (p *producer) Close() error {
	p.AsyncClose()
	if p.conf.Producer.Return.Successes {
		go func() {
			for range p.successes {
			}
		}()
	}
	var errs sarama.ProducerErrors
	for e := range p.errors {
		errs = append(errs, e)
	}
	p.wg.Wait()
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// IsTransactional implements sarama.AsyncProducer.
func (p *producer) IsTransactional() bool { return false }

// TxnStatus implements sarama.AsyncProducer.
func (p *producer) TxnStatus() sarama.ProducerTxnStatusFlag { return sarama.ProducerTxnFlagReady }

// BeginTxn implements sarama.AsyncProducer.
func (p *producer) BeginTxn() error { return sarama.ErrNonTransactedProducer }

// CommitTxn implements sarama.AsyncProducer.
func (p *producer) CommitTxn() error { return sarama.ErrNonTransactedProducer }

// AbortTxn implements sarama.AsyncProducer.
func (p *producer) AbortTxn() error { return sarama.ErrNonTransactedProducer }

// AddOffsetsToTxn implements sarama.AsyncProducer.
func (p *producer) AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata, string) error {
	return sarama.ErrNonTransactedProducer
}

// AddMessageToTxn implements sarama.AsyncProducer.
func (p *producer) AddMessageToTxn(*sarama.ConsumerMessage, string, *string) error {
	return sarama.ErrNonTransactedProducer
}

// initProducerID obtains a new producer id and epoch, retrying retriable
// answers for up to Producer.Timeout.
func (p *producer) initProducerID() error {
	deadline := time.Now().Add(max(p.conf.Producer.Timeout, time.Second))
	for {
		res, err := p.client.InitProducerID()
		if err == nil && errors.Is(res.Err, sarama.ErrNoError) {
			p.pid, p.epoch = res.ProducerID, res.ProducerEpoch
			return nil
		}
		if err == nil {
			err = res.Err
		}
		if time.Now().After(deadline) || !(errors.Is(err, sarama.ErrConsumerCoordinatorNotAvailable) || errors.Is(err, sarama.ErrNotCoordinatorForConsumer) ||
			errors.Is(err, sarama.ErrOffsetsLoadInProgress) || errors.Is(err, sarama.ErrConcurrentTransactions)) {
			return fmt.Errorf("kproduce: obtaining an idempotent producer id: %w", err)
		}
		time.Sleep(p.conf.Producer.Retry.Backoff)
	}
}

// backoff is the wait before a batch's next attempt.
func (p *producer) backoff(attempts int) time.Duration {
	if f := p.conf.Producer.Retry.BackoffFunc; f != nil {
		return f(attempts, p.conf.Producer.Retry.Max)
	}
	return p.conf.Producer.Retry.Backoff
}

// run is the dispatcher: it takes messages from Input into per-partition
// batches, sends each broker's ready batches as one request whenever that
// broker has none in flight, and hands back what the answers say.
func (p *producer) run() {
	defer p.wg.Done()
	p.timer = time.NewTimer(time.Hour)
	defer p.timer.Stop()
	in := (<-chan *sarama.ProducerMessage)(p.input)
	closing := p.closing
	for {
		var input <-chan *sarama.ProducerMessage
		if in != nil && p.buffered < maxBuffered {
			input = in
		}
		select {
		case m := <-input:
			p.round++
			p.add(m)
		drain:
			for range inputDrain {
				if p.buffered >= maxBuffered {
					break
				}
				select {
				case m = <-in:
					p.add(m)
				default:
					break drain
				}
			}
		case f := <-p.results:
			p.handle(f)
		case <-p.timer.C:
		case <-closing:
			// Everything handed over before AsyncClose is in the
			// channel's buffer: take it, then stop reading.
			closing = nil
			p.closed = true
			p.round++
		rest:
			for {
				select {
				case m := <-in:
					p.add(m)
				default:
					break rest
				}
			}
			in = nil
		}
		// Answers that arrived meanwhile first: they free brokers.
	answers:
		for {
			select {
			case f := <-p.results:
				p.handle(f)
			default:
				break answers
			}
		}
		p.send()
		if in == nil && p.inflight == 0 && len(p.active) == 0 {
			p.shutdown()
			return
		}
	}
}

// shutdown stops the senders, closes the client and then Successes and
// Errors.
func (p *producer) shutdown() {
	for _, s := range p.senders {
		if !s.dead {
			close(s.reqs)
		}
	}
	// The senders are idle (nothing in flight): they return at once.
	_ = p.client.Close()
	close(p.successes)
	close(p.errors)
}

// fail hands m back on Errors.
func (p *producer) fail(m *sarama.ProducerMessage, err error) {
	if p.conf.Producer.Return.Errors {
		p.errors <- &sarama.ProducerError{Msg: m, Err: err}
	} else {
		sarama.Logger.Printf("kproduce: topic %s partition %d: %v", m.Topic, m.Partition, err)
	}
}

// topic returns name's state, creating it on its first message.
func (p *producer) topic(name string) *topicState {
	if t := p.last; t != nil && t.name == name {
		return t
	}
	t := p.topics[name]
	if t == nil {
		t = &topicState{name: name, partitioner: p.conf.Producer.Partitioner(name)}
		p.topics[name] = t
	}
	p.last = t
	return t
}

// add partitions, encodes and appends m to its partition's open batch.
func (p *producer) add(m *sarama.ProducerMessage) {
	t := p.topic(m.Topic)
	if t.round != p.round {
		// Once per round and topic: a topic whose metadata cannot be
		// found costs one lookup per round, not one per message.
		var parts []int32
		var err error
		if t.partitioner.RequiresConsistency() {
			parts, err = p.client.Partitions(m.Topic)
		} else {
			parts, err = p.client.WritablePartitions(m.Topic)
		}
		if err == nil && len(parts) == 0 {
			err = sarama.ErrLeaderNotAvailable
		}
		t.ids, t.err, t.round = parts, err, p.round
	}
	if t.err != nil {
		p.fail(m, t.err)
		return
	}
	choice, err := t.partitioner.Partition(m, int32(len(t.ids)))
	if err != nil {
		p.fail(m, err)
		return
	}
	if choice < 0 || int(choice) >= len(t.ids) {
		p.fail(m, sarama.ErrInvalidPartition)
		return
	}
	part := t.ids[choice] // as sarama: the choice indexes the partition list
	m.Partition = part
	var key, val []byte
	if m.Key != nil {
		if key, err = m.Key.Encode(); err != nil {
			p.fail(m, err)
			return
		}
	}
	if m.Value != nil {
		if val, err = m.Value.Encode(); err != nil {
			p.fail(m, err)
			return
		}
	}
	size := maximumRecordOverhead + len(key) + len(val)
	for i := range m.Headers {
		size += len(m.Headers[i].Key) + len(m.Headers[i].Value) + headerOverhead
	}
	if size+recordBatchOverhead > p.conf.Producer.MaxMessageBytes {
		p.fail(m, sarama.ErrMessageSizeTooLarge)
		return
	}
	for int(part) >= len(t.parts) {
		t.parts = append(t.parts, &partState{topic: t, id: int32(len(t.parts))})
	}
	ps := t.parts[part]
	if ps.poison != nil {
		p.fail(m, ps.poison)
		return
	}
	b := ps.open
	if b != nil && (b.size+size > p.conf.Producer.MaxMessageBytes ||
		(p.conf.Producer.Flush.MaxMessages > 0 && len(b.msgs) >= p.conf.Producer.Flush.MaxMessages)) {
		ps.seal()
		b = nil
	}
	ts := m.Timestamp
	if ts.IsZero() {
		if p.nowRound != p.round {
			p.now, p.nowRound = time.Now().Truncate(time.Millisecond), p.round
		}
		ts = p.now
	} else {
		ts = ts.Truncate(time.Millisecond)
	}
	if b == nil {
		b = p.newBatch()
		b.first, b.max = ts, ts
		b.size = recordBatchOverhead
		ps.open = b
	}
	if ts.After(b.max) {
		b.max = ts
	}
	rec := sarama.Record{Key: key, Value: val, OffsetDelta: int64(len(b.recs)), TimestampDelta: ts.Sub(b.first)}
	if n := len(m.Headers); n > 0 {
		start := len(b.hdrs)
		for i := range m.Headers {
			b.hdrs = append(b.hdrs, &m.Headers[i])
		}
		rec.Headers = b.hdrs[start : start+n : start+n]
	}
	b.recs = append(b.recs, rec)
	b.msgs = append(b.msgs, m)
	b.size += size
	p.buffered += size
	if !ps.isActive {
		ps.isActive = true
		p.active = append(p.active, ps)
	}
}

func (p *producer) newBatch() *batch {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b
	}
	return &batch{seq: -1}
}

// release returns b for reuse.
func (p *producer) release(b *batch) {
	clear(b.msgs)
	clear(b.recs)
	clear(b.ptrs)
	clear(b.hdrs)
	*b = batch{msgs: b.msgs[:0], recs: b.recs[:0], ptrs: b.ptrs[:0], hdrs: b.hdrs[:0], seq: -1}
	if len(p.free) < 64 {
		p.free = append(p.free, b)
	}
}

// seal moves the open batch to the queue.
func (ps *partState) seal() {
	if ps.open != nil {
		ps.queue = append(ps.queue, ps.open)
		ps.open = nil
	}
}

// next returns the partition's next batch to send, sealing the open one if
// nothing is queued.
func (ps *partState) next() *batch {
	if len(ps.queue) == 0 {
		ps.seal()
	}
	if len(ps.queue) == 0 {
		return nil
	}
	return ps.queue[0]
}

// send hands each idle broker one request with the next batch of every
// partition it leads that is ready.
func (p *producer) send() {
	if len(p.active) == 0 {
		return
	}
	now := time.Now()
	var wake time.Time
	var refreshed []*topicState
	// A copy: a partition whose leader cannot be found leaves p.active.
	p.scan = append(p.scan[:0], p.active...)
	for _, ps := range p.scan {
		if ps.inflight != nil || (ps.open == nil && len(ps.queue) == 0) {
			continue
		}
		if ps.retryAt.After(now) {
			if wake.IsZero() || ps.retryAt.Before(wake) {
				wake = ps.retryAt
			}
			continue
		}
		if ps.leader == nil || ps.leader.dead {
			if !ps.retryAt.IsZero() && !slices.Contains(refreshed, ps.topic) {
				// A retry: the partition's leader may have moved.
				if err := p.client.RefreshMetadata(ps.topic.name); err != nil {
					p.leaderFailed(ps, err)
					continue
				}
				refreshed = append(refreshed, ps.topic)
			}
			b, err := p.client.Leader(ps.topic.name, ps.id)
			if err != nil {
				p.leaderFailed(ps, err)
				continue
			}
			ps.leader = p.sender(b)
		}
		if !ps.leader.busy {
			ps.leader.ready = append(ps.leader.ready, ps)
		}
	}
	for _, s := range p.senders {
		if len(s.ready) > 0 {
			p.dispatch(s)
		}
	}
	clear(p.scan)
	if !wake.IsZero() {
		p.retryLater(wake)
	}
}

func (p *producer) retryLater(at time.Time) {
	p.timer.Reset(max(time.Until(at), 0))
}

// sender returns broker b's sender, starting it on first use.
func (p *producer) sender(b *sarama.Broker) *sender {
	if s := p.senders[b]; s != nil && !s.dead {
		return s
	}
	s := &sender{broker: b, reqs: make(chan *flight, 1)}
	p.senders[b] = s
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for f := range s.reqs {
			f.resp, f.err = s.broker.Produce(f.req)
			p.results <- f
		}
	}()
	return s
}

// leaderFailed hands back the partition's records when its leader cannot
// be found, at once, as sarama's producer does: a broker that is away
// would otherwise hold them for Producer.Retry.Max metadata lookups. The
// caller re-sends them (Sluice's pipeline does, in order, with backoff).
func (p *producer) leaderFailed(ps *partState, err error) {
	p.failPartition(ps, ps.next(), err)
}

// dispatch builds s's request from its ready partitions and sends it.
func (p *producer) dispatch(s *sender) {
	conf := p.conf
	req := &sarama.ProduceRequest{
		RequiredAcks: conf.Producer.RequiredAcks,
		Timeout:      int32(conf.Producer.Timeout / time.Millisecond),
		Version:      p.version,
	}
	f := &flight{s: s, req: req, parts: make([]*partState, 0, len(s.ready))}
	total := 0
	for _, ps := range s.ready {
		b := ps.next()
		if total > 0 && total+b.size > int(sarama.MaxRequestSize) {
			continue // the next request
		}
		total += b.size
		if b.seq < 0 {
			b.seq = ps.seq
			ps.seq += int32(len(b.recs)) // wraps past MaxInt32 to negative, then...
			if ps.seq < 0 {
				ps.seq &= 0x7fffffff // sequences wrap to 0 (Kafka's DefaultRecordBatch.incrementSequence)
			}
		}
		if len(b.ptrs) != len(b.recs) {
			b.ptrs = b.ptrs[:0]
			for i := range b.recs {
				b.ptrs = append(b.ptrs, &b.recs[i])
			}
		}
		rb := &sarama.RecordBatch{
			Version:          2,
			Codec:            conf.Producer.Compression,
			CompressionLevel: conf.Producer.CompressionLevel,
			FirstTimestamp:   b.first,
			MaxTimestamp:     b.max,
			ProducerID:       p.pid,
			ProducerEpoch:    p.epoch,
			FirstSequence:    -1,
			Records:          b.ptrs,
			LastOffsetDelta:  int32(len(b.recs) - 1),
		}
		if conf.Producer.Idempotent {
			rb.FirstSequence = b.seq
		}
		req.AddBatch(ps.topic.name, ps.id, rb)
		ps.queue = ps.queue[1:]
		ps.inflight = b
		f.parts = append(f.parts, ps)
	}
	clear(s.ready)
	s.ready = s.ready[:0]
	if len(f.parts) == 0 {
		return
	}
	s.busy = true
	p.inflight++
	s.reqs <- f
}

// handle applies a request's answer.
func (p *producer) handle(f *flight) {
	p.inflight--
	f.s.busy = false
	if f.err != nil {
		// The connection is gone: every batch goes back to its partition
		// and its leader is looked up again.
		sarama.Logger.Printf("kproduce: produce to broker %d failed: %v", f.s.broker.ID(), f.err)
		_ = f.s.broker.Close()
		if !f.s.dead {
			f.s.dead = true
			close(f.s.reqs)
			delete(p.senders, f.s.broker)
		}
		for _, ps := range f.parts {
			ps.inflight.ambiguous = true // the request may have been written
			p.retry(ps, f.err)
		}
		return
	}
	for _, ps := range f.parts {
		b := ps.inflight
		if f.resp == nil { // acks=0: nothing to read
			p.succeed(ps, b, nil)
			continue
		}
		blk := f.resp.GetBlock(ps.topic.name, ps.id)
		if blk == nil {
			b.ambiguous = true
			p.retry(ps, sarama.ErrIncompleteResponse)
			continue
		}
		switch blk.Err {
		case sarama.ErrNoError:
			p.succeed(ps, b, blk)
		case sarama.ErrDuplicateSequenceNumber:
			// Written by an earlier attempt whose answer was lost; the
			// broker did not say at which offsets.
			for _, m := range b.msgs {
				m.Offset = -1
			}
			p.succeed(ps, b, nil)
		case sarama.ErrInvalidMessage, sarama.ErrUnknownTopicOrPartition, sarama.ErrLeaderNotAvailable,
			sarama.ErrNotLeaderForPartition, sarama.ErrNotEnoughReplicas:
			// Retriable, and the broker wrote nothing.
			p.retry(ps, blk.Err)
		case sarama.ErrRequestTimedOut, sarama.ErrNotEnoughReplicasAfterAppend, sarama.ErrKafkaStorageError,
			sarama.ErrNetworkException:
			// Retriable, and the batch may have been written (a request
			// timeout, an append the replicas did not confirm).
			b.ambiguous = true
			p.retry(ps, blk.Err)
		case sarama.ErrOutOfOrderSequenceNumber, sarama.ErrUnknownProducerID, sarama.ErrInvalidProducerEpoch:
			// The broker lost or refused this producer's sequence state
			// for the partition: nothing more can be written to it with
			// this producer id.
			b.ambiguous = true
			ps.inflight = nil
			p.drop(ps, b, blk.Err, true)
		default:
			// Refused as it is (too large, invalid, not authorized): only
			// this batch comes back.
			ps.inflight = nil
			p.drop(ps, b, blk.Err, false)
		}
	}
}

// succeed hands back b's messages with their offsets.
func (p *producer) succeed(ps *partState, b *batch, blk *sarama.ProduceResponseBlock) {
	ps.inflight = nil
	ps.retryAt = time.Time{}
	for i, m := range b.msgs {
		if blk != nil {
			m.Offset = blk.Offset + int64(i)
			if !blk.Timestamp.IsZero() && blk.Timestamp.Unix() > 0 {
				m.Timestamp = blk.Timestamp // LogAppendTime
			}
		}
		if p.conf.Producer.Return.Successes {
			p.successes <- m
		}
	}
	p.buffered -= b.size - recordBatchOverhead
	p.release(b)
	p.done(ps)
}

// retry puts ps's batch in flight back at the head of its queue, to be
// sent again (same sequence) after a backoff, or fails the partition's
// records once Producer.Retry.Max attempts failed, or at once after
// AsyncClose (a closing producer hands back what it cannot deliver
// instead of holding its caller for Retry.Max backoffs).
func (p *producer) retry(ps *partState, err error) {
	b := ps.inflight
	ps.inflight = nil
	ps.leader = nil
	b.attempts++
	if b.attempts > p.conf.Producer.Retry.Max || p.closed {
		p.failPartition(ps, b, err)
		return
	}
	ps.queue = append(ps.queue, nil)
	copy(ps.queue[1:], ps.queue)
	ps.queue[0] = b
	ps.retryAt = time.Now().Add(p.backoff(b.attempts))
}

// failPartition hands back, with err and in order, head (the partition's
// oldest batch, taken off its queue or out of flight by the caller, or
// still at the queue's head) and every message of ps queued behind it.
func (p *producer) failPartition(ps *partState, head *batch, err error) {
	p.drop(ps, head, err, true)
}

// drop hands back head (as for failPartition) with err, and with it the
// messages of ps queued behind it if rest is set or the partition is
// poisoned.
//
// Sequence numbers: if head was never sent, or every attempt was refused
// by the broker (nothing written), the next batch reuses head's first
// sequence (nothing behind head was sent: one batch in flight per
// partition). If an attempt may have been written (a lost connection, a
// request timeout), the broker may hold head's sequences: the next batch
// could not reuse them without passing for a duplicate of it, nor skip
// them without an out-of-order error, so an idempotent producer poisons
// the partition: every later message of it comes back with err at once.
// (Sluice's pipeline replaces its producer, with a new producer id, after
// any such error.)
func (p *producer) drop(ps *partState, head *batch, err error, rest bool) {
	if len(ps.queue) > 0 && ps.queue[0] == head {
		ps.queue = ps.queue[1:]
	}
	switch {
	case head.ambiguous && p.conf.Producer.Idempotent: // without sequence numbers nothing is at stake
		ps.poison = err
	case head.seq >= 0:
		ps.seq = head.seq
	}
	p.failBatch(head, err)
	if rest || ps.poison != nil {
		ps.seal()
		q := ps.queue
		ps.queue = nil
		for _, b := range q {
			p.failBatch(b, err)
		}
		ps.retryAt = time.Time{}
	}
	p.done(ps)
}

// failBatch hands back b's messages with err and releases b.
func (p *producer) failBatch(b *batch, err error) {
	for _, m := range b.msgs {
		p.fail(m, err)
	}
	p.buffered -= b.size - recordBatchOverhead
	p.release(b)
}

// done drops ps from the active list when it holds nothing.
func (p *producer) done(ps *partState) {
	if ps.inflight != nil || ps.open != nil || len(ps.queue) > 0 || !ps.isActive {
		return
	}
	ps.isActive = false
	for i, a := range p.active {
		if a == ps {
			last := len(p.active) - 1
			p.active[i] = p.active[last]
			p.active[last] = nil
			p.active = p.active[:last]
			return
		}
	}
}

// AddOffsetsToTxnWithGroupMetadata implements sarama.AsyncProducer.
func (p *producer) AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata, *sarama.ConsumerGroupMetadata) error {
	return sarama.ErrNonTransactedProducer
}

// AddMessageToTxnWithGroupMetadata implements sarama.AsyncProducer.
func (p *producer) AddMessageToTxnWithGroupMetadata(*sarama.ConsumerMessage, *sarama.ConsumerGroupMetadata, *string) error {
	return sarama.ErrNonTransactedProducer
}
