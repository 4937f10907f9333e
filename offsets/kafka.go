package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkalog"
)

// Defaults of KafkaStoreConfig, those of Kafka Connect's
// offset.storage.partitions and offset.storage.replication.factor.
const (
	DefaultOffsetsTopicPartitions        int32 = 25
	DefaultOffsetsTopicReplicationFactor int16 = 3
	// DefaultReadTimeout bounds NewKafkaStore's setup: creating or checking
	// the topic and reading it to the end.
	DefaultReadTimeout = 2 * time.Minute
)

// probeIdle is how long a partition may deliver nothing, while its end has
// not been reached, before the reader looks at the log itself (see
// probeTail).
const probeIdle = 50 * time.Millisecond

// KafkaStoreConfig configures a KafkaStore. Brokers and Topic are required;
// the other fields have usable zero values.
type KafkaStoreConfig struct {
	// Brokers are the bootstrap addresses, e.g. ["127.0.0.1:9092"].
	Brokers []string
	// Topic is the offsets topic (Kafka Connect: offset.storage.topic, often
	// "connect-offsets"). Sluice and Kafka Connect workers may share it.
	Topic string
	// Sarama is the base client configuration (TLS, SASL, client ID,
	// timeouts, ...); nil means sarama.NewConfig with client ID
	// "sluice-offsets" and protocol version 4.0 (sarama.V4_0_0_0).
	// It is copied, not modified. The store overrides what correctness
	// needs: an idempotent producer with acks=all and one request in flight,
	// Kafka's murmur2 partitioner, success and error returns, read_committed
	// consumption, and no topic auto-creation by metadata requests. Version
	// must be at least 0.11.
	Sarama *sarama.Config
	// Partitions of the topic when the store creates it; 0 means 25, -1 the
	// broker's default (num.partitions).
	Partitions int32
	// ReplicationFactor of the topic when the store creates it; 0 means 3,
	// -1 the broker's default. A factor above the number of brokers in the
	// cluster is lowered to that number, with a warning.
	ReplicationFactor int16
	// ReadTimeout bounds the setup in NewKafkaStore (topic creation or
	// check, reading the topic to its end); 0 means 2 minutes.
	ReadTimeout time.Duration
	// Logger receives warnings (skipped records, a lowered replication
	// factor); nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports a missing Brokers or Topic, or out-of-range values.
func (c KafkaStoreConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("missing Brokers"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("missing Topic"))
	}
	if c.Partitions < -1 {
		errs = append(errs, fmt.Errorf("invalid Partitions %d: want a positive count, 0 (default 25) or -1 (broker default)", c.Partitions))
	}
	if c.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("invalid ReplicationFactor %d: want a positive factor, 0 (default 3) or -1 (broker default)", c.ReplicationFactor))
	}
	if c.ReadTimeout < 0 {
		errs = append(errs, fmt.Errorf("negative ReadTimeout %v", c.ReadTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("offsets: KafkaStoreConfig: %w", err)
	}
	return nil
}

// KafkaStore is a Store backed by a compacted Kafka topic, byte-compatible
// with Kafka Connect's offsets topic (key ["<connector>",{partition}], value
// {offset}, tombstone = reset; see EncodeKey), so Sluice and Kafka Connect
// can share a topic and take over each other's connectors.
//
// NewKafkaStore reads the whole topic once; Get and List are then served
// from memory, and Write updates memory as the broker acknowledges. The
// store does not follow records that other writers (say, a Kafka Connect
// worker) produce after it was opened, unless asked to with Refresh: a
// connector's offsets must be written by one party at a time, which Kafka
// Connect requires too.
//
// KafkaStore is also a TransactionalStore: OffsetMessages, Committed and
// Refresh let an exactly-once source write offsets in its own producer's
// Kafka transaction.
//
// Records are indexed by the canonical form of their key, and the exact key
// bytes read are remembered: an offset that Kafka Connect wrote with its
// partition members in any order is found by Get, and a Write for that
// partition reuses the original key bytes (also after a reset: the bytes
// of a tombstone are remembered too), so that compaction and Kafka Connect
// see one key. Partitions never seen are written in canonical form
// (members sorted). Records are partitioned like Kafka's Java producer
// does (murmur2 of the key bytes), so a key lands in the same partition
// whoever writes it. If the topic holds one partition under several key
// byte forms (possible only if a Java connector's map iteration order
// changed), the latest record wins and later writes use its bytes.
//
// Safe for concurrent use. Close stops every goroutine the store started.
type KafkaStore struct {
	topic  string
	log    *slog.Logger
	client sarama.Client

	// readTimeout bounds NewKafkaStore's setup and each Refresh.
	readTimeout time.Duration

	// mu guards ix and touched.
	mu sync.RWMutex
	ix *offsetIndex
	// touched is non-nil while Refresh reads: the canonical keys that
	// acknowledged writes and Committed applied meanwhile, which the
	// records Refresh read must not overwrite (they are older).
	touched map[string]struct{}

	// refreshMu serializes Refresh calls and guards pos.
	refreshMu sync.Mutex
	// pos is, per topic partition, the offset up to which the store has
	// read the topic: nothing below it remains for a read_committed reader.
	pos map[int32]int64
	// life is cancelled by Close; it ends a Refresh in progress.
	life       context.Context
	lifeCancel context.CancelFunc
	// beforeRefreshApply, if set (by tests), runs after Refresh read the
	// topic and before it applies what it read.
	beforeRefreshApply func()

	producer     sarama.AsyncProducer
	dispatchDone chan struct{}

	// inputMu is held (read) by Write while it feeds the producer, so
	// that Close does not close the producer under it.
	inputMu   sync.RWMutex
	closed    atomic.Bool
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Store              = (*KafkaStore)(nil)
	_ PartitionLister    = (*KafkaStore)(nil)
	_ TransactionalStore = (*KafkaStore)(nil)
)

// NewKafkaStore connects to cfg.Brokers, makes sure cfg.Topic exists and is
// compacted, reads it to its end and returns the ready store.
//
// A missing topic is created with cleanup.policy=compact, cfg.Partitions
// and cfg.ReplicationFactor. An existing topic whose cleanup.policy is not
// exactly "compact" is refused, as Kafka Connect does: retention would
// delete committed offsets. (If the store may not describe the topic's
// configuration, the check is skipped with a warning.)
//
// The topic is read from the beginning of every partition up to its last
// stable offset, with read_committed isolation, so topics written
// transactionally by Kafka Connect's exactly-once source support are read
// correctly. Tombstones delete; records whose key is not a source offset
// key are skipped and logged; a record whose value does not parse is kept,
// and Get of its partition reports the error.
//
// Setup is bounded by ctx and by cfg.ReadTimeout. Errors name the topic.
func NewKafkaStore(ctx context.Context, cfg KafkaStoreConfig) (*KafkaStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	scfg, err := kafkaStoreSaramaConfig(cfg.Sarama)
	if err != nil {
		return nil, fmt.Errorf("offsets: offsets topic %q: sarama config: %w", cfg.Topic, err)
	}
	timeout := cfg.ReadTimeout
	if timeout == 0 {
		timeout = DefaultReadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("topic", cfg.Topic)

	client, err := sarama.NewClient(cfg.Brokers, scfg)
	if err != nil {
		return nil, fmt.Errorf("offsets: offsets topic %q: connecting to %v: %w", cfg.Topic, cfg.Brokers, err)
	}
	life, lifeCancel := context.WithCancel(context.Background())
	s := &KafkaStore{
		topic:        cfg.Topic,
		log:          log,
		client:       client,
		readTimeout:  timeout,
		ix:           newOffsetIndex(),
		life:         life,
		lifeCancel:   lifeCancel,
		dispatchDone: make(chan struct{}),
		closing:      make(chan struct{}),
	}
	fail := func(err error) (*KafkaStore, error) {
		lifeCancel()
		_ = client.Close()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (setup is bounded by ReadTimeout %v and ctx)", err, timeout)
		}
		return nil, fmt.Errorf("offsets: offsets topic %q: %w", cfg.Topic, err)
	}
	if err := s.ensureTopic(ctx, cfg); err != nil {
		return fail(err)
	}
	if err := s.readToEnd(ctx); err != nil {
		return fail(err)
	}
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return fail(fmt.Errorf("creating producer: %w", err))
	}
	s.producer = producer
	go s.dispatch()
	return s, nil
}

