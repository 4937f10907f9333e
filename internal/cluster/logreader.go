package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkalog"
)

// LogConfig configures a config log ([OpenConfigLog]) or a status log
// ([OpenStatusLog]).
type LogConfig struct {
	// Addrs are the bootstrap brokers (required).
	Addrs []string
	// Sarama is copied and adjusted (idempotent producer, acks=all,
	// read_committed); nil means kafkaconf's defaults. Its Version must be
	// at least 0.11.
	Sarama *sarama.Config
	// Topic is the config or status topic (required).
	Topic string
	// Partitions is the status topic's partition count when the log creates
	// it (0 = DefaultStatusPartitions); the config topic always has one.
	Partitions int32
	// ReplicationFactor of a topic the log creates: -1 or 0 = the broker's
	// default.
	ReplicationFactor int16
	// Logger receives skipped records and write failures; nil =
	// slog.Default().
	Logger *slog.Logger
}

// probeIdle is how long the pump waits for a record before it probes a
// partition that has not reached an end some ReadToEnd waits for: sarama's
// consumer skips transaction markers and batches emptied by compaction
// without a word, so such a tail is never "delivered".
const probeIdle = 100 * time.Millisecond

// maxBatch bounds the records one pump step applies before it notifies.
const maxBatch = 500

// logSaramaConfig copies base (or the project default) and sets what the
// logs depend on: acknowledged, idempotent, ordered writes; read_committed
// reads (Kafka Connect's config consumer reads read_committed when its
// leader writes transactionally; for other writes it changes nothing).
// connect checks cfg and returns a client for the kind ("config",
// "status") of log, and its logger; errors name the topic.
func (cfg LogConfig) connect(kind, clientID string) (sarama.Client, *slog.Logger, error) {
	if cfg.Topic == "" || len(cfg.Addrs) == 0 {
		return nil, nil, fmt.Errorf("cluster: %s log: Topic and Addrs are required", kind)
	}
	scfg, err := logSaramaConfig(cfg.Sarama, clientID)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: %s topic %q: %w", kind, cfg.Topic, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	client, err := sarama.NewClient(cfg.Addrs, scfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: %s topic %q: connecting to %v: %w", kind, cfg.Topic, cfg.Addrs, err)
	}
	return client, log, nil
}

func logSaramaConfig(base *sarama.Config, clientID string) (*sarama.Config, error) {
	return kafkaconf.CompactedLogConfig(base, clientID, "the config and status logs", 100*time.Millisecond)
}

// logReader tails every partition of a compacted topic from its start and
// hands records, in log order per partition, to apply. One goroutine at a
// time "pumps" (holds token): Run for its whole life, or a ReadToEnd
// caller while Run is not running; so apply never runs concurrently with
// itself.
type logReader struct {
	topic    string
	client   sarama.Client
	log      *slog.Logger
	consumer sarama.Consumer
	parts    []int32 // sorted; fixed at creation
	pcs      []sarama.PartitionConsumer
	recs     chan *sarama.ConsumerMessage
	stop     chan struct{}
	stopOnce sync.Once
	fwd      sync.WaitGroup
	token    chan struct{}

	// apply is called by the pump for each batch of records; the read
	// positions advance past them once it returns.
	apply func(batch []*sarama.ConsumerMessage)

	mu      sync.Mutex
	pos     map[int32]int64 // next offset to apply per partition
	want    map[int32]int64 // the highest end a ReadToEnd waits for
	changed chan struct{}   // closed (and replaced) when pos advances
}

