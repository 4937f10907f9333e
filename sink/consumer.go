package sink

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// part is one assigned partition. The claim goroutine (sarama's ConsumeClaim)
// fetches its records with the task's data consumer and appends them to msgs;
// the task goroutine takes them in batches.
type part struct {
	tp     connect.TopicPartition
	sess   sarama.ConsumerGroupSession
	opened chan struct{} // closed by the task goroutine when Open ran
	seekCh chan seekReq  // task goroutine → claim goroutine; cap 1
	start  int64         // offset consumption starts at (or a sarama sentinel)

	// Guarded by taskRunner.mu.
	msgs       []*sarama.ConsumerMessage
	head       int
	bytes      int64
	epoch      uint64 // bumped by each seek; stale chunks are dropped
	started    bool   // the claim goroutine read its start offset
	gone       bool   // revoked: chunks are dropped
	consume    bool   // set before opened is closed: false when stopping
	taskPaused bool

	// Owned by the task goroutine.
	isOpen    bool  // the task's Open included it
	current   int64 // next offset to process; -1 unknown
	committed int64 // last committed offset (or the start); < 0 unknown

	// For PipelineStatus.
	hwm, stCurrent, stCommitted atomic.Int64
	hwmAt                       atomic.Int64 // when hwm was last set (unix ns)
}

type seekReq struct {
	offset int64
	epoch  uint64
}

type ctlKind uint8

const (
	ctlOpen ctlKind = iota
	ctlRevoke
)

// ctlMsg asks the task goroutine to open or close a partition; done is
// closed when it did.
type ctlMsg struct {
	kind ctlKind
	p    *part
	lost bool
	done chan struct{}
}

// handler is the sarama.ConsumerGroupHandler of one task.
type handler struct{ r *taskRunner }

func (h handler) Setup(sess sarama.ConsumerGroupSession) error {
	h.r.session.Store(&sess)
	return nil
}