// kafkaStoreSaramaConfig copies base (or the project default) and sets what
// the store's correctness depends on.
func kafkaStoreSaramaConfig(base *sarama.Config) (*sarama.Config, error) {
	// The store reads to a known end and stops: a fetch left waiting for
	// more data (sarama's default 500 ms) only delays closing its
	// partition consumer, which every open and Refresh does.
	return kafkaconf.CompactedLogConfig(base, "sluice-offsets", "the offsets store", 50*time.Millisecond)
}

// ensureTopic creates the topic if it is missing, else checks that it is
// compacted; then waits until every partition has a leader.
func (s *KafkaStore) ensureTopic(ctx context.Context, cfg KafkaStoreConfig) error {
	// Not closed: closing a cluster admin closes its client, which the
	// store keeps. The admin itself holds no goroutine.
	admin, err := sarama.NewClusterAdminFromClient(s.client)
	if err != nil {
		return fmt.Errorf("cluster admin: %w", err)
	}
	md, err := admin.DescribeTopics([]string{s.topic})
	if err != nil {
		return fmt.Errorf("describing topic: %w", err)
	}
	exists := false
	for _, tm := range md {
		if tm.Name != s.topic {
			continue
		}
		switch {
		case errors.Is(tm.Err, sarama.ErrNoError):
			exists = true
		case errors.Is(tm.Err, sarama.ErrUnknownTopicOrPartition):
		default:
			return fmt.Errorf("describing topic: %w", tm.Err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	want := int32(0)
	if !exists {
		if want, err = s.createTopic(admin, cfg); err != nil {
			return err
		}
	} else if err := s.checkCompacted(admin); err != nil {
		return err
	}
	return s.waitForLeaders(ctx, want)
}

func (s *KafkaStore) createTopic(admin sarama.ClusterAdmin, cfg KafkaStoreConfig) (int32, error) {
	partitions := cfg.Partitions
	if partitions == 0 {
		partitions = DefaultOffsetsTopicPartitions
	}
	rf := cfg.ReplicationFactor
	if rf == 0 {
		rf = DefaultOffsetsTopicReplicationFactor
	}
	if rf > 0 {
		brokers, _, err := admin.DescribeCluster()
		if err != nil {
			return 0, fmt.Errorf("describing cluster: %w", err)
		}
		if n := len(brokers); n > 0 && int(rf) > n {
			s.log.Warn("offsets: lowering the offsets topic's replication factor to the number of brokers "+
				"(Kafka Connect would refuse to start; choose with offset.storage.replication.factor, -1 for the broker's default)",
				"replication_factor", rf, "brokers", n)
			rf = int16(n)
		}
	}
	compact := "compact"
	err := admin.CreateTopic(s.topic, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: rf,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact},
	}, false)
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		// Created concurrently (another store or worker): check it.
		return 0, s.checkCompacted(admin)
	case err != nil:
		return 0, fmt.Errorf("creating topic (partitions %d, replication factor %d, cleanup.policy=compact): %w", partitions, rf, err)
	}
	s.log.Info("offsets: created offsets topic", "partitions", partitions, "replication_factor", rf)
	if partitions < 0 {
		return 0, nil
	}
	return partitions, nil
}