// newLogReader starts consuming every partition of topic from its start.
// The caller's client must outlive the reader.
func newLogReader(ctx context.Context, client sarama.Client, topic string, log *slog.Logger, apply func([]*sarama.ConsumerMessage)) (*logReader, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("listing partitions of topic %q: %w", topic, err)
	}
	parts = slices.Clone(parts)
	slices.Sort(parts)
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("creating consumer of topic %q: %w", topic, err)
	}
	r := &logReader{
		topic:    topic,
		client:   client,
		log:      log,
		consumer: consumer,
		recs:     make(chan *sarama.ConsumerMessage, 256),
		stop:     make(chan struct{}),
		token:    make(chan struct{}, 1),
		apply:    apply,
		pos:      make(map[int32]int64, len(parts)),
		want:     make(map[int32]int64, len(parts)),
		changed:  make(chan struct{}),
	}
	for _, p := range parts {
		start, err := startOffset(ctx, client, topic, p)
		if err != nil {
			r.close()
			return nil, err
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("topic %q partition %d: consuming from offset %d: %w", topic, p, start, err)
		}
		r.pos[p] = start
		r.parts = append(r.parts, p)
		r.pcs = append(r.pcs, pc)
		r.fwd.Add(1)
		go r.forward(p, pc)
	}
	return r, nil
}

// startOffset returns partition p's log start offset, retrying while the
// broker has no leader ready for it yet (a topic just created) until ctx
// is done.
func startOffset(ctx context.Context, client sarama.Client, topic string, p int32) (int64, error) {
	for {
		start, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err == nil {
			return start, nil
		}
		_ = client.RefreshMetadata(topic)
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %q partition %d: start offset: %w (last: %v)", topic, p, ctx.Err(), err)
		case <-time.After(client.Config().Metadata.Retry.Backoff + 50*time.Millisecond):
		}
	}
}

// forward moves pc's records into r.recs until the reader stops.
func (r *logReader) forward(p int32, pc sarama.PartitionConsumer) {
	defer r.fwd.Done()
	msgs, errs := pc.Messages(), pc.Errors()
	for msgs != nil || errs != nil {
		select {
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			select {
			case r.recs <- m:
			case <-r.stop:
				return
			}
		case e, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			r.log.Warn("cluster: reading topic", "topic", r.topic, "partition", p, "error", e.Err)
		case <-r.stop:
			return
		}
	}
}

// endOffsets returns each partition's last stable offset (the end for a
// read_committed reader; the high watermark when no transaction is open).
func (r *logReader) endOffsets(ctx context.Context) (map[int32]int64, error) {
	parts := r.parts
	conf := r.client.Config()
	ends := make(map[int32]int64, len(parts))
	var last error
	for {
		for _, p := range parts {
			if _, ok := ends[p]; ok {
				continue
			}
			leader, err := r.client.Leader(r.topic, p)
			if err != nil {
				last = fmt.Errorf("partition %d: leader: %w", p, err)
				_ = r.client.RefreshMetadata(r.topic)
				continue
			}
			req := sarama.NewOffsetRequest(conf.Version)
			req.IsolationLevel = sarama.ReadCommitted
			req.AddBlock(r.topic, p, sarama.OffsetNewest, 1)
			resp, err := leader.GetAvailableOffsets(req)
			if err != nil {
				last = fmt.Errorf("partition %d: end offset from broker %d: %w", p, leader.ID(), err)
				_ = r.client.RefreshMetadata(r.topic)
				continue
			}
			b := resp.GetBlock(r.topic, p)
			switch {
			case b == nil:
				last = fmt.Errorf("partition %d: end offset: no answer", p)
			case !errors.Is(b.Err, sarama.ErrNoError):
				last = fmt.Errorf("partition %d: end offset: %w", p, b.Err)
				_ = r.client.RefreshMetadata(r.topic)
			default:
				ends[p] = b.Offset
			}
		}
		if len(ends) == len(parts) {
			return ends, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("topic %q: listing end offsets: %w (last: %v)", r.topic, ctx.Err(), last)
		case <-r.stop:
			return nil, fmt.Errorf("topic %q: listing end offsets: %w", r.topic, errClosed)
		case <-time.After(conf.Metadata.Retry.Backoff + 50*time.Millisecond):
		}
	}
}

// errClosed is returned by operations on a closed log.
var errClosed = errors.New("log closed")