func (h handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim runs for the lifetime of one partition's assignment: it has
// the task goroutine open the partition, fetches its records into the task's
// buffer until the claim is revoked (its Messages channel closes), and then
// has the task goroutine commit and close it before returning, so that the
// partition is released only after what the task made durable is committed.
// It never blocks on a full buffer (partitions are paused instead), so it
// cannot stall a rebalance for longer than the Put in progress.
func (h handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	r := h.r
	topic, partition := claim.Topic(), claim.Partition()
	// The group's own partition consumer is not used: the data consumer
	// fetches, so that the pipeline can seek.
	r.group.Pause(map[string][]int32{topic: {partition}})
	claimMsgs := claim.Messages()

	start := claim.InitialOffset()
	if start < 0 {
		if off, err := r.client.GetOffset(topic, partition, start); err == nil {
			start = off
		} else {
			r.log.Warn("could not resolve the initial offset; fetching from the auto.offset.reset position", "topic", topic, "partition", partition, "error", err)
		}
	}
	r.learnTimestampType(topic)
	p := &part{
		tp:        connect.TopicPartition{Topic: topic, Partition: partition},
		sess:      sess,
		opened:    make(chan struct{}),
		seekCh:    make(chan seekReq, 1),
		start:     start,
		current:   -1,
		committed: start,
	}
	if start >= 0 {
		p.current = start
	}
	p.stCurrent.Store(p.current)
	p.stCommitted.Store(p.committed)
	r.ctl <- ctlMsg{kind: ctlOpen, p: p, done: p.opened}
	<-p.opened

	r.consumePart(p, claimMsgs)

	done := make(chan struct{})
	r.ctl <- ctlMsg{kind: ctlRevoke, p: p, lost: sessionLost(sess), done: done}
	<-done
	return nil
}

// sessionLost reports whether the session ended because the member lost its
// partitions (they may already belong to another member): then they are
// closed without a commit.
func sessionLost(sess sarama.ConsumerGroupSession) bool {
	ctx := sess.Context()
	if ctx.Err() == nil {
		return false
	}
	cause := context.Cause(ctx)
	for _, e := range []error{sarama.ErrUnknownMemberId, sarama.ErrIllegalGeneration, sarama.ErrFencedInstancedId,
		sarama.ErrRebalanceTimedOut, sarama.ErrSessionHeartbeatFailed} {
		if errors.Is(cause, e) {
			return true
		}
	}
	return false
}

// consumePart fetches p's records until claimMsgs closes.
func (r *taskRunner) consumePart(p *part, claimMsgs <-chan *sarama.ConsumerMessage) {
	r.mu.Lock()
	p.started = true
	off, epoch, consume := p.committed, p.epoch, p.consume
	if p.current >= 0 {
		off = p.current
	}
	r.mu.Unlock()
	if !consume {
		for range claimMsgs {
		}
		return
	}
	pc := r.openPC(p, off)
	var retry <-chan time.Time
	if pc == nil {
		retry = time.After(time.Second)
	}
	chunk := make([]*sarama.ConsumerMessage, 0, 256)
	defer func() {
		if pc != nil {
			pc.Close()
		}
	}()
	for {
		var msgs <-chan *sarama.ConsumerMessage
		var errs <-chan *sarama.ConsumerError
		if pc != nil {
			msgs, errs = pc.Messages(), pc.Errors()
		}
		select {
		case _, ok := <-claimMsgs:
			if !ok {
				return
			}
		case s := <-p.seekCh:
			if pc != nil {
				pc.Close()
			}
			off, epoch = s.offset, s.epoch
			if pc = r.openPC(p, off); pc == nil {
				retry = time.After(time.Second)
			}
		case <-retry:
			retry = nil
			if pc = r.openPC(p, off); pc == nil {
				retry = time.After(time.Second)
			}
		case m, ok := <-msgs:
			if !ok {
				pc = nil
				retry = time.After(time.Second)
				continue
			}
			chunk = append(chunk, m)
			for len(chunk) < cap(chunk) && len(msgs) > 0 {
				chunk = append(chunk, <-msgs)
			}
			off = chunk[len(chunk)-1].Offset + 1
			p.hwm.Store(pc.HighWaterMarkOffset())
			p.hwmAt.Store(time.Now().UnixNano())
			r.push(p, epoch, chunk)
			clear(chunk)
			chunk = chunk[:0]
		case e, ok := <-errs:
			if ok {
				r.log.Warn("fetch error", "stage", connect.StageKafkaConsume, "topic", p.tp.Topic, "partition", p.tp.Partition, "error", e.Err)
			}
		}
	}
}

// openPC starts fetching p at off (a sarama sentinel for the auto.offset.reset
// position), falling back to auto.offset.reset when off is out of range.
func (r *taskRunner) openPC(p *part, off int64) sarama.PartitionConsumer {
	pc, err := r.consumer.ConsumePartition(p.tp.Topic, p.tp.Partition, off)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) {
		r.log.Warn("offset out of range; resetting per auto.offset.reset", "topic", p.tp.Topic, "partition", p.tp.Partition, "offset", off)
		pc, err = r.consumer.ConsumePartition(p.tp.Topic, p.tp.Partition, r.initialOffset)
	}
	if err != nil {
		r.log.Warn("could not start fetching; retrying", "stage", connect.StageKafkaConsume, "topic", p.tp.Topic, "partition", p.tp.Partition, "error", err)
		return nil
	}
	r.mu.Lock()
	if r.allPaused || p.taskPaused {
		r.consumer.Pause(map[string][]int32{p.tp.Topic: {p.tp.Partition}})
	}
	r.mu.Unlock()
	return pc
}

func msgSize(m *sarama.ConsumerMessage) int64 {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

// push appends a fetched chunk to p's buffer unless p was sought or revoked
// since the chunk's fetch started.
func (r *taskRunner) push(p *part, epoch uint64, chunk []*sarama.ConsumerMessage) {
	var size int64
	for _, m := range chunk {
		size += msgSize(m)
	}
	r.mu.Lock()
	if p.gone || p.epoch != epoch {
		r.mu.Unlock()
		return
	}
	if p.head > 0 && 2*p.head >= len(p.msgs) {
		n := copy(p.msgs, p.msgs[p.head:])
		clear(p.msgs[n:])
		p.msgs, p.head = p.msgs[:n], 0
	}
	p.msgs = append(p.msgs, chunk...)
	p.bytes += size
	r.bufRecords += len(chunk)
	r.bufBytes += size
	r.updatePauseLocked()
	r.mu.Unlock()
	r.lastFetch.Store(time.Now().UnixNano())
	r.wake()
}

// take appends up to n buffered records to dst, partition by partition
// (round robin over the partitions the task did not pause), preserving each
// partition's order.
func (r *taskRunner) take(dst []*sarama.ConsumerMessage, n int) []*sarama.ConsumerMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bufRecords == 0 || n <= 0 {
		return dst
	}
	k := len(r.order)
	for i := 0; i < k && n > 0; i++ {
		p := r.order[(r.rr+i)%k]
		if p.taskPaused || p.head == len(p.msgs) {
			continue
		}
		m := min(n, len(p.msgs)-p.head)
		seg := p.msgs[p.head : p.head+m]
		dst = append(dst, seg...)
		var size int64
		for _, msg := range seg {
			size += msgSize(msg)
		}
		clear(seg)
		p.head += m
		if p.head == len(p.msgs) {
			p.msgs, p.head = p.msgs[:0], 0
		}
		p.bytes -= size
		r.bufBytes -= size
		r.bufRecords -= m
		n -= m
	}
	r.rr++
	r.updatePauseLocked()
	return dst
}