// checkCompacted refuses a topic whose cleanup.policy is not exactly
// "compact", like Kafka Connect's
// TopicAdmin.verifyTopicCleanupPolicyOnlyCompact.
func (s *KafkaStore) checkCompacted(admin sarama.ClusterAdmin) error {
	policy, found, err := kafkaconf.CleanupPolicy(admin, s.topic)
	if errors.Is(err, kafkaconf.ErrDescribeNotAllowed) {
		s.log.Warn("offsets: not allowed to describe the offsets topic's configuration; cannot check that it is compacted", "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("describing the topic's cleanup.policy: %w", err)
	}
	if found && strings.TrimSpace(policy) == "compact" {
		return nil
	}
	if !found {
		policy = "(not reported)"
	}
	return fmt.Errorf("the topic has cleanup.policy=%s, but an offsets topic must have cleanup.policy=compact "+
		"(only compact; Kafka Connect refuses it too), or retention deletes committed offsets. "+
		"Fix it with: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name %s "+
		"--add-config cleanup.policy=compact, or use another topic", policy, s.topic)
}

// waitForLeaders waits until metadata lists the topic with want partitions
// (any number > 0 if want is 0), each with a leader.
func (s *KafkaStore) waitForLeaders(ctx context.Context, want int32) error {
	var last error
	for {
		last = s.topicReady(want)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the topic's partitions to have leaders: %w (last: %v)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *KafkaStore) topicReady(want int32) error {
	if err := s.client.RefreshMetadata(s.topic); err != nil {
		return err
	}
	parts, err := s.client.Partitions(s.topic)
	if err != nil {
		return err
	}
	if len(parts) == 0 || (want > 0 && int32(len(parts)) != want) {
		return fmt.Errorf("metadata lists %d partitions, want %d", len(parts), want)
	}
	for _, p := range parts {
		if _, err := s.client.Leader(s.topic, p); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return nil
}

// readToEnd reads every partition from its start to its last stable offset
// into the index, and sets the read positions.
func (s *KafkaStore) readToEnd(ctx context.Context) error {
	parts, err := s.client.Partitions(s.topic)
	if err != nil {
		return fmt.Errorf("listing partitions: %w", err)
	}
	ends, err := s.endOffsets(ctx, parts, sarama.ReadCommitted)
	if err != nil {
		return err
	}
	reached, err := s.readPartitions(ctx, parts, nil, ends, func(_ int, p int32, offset int64, key, value []byte) {
		s.loadRecord(p, offset, key, value)
	})
	s.pos = reached
	return err
}

// readPartitions reads each partition of parts, in parallel, from from[p]
// (its start if absent or below its start) up to ends[p], with read_committed
// isolation, and calls load for each record below ends[p], in log order per
// partition (i is p's index in parts; load runs on one goroutine per
// partition). It returns how far each partition was read, also on error
// (nothing a read_committed reader sees remains below it).
func (s *KafkaStore) readPartitions(ctx context.Context, parts []int32, from, ends map[int32]int64,
	load func(i int, p int32, offset int64, key, value []byte)) (map[int32]int64, error) {
	consumer, err := sarama.NewConsumerFromClient(s.client)
	if err != nil {
		return maps.Clone(from), fmt.Errorf("creating consumer: %w", err)
	}
	defer consumer.Close()

	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	reached := make([]int64, len(parts))
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reached[i], errs[i] = s.readPartition(ctx, consumer, p, from[p], ends[p], func(offset int64, key, value []byte) {
				load(i, p, offset, key, value)
			})
		}()
	}
	wg.Wait()
	out := maps.Clone(from)
	if out == nil {
		out = make(map[int32]int64, len(parts))
	}
	for i, p := range parts {
		out[p] = max(out[p], reached[i])
	}
	return out, errors.Join(errs...)
}

// endOffsets returns the end offset of each partition: with
// sarama.ReadCommitted its last stable offset (the end for read_committed
// readers; the high watermark when no transaction is open), with
// sarama.ReadUncommitted its high watermark.
func (s *KafkaStore) endOffsets(ctx context.Context, parts []int32, isolation sarama.IsolationLevel) (map[int32]int64, error) {
	conf := s.client.Config()
	ends := make(map[int32]int64, len(parts))
	todo := slices.Clone(parts)
	var last error
	for {
		byLeader := map[*sarama.Broker]*sarama.OffsetRequest{}
		var leaderErr error
		for _, p := range todo {
			leader, err := s.client.Leader(s.topic, p)
			if err != nil {
				leaderErr = fmt.Errorf("partition %d: leader: %w", p, err)
				continue
			}
			req := byLeader[leader]
			if req == nil {
				req = sarama.NewOffsetRequest(conf.Version)
				req.IsolationLevel = isolation
				byLeader[leader] = req
			}
			req.AddBlock(s.topic, p, sarama.OffsetNewest, 1)
		}
		last = leaderErr
		for leader, req := range byLeader {
			resp, err := leader.GetAvailableOffsets(req)
			if err != nil {
				last = fmt.Errorf("listing end offsets from broker %d: %w", leader.ID(), err)
				continue
			}
			for _, p := range todo {
				b := resp.GetBlock(s.topic, p)
				if b == nil {
					continue
				}
				if !errors.Is(b.Err, sarama.ErrNoError) {
					last = fmt.Errorf("partition %d: end offset: %w", p, b.Err)
					continue
				}
				ends[p] = b.Offset
			}
		}
		todo = slices.DeleteFunc(todo, func(p int32) bool { _, ok := ends[p]; return ok })
		if len(todo) == 0 {
			return ends, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("listing end offsets: %w (last: %v)", ctx.Err(), last)
		case <-time.After(conf.Metadata.Retry.Backoff + 50*time.Millisecond):
		}
		_ = s.client.RefreshMetadata(s.topic)
	}
}

// readPartition reads partition p from from (its start if from is below
// it) up to end, calling load for each record delivered below end. It
// returns how far it read: end, unless it failed.
func (s *KafkaStore) readPartition(ctx context.Context, consumer sarama.Consumer, p int32, from, end int64,
	load func(offset int64, key, value []byte)) (int64, error) {
	if from >= end {
		return from, nil
	}
	start, err := s.client.GetOffset(s.topic, p, sarama.OffsetOldest)
	if err != nil {
		return from, fmt.Errorf("partition %d: start offset: %w", p, err)
	}
	start = max(start, from)
	if start >= end {
		return start, nil
	}
	pc, err := consumer.ConsumePartition(s.topic, p, start)
	if err != nil {
		return start, fmt.Errorf("partition %d: consuming from %d: %w", p, start, err)
	}
	defer pc.Close()

	// next: no record this reader must load lies below it.
	next := start
	idle := time.NewTimer(probeIdle)
	defer idle.Stop()
	var lastErr error
	for next < end {
		select {
		case m, ok := <-pc.Messages():
			if !ok { // the consumer gave up (e.g. offset out of range)
				return next, fmt.Errorf("partition %d: consumer stopped at offset %d of %d (last error: %v)", p, next, end, lastErr)
			}
			if m.Offset >= end {
				next = end
				break
			}
			load(m.Offset, m.Key, m.Value)
			next = max(next, m.Offset+1)
			idle.Reset(probeIdle)
		case cerr := <-pc.Errors():
			lastErr = cerr
			s.log.Warn("offsets: reading the offsets topic", "partition", p, "error", cerr)
		case <-idle.C:
			// The consumer skips control records (transaction markers) and
			// aborted records without telling: if such records end the
			// partition, no message ever reaches next.
			next = s.probeTail(p, next, end)
			idle.Reset(probeIdle)
		case <-ctx.Done():
			msg := fmt.Sprintf("partition %d: read to offset %d of %d", p, next, end)
			if lastErr != nil {
				msg += fmt.Sprintf(" (last consumer error: %v)", lastErr)
			}
			return next, fmt.Errorf("%s: %w", msg, ctx.Err())
		}
	}
	return next, nil
}

// loadRecord applies one record read from the topic to the index.
func (s *KafkaStore) loadRecord(p int32, offset int64, key, value []byte) {
	s.mu.Lock()
	connector, valueErr, keyErr := s.ix.load(key, value)
	s.mu.Unlock()
	s.logLoaded(p, offset, key, connector, valueErr, keyErr)
}

// logLoaded logs what loading a record read from the topic reported.
func (s *KafkaStore) logLoaded(p int32, offset int64, key []byte, connector string, valueErr, keyErr error) {
	switch {
	case keyErr != nil:
		s.log.Warn("offsets: skipping offsets-topic record that is not a source offset (Kafka Connect ignores it too)",
			"partition", p, "offset", offset, "key", string(key), "reason", keyErr)
	case valueErr != nil:
		s.log.Warn("offsets: offsets-topic record holds an offset that does not parse; reading that partition's offset will fail until it is reset",
			"partition", p, "offset", offset, "connector", connector, "key", string(key), "reason", valueErr)
	}
}

// probeTail returns how far partition p holds, from next (below end),
// nothing a read_committed consumer will deliver (kafkalog.Probe). Errors
// are not fatal: the caller keeps waiting and probes again later.
func (s *KafkaStore) probeTail(p int32, next, end int64) int64 {
	advanced, _, _ := kafkalog.Probe(s.client, s.topic, p, next, end, sarama.ReadCommitted)
	return advanced
}

// kafkaWrite is one round of a Write call in flight: the records it handed
// to the producer.
type kafkaWrite struct {
	remaining int              // touched by the dispatcher only
	failed    []*kafkaWriteMsg // the records that failed, with their error
	done      chan struct{}    // closed by the dispatcher once every record was acknowledged or failed
}

// kafkaWriteMsg is the Metadata of one produced record.
type kafkaWriteMsg struct {
	w         *kafkaWrite
	connector string
	entry     preparedEntry
	key       []byte
	err       error // set by the dispatcher when the record failed
}

// dispatch applies acknowledgements to the index and completes writes,
// until the producer is closed.
func (s *KafkaStore) dispatch() {
	defer close(s.dispatchDone)
	successes, errs := s.producer.Successes(), s.producer.Errors()
	for successes != nil || errs != nil {
		select {
		case m, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			s.acked(m, nil)
		case pe, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.acked(pe.Msg, pe.Err)
		}
	}
}

func (s *KafkaStore) acked(m *sarama.ProducerMessage, err error) {
	wm, ok := m.Metadata.(*kafkaWriteMsg)
	if !ok {
		return
	}
	if err == nil {
		// Acknowledgements of one Kafka partition, hence of one key, come
		// in log order, so the index follows the topic.
		s.mu.Lock()
		s.applyLocked(wm.connector, wm.entry, wm.key)
		s.mu.Unlock()
	} else {
		wm.err = err
		wm.w.failed = append(wm.w.failed, wm)
	}
	wm.w.remaining--
	if wm.w.remaining == 0 {
		close(wm.w.done)
	}
}

// Get returns the offset of connector's partition, nil if none, from the
// store's memory (the topic as read at open plus acknowledged writes). It
// fails with a *FormatError (wrapped) if partition holds a value Kafka
// Connect refuses or the stored offset does not parse, with ErrClosed after
// Close, and with ctx's error if ctx is done.
func (s *KafkaStore) Get(ctx context.Context, connector string, partition Partition) (Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	off, err := s.ix.get(connector, partition)
	if err != nil {
		return nil, fmt.Errorf("%w (offsets topic %q)", err, s.topic)
	}
	return off, nil
}

// List returns every entry of connector, sorted by partition (canonical
// key order), from the store's memory.
func (s *KafkaStore) List(ctx context.Context, connector string) ([]connect.OffsetEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out, err := s.ix.list(connector)
	if err != nil {
		return nil, fmt.Errorf("%w (offsets topic %q)", err, s.topic)
	}
	return out, nil
}

// Partitions returns the partitions of connector that have an offset,
// sorted, from the store's memory (PartitionLister).
func (s *KafkaStore) Partitions(ctx context.Context, connector string) ([]Partition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ix.partitions(connector)
}

// Write produces one record per entry (a nil Offset as a tombstone) as one
// batch and returns once the broker acknowledged every record (acks=all,
// idempotent producer) or one failed for good.
//
// All entries are validated first: if any holds a value Kafka Connect
// refuses, nothing is written. When a partition occurs more than once, the
// last entry wins. A partition already in the topic is written under the
// key bytes it was read with (see KafkaStore).
//
// A record that meets a retriable error (the broker is away or the
// connection fails, a leader change, a request timeout, not enough
// replicas: the broker errors Kafka's Java client marks retriable) is not
// failed: it is produced again after a backoff (starting at the
// producer's retry backoff, doubling up to 1 s), until it is acknowledged,
// ctx is done or the store is closed. Kafka Connect's offset producer
// retries likewise, bounded per flush by offset.flush.timeout.ms, which is
// what a source runner's ctx deadline is. Each record is atomic on its own:
// when some fail for good (a non-retriable error), the others may be
// stored; the error joins one error per failed record, naming the topic,
// connector and partition, and memory reflects exactly the acknowledged
// records.
//
// If ctx is done first, Write returns ctx's error (with the last broker
// error, if any); records already handed to the producer may still be
// stored (and then show in Get). A caller that keeps the offsets and
// writes them again later, as a source runner does, loses nothing.
func (s *KafkaStore) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
	todo, err := s.prepareRecords(ctx, connector, entries)
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		if s.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	wait := s.client.Config().Producer.Retry.Backoff
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	maxWait := max(wait, kafkaconf.RetryBackoffMax)
	var last error // the failures of the previous round
	for round := 1; ; round++ {
		failed, err := s.writeRound(ctx, todo)
		if err != nil {
			if last != nil {
				err = fmt.Errorf("%w after %d attempts (last error: %w)", err, round, last)
			}
			return fmt.Errorf("offsets: writing %d offsets of connector %q to offsets topic %q: %w", len(todo), connector, s.topic, err)
		}
		if len(failed) == 0 {
			if round > 1 {
				s.log.Info("offsets: offsets written after retrying", "connector", connector, "rounds", round)
			}
			return nil
		}
		var errs []error
		retriable := true
		for _, wm := range failed {
			retriable = retriable && kafkaconf.Retriable(wm.err)
			errs = append(errs, fmt.Errorf("offsets: writing to offsets topic %q: connector %q, partition %s: %w",
				s.topic, wm.connector, wm.entry.partitionText(wm.connector), wm.err))
		}
		last = errors.Join(errs...)
		if !retriable {
			return last
		}
		if round == 1 || round%10 == 0 {
			s.log.Warn("offsets: offsets topic unavailable; retrying the write",
				"connector", connector, "records", len(failed), "round", round, "retry_in", wait, "error", failed[0].err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("offsets: writing %d offsets of connector %q to offsets topic %q: %w after %d attempts (last error: %w)",
				len(failed), connector, s.topic, ctx.Err(), round, last)
		case <-s.closing:
			timer.Stop()
			return fmt.Errorf("offsets: writing %d offsets of connector %q to offsets topic %q: %w after %d attempts (last error: %w)",
				len(failed), connector, s.topic, ErrClosed, round, last)
		}
		wait = min(2*wait, maxWait)
		todo = failed
	}
}

// prepareRecords validates and encodes entries (see prepareWrite) and picks
// the key bytes of each (see KafkaStore): the records that Write produces
// and OffsetMessages returns. Errors name the topic.
func (s *KafkaStore) prepareRecords(ctx context.Context, connector string, entries []connect.OffsetEntry) ([]*kafkaWriteMsg, error) {
	prepared, err := prepareWrite(ctx, connector, entries)
	if err != nil {
		return nil, fmt.Errorf("%w (offsets topic %q)", err, s.topic)
	}
	recs := make([]*kafkaWriteMsg, len(prepared))
	s.mu.RLock()
	for i, e := range prepared {
		recs[i] = &kafkaWriteMsg{connector: connector, entry: e, key: s.ix.keyBytes(connector, e.canon)}
	}
	s.mu.RUnlock()
	return recs, nil
}

// message returns a new producer message for wm's record (a nil value: a
// tombstone), with wm as Metadata. The partition is left to the producer's
// partitioner (Kafka's murmur2 of the key bytes).
func (s *KafkaStore) message(wm *kafkaWriteMsg) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{Topic: s.topic, Key: sarama.ByteEncoder(wm.key), Metadata: wm}
	if wm.entry.value != nil {
		m.Value = sarama.ByteEncoder(wm.entry.value)
	}
	return m
}

