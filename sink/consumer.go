package sink

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kfetch"
)

// part is one assigned partition. The claim goroutine (sarama's ConsumeClaim)
// subscribes it to the task's fetcher, which appends its records to msgs;
// the task goroutine takes them in batches.
type part struct {
	tp     connect.TopicPartition
	sess   sarama.ConsumerGroupSession
	opened chan struct{} // closed by the task goroutine when Open ran
	seekCh chan seekReq  // task goroutine → claim goroutine; cap 1
	start  int64         // offset consumption starts at (or a sarama sentinel)

	// Guarded by taskRunner.mu.
	msgs       []kfetch.Msg
	head       int
	bytes      int64
	epoch      uint64 // bumped by each seek; stale chunks are dropped
	started    bool   // the claim goroutine read its start offset
	gone       bool   // revoked: chunks are dropped
	consume    bool   // set before opened is closed: false when stopping
	taskPaused bool
	sub        *kfetch.Sub // nil while not fetching

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
// It never blocks on a full buffer (partitions are paused instead), and it
// waits for its topic's message.timestamp.type (requestTimestampType) at
// most timestampTypeWait and not past the session's end, so it cannot stall
// a rebalance for longer than the Put in progress.
func (h handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	r := h.r
	topic, partition := claim.Topic(), claim.Partition()
	// The group's own partition consumer is not used: the task's fetcher
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
	// The topic's timestamp type is read by the task's lookup goroutine;
	// the claim waits for it a short while, not past its session's end.
	tsReady := r.requestTimestampType(topic)
	select {
	case <-tsReady:
	case <-sess.Context().Done():
	case <-time.After(timestampTypeWait):
	}
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
	var retry <-chan time.Time
	if !r.subscribe(p, off, epoch) {
		retry = time.After(time.Second)
	}
	defer r.unsubscribe(p)
	for {
		select {
		case _, ok := <-claimMsgs:
			if !ok {
				return
			}
		case s := <-p.seekCh:
			r.unsubscribe(p)
			off, epoch = s.offset, s.epoch
			retry = nil
			if !r.subscribe(p, off, epoch) {
				retry = time.After(time.Second)
			}
		case <-retry:
			retry = nil
			if !r.subscribe(p, off, epoch) {
				retry = time.After(time.Second)
			}
		}
	}
}

// subscribe starts fetching p at off (a sarama sentinel for the
// auto.offset.reset position), falling back to auto.offset.reset when off is
// out of range; the fetched records are pushed with epoch. It reports
// whether fetching started (false: logged, to be retried).
func (r *taskRunner) subscribe(p *part, off int64, epoch uint64) bool {
	r.mu.Lock()
	paused := r.allPaused || p.taskPaused
	r.mu.Unlock()
	h := func(msgs []kfetch.Msg, hwm int64) {
		p.hwm.Store(hwm)
		p.hwmAt.Store(time.Now().UnixNano())
		r.push(p, epoch, msgs)
	}
	sub, err := r.fetcher.Subscribe(p.tp.Topic, p.tp.Partition, off, paused, h)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) {
		r.log.Warn("offset out of range; resetting per auto.offset.reset", "topic", p.tp.Topic, "partition", p.tp.Partition, "offset", off)
		sub, err = r.fetcher.Subscribe(p.tp.Topic, p.tp.Partition, r.initialOffset, paused, h)
	}
	if err != nil {
		r.log.Warn("could not start fetching; retrying", "stage", connect.StageKafkaConsume, "topic", p.tp.Topic, "partition", p.tp.Partition, "error", err)
		return false
	}
	r.mu.Lock()
	p.sub = sub
	r.applyPauseLocked(p) // the pause state may have changed meanwhile
	r.mu.Unlock()
	return true
}

// unsubscribe stops fetching p; no record of its subscription is pushed
// once it returned.
func (r *taskRunner) unsubscribe(p *part) {
	r.mu.Lock()
	sub := p.sub
	p.sub = nil
	r.mu.Unlock()
	if sub != nil {
		sub.Close()
	}
}

// applyPauseLocked pauses or resumes fetching p as the buffer, the
// pipeline and the task want it.
func (r *taskRunner) applyPauseLocked(p *part) {
	if p.sub == nil {
		return
	}
	if r.allPaused || p.taskPaused {
		p.sub.Pause()
	} else {
		p.sub.Resume()
	}
}