// dropBufferLocked discards p's buffered records.
func (r *taskRunner) dropBufferLocked(p *part) {
	n := len(p.msgs) - p.head
	clear(p.msgs)
	p.msgs, p.head = p.msgs[:0], 0
	r.bufRecords -= n
	r.bufBytes -= p.bytes
	p.bytes = 0
	r.updatePauseLocked()
}

// updatePauseLocked pauses fetching when the buffer is full (or the pipeline
// is paused) and resumes it, except for partitions the task paused, when the
// buffer drained to half.
func (r *taskRunner) updatePauseLocked() {
	cfg := &r.p.cfg
	if r.bufFull {
		if r.bufRecords <= cfg.MaxBufferedRecords/2 && r.bufBytes <= cfg.MaxBufferedBytes/2 {
			r.bufFull = false
		}
	} else if r.bufRecords >= cfg.MaxBufferedRecords || r.bufBytes >= cfg.MaxBufferedBytes {
		r.bufFull = true
	}
	want := r.bufFull || r.pipelinePaused
	if want == r.allPaused {
		return
	}
	r.allPaused = want
	if want {
		r.consumer.PauseAll()
		return
	}
	m := map[string][]int32{}
	for _, p := range r.order {
		if !p.taskPaused {
			m[p.tp.Topic] = append(m[p.tp.Topic], p.tp.Partition)
		}
	}
	r.consumer.Resume(m)
}

func (r *taskRunner) setPipelinePaused(paused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pipelinePaused = paused
	if r.consumer != nil {
		r.updatePauseLocked()
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// consumeLoop keeps the task in the consumer group: sarama's Consume returns
// after each (eager) rebalance or when the topic list changes, and is called
// again until ctx is done.
func (r *taskRunner) consumeLoop(ctx context.Context) {
	defer close(r.consumeDone)
	h := handler{r}
	for ctx.Err() == nil {
		topics, err := r.topics()
		if err != nil {
			r.log.Warn("listing topics failed", "error", err)
		}
		if len(topics) == 0 {
			errhandler.Sleep(ctx, min(r.p.cfg.TopicsRefresh, 5*time.Second))
			continue
		}
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		if r.topicsRE != nil {
			wg.Go(func() { r.watchTopics(cctx, cancel, topics) })
		}
		err = r.group.Consume(cctx, topics, h)
		cancel()
		wg.Wait()
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return
			}
			if authorizationFailure(err) {
				// Retrying cannot cure it: the task fails, as Kafka
				// Connect's does on an authorization or authentication
				// exception from its consumer.
				r.fail(fmt.Errorf("connector %q task %d: consumer group %s, topics %v: %w", r.p.cfg.Name, r.id, r.p.cfg.GroupID, topics, err))
				return
			}
			r.log.Warn("consumer group session ended; rejoining", "error", err)
			errhandler.Sleep(ctx, time.Second)
		}
	}
}