// applyLocked applies a record this process wrote (acknowledged by the
// broker, or committed in a transaction) to the index. s.mu must be held.
func (s *KafkaStore) applyLocked(connector string, e preparedEntry, key []byte) {
	s.ix.apply(connector, e, key)
	if s.touched != nil {
		s.touched[e.canon] = struct{}{}
	}
}

// writeRound produces one record per element of todo and waits until each
// is acknowledged or failed; it returns the failed ones (with their err
// set), or an error if ctx ended the wait or the store was closed.
func (s *KafkaStore) writeRound(ctx context.Context, todo []*kafkaWriteMsg) ([]*kafkaWriteMsg, error) {
	w := &kafkaWrite{remaining: len(todo), done: make(chan struct{})}
	msgs := make([]*sarama.ProducerMessage, len(todo))
	for i, wm := range todo {
		// A new message per round: sarama keeps per-send state in it.
		wm.w, wm.err = w, nil
		msgs[i] = s.message(wm)
	}
	if err := s.feed(ctx, msgs); err != nil {
		return nil, err
	}
	// The producer flushes on Close too, so every record handed to it is
	// acknowledged or fails, and done is closed, whatever happens.
	select {
	case <-w.done:
		return w.failed, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (they may still be stored)", ctx.Err())
	}
}