func msgSize(m *kfetch.Msg) int64 {
	n := len(m.Key()) + len(m.Value())
	for _, h := range m.Headers() {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

// push appends a fetched chunk to p's buffer unless p was sought or revoked
// since the chunk's fetch started.
func (r *taskRunner) push(p *part, epoch uint64, chunk []kfetch.Msg) {
	var size int64
	for i := range chunk {
		size += msgSize(&chunk[i])
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
func (r *taskRunner) take(dst []kfetch.Msg, n int) []kfetch.Msg {
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
		for i := range seg {
			size += msgSize(&seg[i])
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
	for _, p := range r.parts {
		r.applyPauseLocked(p)
	}
}

func (r *taskRunner) setPipelinePaused(paused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pipelinePaused = paused
	r.updatePauseLocked()
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

// timestampTypeWait bounds how long a claim waits for its topic's
// message.timestamp.type before it starts fetching (records fetched before
// it is known are tagged CreateTime).
const timestampTypeWait = 5 * time.Second

// requestTimestampType asks the task's timestamp-type lookup
// (timestampTypeLoop) for topic's message.timestamp.type, unless it was
// asked already, and returns a channel closed once the answer is in (or the
// lookup failed, or the task stopped consuming). Topics whose records carry
// LogAppendTime end up in logAppendTopics; a topic that cannot be read for
// lack of authorization is remembered (its records are tagged CreateTime,
// and it is logged once per task); another failure is logged and retried
// at the topic's next assignment. Safe for concurrent use (called by the
// claim goroutines).
//
// The topic's setting stands in for each record batch's timestamp type,
// which sarama's ConsumerMessage does not carry (on a LogAppendTime batch
// it only puts the broker's time in Timestamp): records written before the
// topic's message.timestamp.type changed are tagged by the new setting.
func (r *taskRunner) requestTimestampType(topic string) <-chan struct{} {
	r.tsMu.Lock()
	defer r.tsMu.Unlock()
	if ch, ok := r.tsAsked[topic]; ok {
		return ch
	}
	ch := make(chan struct{})
	if r.tsStopped {
		close(ch)
		return ch
	}
	if r.tsAsked == nil {
		r.tsAsked = map[string]chan struct{}{}
	}
	r.tsAsked[topic] = ch
	r.tsQueue = append(r.tsQueue, topic)
	select {
	case r.tsWake <- struct{}{}:
	default:
	}
	return ch
}

// timestampTypeLoop answers requestTimestampType: one DescribeConfigs for
// all the topics asked since its last one, so that no claim goroutine waits
// on the brokers under a lock and topics assigned together cost one round
// trip. It runs on its own goroutine from the task's start of consumption
// until ctx (the consumption context) is done, and returns before the
// task's run does; on return it releases every waiting claim.
func (r *taskRunner) timestampTypeLoop(ctx context.Context) {
	defer func() {
		r.tsMu.Lock()
		defer r.tsMu.Unlock()
		r.tsStopped = true
		for _, topic := range r.tsQueue {
			close(r.tsAsked[topic])
			delete(r.tsAsked, topic)
		}
		r.tsQueue = nil
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.tsWake:
		}
		r.tsMu.Lock()
		topics := slices.Clone(r.tsQueue)
		r.tsMu.Unlock()
		if len(topics) == 0 {
			continue
		}
		logAppend, denied, err := r.describeTimestampTypes(topics)
		r.tsMu.Lock()
		r.tsQueue = slices.DeleteFunc(r.tsQueue, func(t string) bool { return slices.Contains(topics, t) })
		var appendTopics []string
		if t := r.logAppendTopics.Load(); t != nil {
			appendTopics = *t
		}
		added := false
		for _, topic := range topics {
			switch _, ok := logAppend[topic]; {
			case ok || denied[topic]:
				if logAppend[topic] {
					appendTopics = append(slices.Clip(appendTopics), topic)
					added = true
				}
				close(r.tsAsked[topic]) // known (or denied): kept
			default:
				close(r.tsAsked[topic])
				delete(r.tsAsked, topic) // asked again at its next assignment
			}
		}
		if added {
			r.logAppendTopics.Store(&appendTopics)
		}
		logDenied := len(denied) > 0 && !r.tsDeniedLogged
		r.tsDeniedLogged = r.tsDeniedLogged || len(denied) > 0
		r.tsMu.Unlock()
		if err != nil {
			r.log.Warn("could not read the topics' message.timestamp.type; their records are given timestamp type CreateTime", "topics", topics, "error", err)
		}
		if logDenied {
			r.log.Warn("not authorized to read topics' message.timestamp.type (DescribeConfigs); their records are given timestamp type CreateTime (logged once per task)", "topics", slices.Sorted(maps.Keys(denied)))
		}
	}
}

// describeTimestampTypes reads topics' message.timestamp.type: logAppend
// holds each topic read (true for LogAppendTime), denied those the
// principal may not describe; err tells why others are missing. Only the
// timestampTypeLoop goroutine calls it.
func (r *taskRunner) describeTimestampTypes(topics []string) (logAppend, denied map[string]bool, err error) {
	if r.tsAdmin == nil {
		a, err := sarama.NewClusterAdminFromClient(r.client)
		if err != nil {
			return nil, nil, fmt.Errorf("admin client: %w", err)
		}
		r.tsAdmin = a
	}
	res := make([]*sarama.ConfigResource, len(topics))
	for i, t := range topics {
		res[i] = &sarama.ConfigResource{Type: sarama.TopicResource, Name: t, ConfigNames: []string{"message.timestamp.type"}}
	}
	results, err := r.tsAdmin.DescribeConfigs(res, sarama.DescribeConfigsOptions{})
	if err != nil {
		if authorizationFailure(err) {
			denied = map[string]bool{}
			for _, t := range topics {
				denied[t] = true
			}
			return nil, denied, nil
		}
		return nil, nil, fmt.Errorf("describing topics %v: %w", topics, err)
	}
	logAppend, denied = map[string]bool{}, map[string]bool{}
	var errs []error
	for _, res := range results {
		if !slices.Contains(topics, res.Name) {
			continue
		}
		switch {
		case res.ErrorCode == sarama.ErrTopicAuthorizationFailed || res.ErrorCode == sarama.ErrClusterAuthorizationFailed:
			denied[res.Name] = true
			continue
		case res.ErrorCode != sarama.ErrNoError:
			errs = append(errs, fmt.Errorf("describing topic %s: %w: %s", res.Name, res.ErrorCode, res.ErrorMsg))
			continue
		}
		logAppend[res.Name] = false
		for _, e := range res.Configs {
			if e.Name == "message.timestamp.type" {
				logAppend[res.Name] = e.Value == "LogAppendTime"
			}
		}
	}
	return logAppend, denied, errors.Join(errs...)
}