// reached reports whether every partition was applied up to ends.
func (r *logReader) reached(ends map[int32]int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, e := range ends {
		if r.pos[p] < e {
			return false
		}
	}
	return true
}

// readToEnd returns once every record below the topic's end offsets at
// the call has been applied. It pumps itself when nobody else does.
func (r *logReader) readToEnd(ctx context.Context) error {
	ends, err := r.endOffsets(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	for p, e := range ends {
		r.want[p] = max(r.want[p], e)
	}
	r.mu.Unlock()
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if r.reached(ends) {
			return nil
		}
		select {
		case r.token <- struct{}{}:
			err := r.pump(ctx, func() bool { return r.reached(ends) }, nil)
			<-r.token
			if err != nil {
				return fmt.Errorf("topic %q: reading to offsets %v: %w", r.topic, ends, err)
			}
			return nil
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("topic %q: reading to offsets %v: %w", r.topic, ends, ctx.Err())
		case <-r.stop:
			return fmt.Errorf("topic %q: %w", r.topic, errClosed)
		}
	}
}

// run pumps until ctx is done or the reader stops, calling after (if not
// nil) once at the start and after each applied batch.
func (r *logReader) run(ctx context.Context, after func()) error {
	select {
	case r.token <- struct{}{}:
	case <-ctx.Done():
		return nil
	case <-r.stop:
		return nil
	}
	defer func() { <-r.token }()
	if after != nil {
		after()
	}
	err := r.pump(ctx, nil, after)
	if errors.Is(err, errClosed) || ctx.Err() != nil {
		return nil
	}
	return err
}

// pump applies records until done() (if not nil) holds, ctx is done or
// the reader stops. The caller holds r.token.
func (r *logReader) pump(ctx context.Context, done func() bool, after func()) error {
	idle := time.NewTimer(probeIdle)
	defer idle.Stop()
	for {
		if done != nil && done() {
			return nil
		}
		select {
		case m := <-r.recs:
			batch := []*sarama.ConsumerMessage{m}
		drain:
			for len(batch) < maxBatch {
				select {
				case m := <-r.recs:
					batch = append(batch, m)
				default:
					break drain
				}
			}
			r.apply(batch)
			r.mu.Lock()
			for _, m := range batch {
				r.pos[m.Partition] = max(r.pos[m.Partition], m.Offset+1)
			}
			r.mu.Unlock()
			r.advanced()
			if after != nil {
				after()
			}
			idle.Reset(probeIdle)
		case <-idle.C:
			r.probe()
			idle.Reset(probeIdle)
		case <-ctx.Done():
			return ctx.Err()
		case <-r.stop:
			return errClosed
		}
	}
}

// probe advances the position of each partition that lags an end some
// ReadToEnd waits for over records a consumer never delivers.
func (r *logReader) probe() {
	r.mu.Lock()
	lag := map[int32][2]int64{}
	for p, w := range r.want {
		if r.pos[p] < w {
			lag[p] = [2]int64{r.pos[p], w}
		}
	}
	r.mu.Unlock()
	moved := false
	for p, pw := range lag {
		next, _, err := kafkalog.Probe(r.client, r.topic, p, pw[0], pw[1], sarama.ReadCommitted)
		if err != nil {
			r.log.Debug("cluster: probing topic", "topic", r.topic, "partition", p, "offset", pw[0], "error", err)
		}
		r.mu.Lock()
		if next > r.pos[p] {
			r.pos[p] = next
			moved = true
		}
		r.mu.Unlock()
	}
	if moved {
		r.advanced()
	}
}

// advanced wakes ReadToEnd callers waiting on positions.
func (r *logReader) advanced() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// close stops the reader's goroutines and its consumer (not the client).
// Safe to call more than once.
func (r *logReader) close() {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.fwd.Wait()
		for _, pc := range r.pcs {
			_ = pc.Close()
		}
		_ = r.consumer.Close()
	})
}