// feed hands msgs to the producer. It holds inputMu (read) so that Close
// does not close the producer meanwhile.
func (s *KafkaStore) feed(ctx context.Context, msgs []*sarama.ProducerMessage) error {
	s.inputMu.RLock()
	defer s.inputMu.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	for i, m := range msgs {
		select {
		case s.producer.Input() <- m:
		case <-ctx.Done():
			return fmt.Errorf("%w (%d were handed to the producer and may be stored)", ctx.Err(), i)
		case <-s.closing:
			return fmt.Errorf("%w (%d were handed to the producer and may be stored)", ErrClosed, i)
		}
	}
	return nil
}

// Close flushes records already handed to the producer, stops the
// producer and the client, and waits for the store's goroutines. Later calls
// fail with ErrClosed; closing twice returns the first result.
func (s *KafkaStore) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		s.lifeCancel() // ends a Refresh in progress
		s.refreshMu.Lock()
		//lint:ignore SA2001 a barrier: Lock waited until no Refresh is reading with the client
		s.refreshMu.Unlock()
		s.inputMu.Lock()
		//lint:ignore SA2001 a barrier: Lock waited until no Write is feeding the producer any more
		s.inputMu.Unlock()
		s.producer.AsyncClose()
		<-s.dispatchDone
		if err := s.client.Close(); err != nil {
			s.closeErr = fmt.Errorf("offsets: closing offsets topic %q client: %w", s.topic, err)
		}
	})
	return s.closeErr
}

// Topic returns the offsets topic's name.
func (s *KafkaStore) Topic() string { return s.topic }