// topics returns the topics to subscribe to: Topics, or those matching
// TopicsRegex (internal topics excluded).
func (r *taskRunner) topics() ([]string, error) {
	if r.topicsRE == nil {
		return r.p.cfg.Topics, nil
	}
	if err := r.client.RefreshMetadata(); err != nil {
		return nil, err
	}
	all, err := r.client.Topics()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range all {
		if t == "__consumer_offsets" || t == "__transaction_state" {
			continue
		}
		if r.topicsRE.MatchString(t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// watchTopics ends the session (cancel) when the topics matching TopicsRegex
// change.
func (r *taskRunner) watchTopics(ctx context.Context, cancel context.CancelFunc, current []string) {
	t := time.NewTicker(r.p.cfg.TopicsRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		topics, err := r.topics()
		if err == nil && !slices.Equal(topics, current) {
			r.log.Info("topics matching topics.regex changed; rejoining the group", "topics", topics)
			cancel()
			return
		}
	}
}

// mustTopicsPattern is topicsPattern for a configuration Validate accepted.
func mustTopicsPattern(s string) *regexp.Regexp {
	re, err := topicsPattern(s)
	if err != nil {
		panic("sink: topics.regex not validated: " + err.Error())
	}
	return re
}

// topicsPattern compiles topics.regex as subscriptions use it: matching
// whole topic names. It fails for a pattern that is invalid as written or
// once anchored (`\Qa` quotes the anchor's closing parenthesis); "" gives
// nil.
func topicsPattern(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	if _, err := regexp.Compile(s); err != nil {
		return nil, err
	}
	re, err := regexp.Compile("^(?:" + s + ")$")
	if err != nil {
		return nil, fmt.Errorf("as a whole-name pattern ^(?:%s)$: %w", s, err)
	}
	return re, nil
}

// authorizationFailure reports whether err (from the consumer group) means
// the task's principal may not use its group, topics or cluster, or could
// not authenticate: nothing a rejoin can cure.
func authorizationFailure(err error) bool {
	return errors.Is(err, sarama.ErrGroupAuthorizationFailed) || errors.Is(err, sarama.ErrTopicAuthorizationFailed) ||
		errors.Is(err, sarama.ErrClusterAuthorizationFailed) || kafkaconf.SecurityFailure(err)
}

// learnTimestampType reads topic's message.timestamp.type from the brokers
// (DescribeConfigs) the first time one of its partitions is assigned to the
// task, so that its records are tagged connect.LogAppendTime when the topic
// says LogAppendTime (connect.CreateTime otherwise; NoTimestampType for a
// record without a timestamp). sarama's ConsumerMessage does not carry the
// record batch's timestamp type (on a LogAppendTime batch it only puts the
// broker's time in Timestamp), so the topic's current setting stands in for
// it: records written before the topic's message.timestamp.type changed are
// tagged by the new setting. A lookup that fails is logged, its records
// are tagged CreateTime, and it is tried again at the topic's next
// assignment. Called from the claim goroutines.
func (r *taskRunner) learnTimestampType(topic string) {
	r.tsMu.Lock()
	defer r.tsMu.Unlock()
	if r.tsKnown[topic] {
		return
	}
	logAppend, err := r.topicLogAppendTime(topic)
	if err != nil {
		r.log.Warn("could not read the topic's message.timestamp.type; its records are given timestamp type CreateTime", "topic", topic, "error", err)
		return
	}
	if r.tsKnown == nil {
		r.tsKnown = map[string]bool{}
	}
	r.tsKnown[topic] = true
	if logAppend {
		var topics []string
		if t := r.logAppendTopics.Load(); t != nil {
			topics = slices.Clone(*t)
		}
		topics = append(topics, topic)
		r.logAppendTopics.Store(&topics)
	}
}

// topicLogAppendTime reports whether topic's message.timestamp.type is
// LogAppendTime; r.tsMu is held.
func (r *taskRunner) topicLogAppendTime(topic string) (bool, error) {
	if r.tsAdmin == nil {
		a, err := sarama.NewClusterAdminFromClient(r.client)
		if err != nil {
			return false, fmt.Errorf("admin client: %w", err)
		}
		r.tsAdmin = a
	}
	results, err := r.tsAdmin.DescribeConfigs([]*sarama.ConfigResource{{
		Type:        sarama.TopicResource,
		Name:        topic,
		ConfigNames: []string{"message.timestamp.type"},
	}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		return false, fmt.Errorf("describing topic %s: %w", topic, err)
	}
	for _, res := range results {
		if res.Name != topic {
			continue
		}
		if res.ErrorCode != sarama.ErrNoError {
			return false, fmt.Errorf("describing topic %s: %w: %s", topic, res.ErrorCode, res.ErrorMsg)
		}
		for _, e := range res.Configs {
			if e.Name == "message.timestamp.type" {
				return e.Value == "LogAppendTime", nil
			}
		}
	}
	return false, nil
}
