package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/jackson"
)

// Keys of the status topic (Kafka Connect's KafkaStatusBackingStore).
const (
	connectorStatusPrefix = "status-connector-"
	taskStatusPrefix      = "status-task-"
	topicStatusPrefix     = "status-topic-"
	statusTopicProp       = "status.storage.topic"
	statusTopicPurpose    = "connector and task statuses"
)

// States of a connector or task (Kafka Connect's AbstractStatus.State).
const (
	StateUnassigned = "UNASSIGNED"
	StateRunning    = "RUNNING"
	StatePaused     = "PAUSED"
	StateFailed     = "FAILED"
	StateRestarting = "RESTARTING"
	StateStopped    = "STOPPED"
	StateDestroyed  = "DESTROYED"
)

// Status is a connector's or task's status record.
type Status struct {
	// State is one of the State constants.
	State string
	// Trace is the failure's stack trace; "" is written as null.
	Trace string
	// WorkerID is the writer's host:port (rest.advertised.host.name:port).
	WorkerID string
	// Generation is the group generation the writer was in.
	Generation int32
	// Version is the connector or task plugin version; "" is written as
	// null (Kafka Connect writes null for UNASSIGNED).
	Version string
}

// StatusLog reads and writes Kafka Connect's status topic
// (KafkaStatusBackingStore). Open it with [OpenStatusLog], run
// [StatusLog.Run] on a goroutine, Close it after Run returned. Every
// method is safe from any goroutine.
type StatusLog struct {
	topic    string
	log      *slog.Logger
	client   sarama.Client
	producer sarama.AsyncProducer
	reader   *logReader

	mu         sync.Mutex
	connectors map[string]Status
	tasks      map[string]map[int]Status
	seq        map[string]uint64 // latest write per key
	queue      []*statusWrite    // not yet handed to the producer
	pending    int               // queued, in flight or waiting to retry
	idle       chan struct{}     // closed (and replaced) when pending drops to 0
	closed     bool

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// topics are the active topics by connector, topicResets the topic
	// tombstones read by connector (statustopics.go); nil until one is
	// read. Guarded by mu.
	topics      map[string][]string
	topicResets map[string]uint64
}

// statusWrite is one status record on its way to Kafka.
type statusWrite struct {
	key      string
	value    []byte // nil: tombstone
	seq      uint64
	attempts int
}

const (
	statusRetryBackoff = 200 * time.Millisecond
	statusMaxAttempts  = 10
)

// OpenStatusLog ensures cfg.Topic exists (created compacted with
// cfg.Partitions, default DefaultStatusPartitions; an existing one must be
// compacted) and reads it to the end. ctx bounds the setup only.
func OpenStatusLog(ctx context.Context, cfg LogConfig) (*StatusLog, error) {
	client, log, err := cfg.connect("status", "sluice-status-log")
	if err != nil {
		return nil, err
	}
	l := &StatusLog{
		topic:      cfg.Topic,
		log:        log,
		client:     client,
		connectors: map[string]Status{},
		tasks:      map[string]map[int]Status{},
		seq:        map[string]uint64{},
		idle:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	fail := func(err error) (*StatusLog, error) {
		if l.reader != nil {
			l.reader.close()
		}
		_ = client.Close()
		return nil, fmt.Errorf("cluster: status topic %q: %w", cfg.Topic, err)
	}
	parts := cfg.Partitions
	if parts == 0 {
		parts = DefaultStatusPartitions
	}
	spec := TopicSpec{Name: cfg.Topic, Property: statusTopicProp, Purpose: statusTopicPurpose,
		Partitions: parts, ReplicationFactor: cfg.ReplicationFactor}
	if _, err := EnsureTopic(ctx, client, spec, log); err != nil {
		return fail(err)
	}
	if l.reader, err = newLogReader(ctx, client, cfg.Topic, log, l.applyBatch); err != nil {
		return fail(err)
	}
	if err := l.reader.readToEnd(ctx); err != nil {
		return fail(err)
	}
	if l.producer, err = sarama.NewAsyncProducerFromClient(client); err != nil {
		return fail(fmt.Errorf("creating producer: %w", err))
	}
	go l.dispatch()
	return l, nil
}

// Run tails the status topic until ctx is done or the log is closed, and
// returns nil then. Call it once.
func (l *StatusLog) Run(ctx context.Context) error {
	return l.reader.run(ctx, nil)
}

// ReadToEnd returns once every status written before the call has been
// read into the view (Connector, Tasks).
func (l *StatusLog) ReadToEnd(ctx context.Context) error {
	if err := l.reader.readToEnd(ctx); err != nil {
		return fmt.Errorf("cluster: status topic: %w", err)
	}
	return nil
}

// Connector returns the connector's status as last read from the topic.
func (l *StatusLog) Connector(name string) (Status, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.connectors[name]
	return s, ok
}

// Tasks returns a copy of the statuses of the connector's tasks as last
// read from the topic, by task id.
func (l *StatusLog) Tasks(name string) map[int]Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int]Status, len(l.tasks[name]))
	for id, s := range l.tasks[name] {
		out[id] = s
	}
	return out
}

// Connectors returns the names of connectors with a connector or task
// status.
func (l *StatusLog) Connectors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for name := range l.connectors {
		seen[name] = true
		out = append(out, name)
	}
	for name := range l.tasks {
		if !seen[name] {
			out = append(out, name)
		}
	}
	return out
}

// PutConnector writes status-connector-<name>. It does not wait: the
// write is sent in the background and retried; failures are logged. A
// State of StateDestroyed writes a tombstone (as Kafka Connect).
func (l *StatusLog) PutConnector(name string, s Status) {
	l.put(connectorStatusPrefix+name, s, nil)
}

// PutTask writes status-task-<name>-<task>, like PutConnector.
func (l *StatusLog) PutTask(name string, task int, s Status) {
	l.put(taskKey(name, task), s, nil)
}

// PutConnectorSafe is PutConnector unless the status read last for the
// connector comes from another worker with a newer generation (Kafka
// Connect's putSafe, used for UNASSIGNED and FAILED): then it writes
// nothing.
func (l *StatusLog) PutConnectorSafe(name string, s Status) {
	l.put(connectorStatusPrefix+name, s, func() (Status, bool) {
		c, ok := l.connectors[name]
		return c, ok
	})
}

// PutTaskSafe is PutTask with PutConnectorSafe's rule.
func (l *StatusLog) PutTaskSafe(name string, task int, s Status) {
	l.put(taskKey(name, task), s, func() (Status, bool) {
		c, ok := l.tasks[name][task]
		return c, ok
	})
}

// DeleteConnector writes the tombstones of the connector's status and of
// every task status read for it (Kafka Connect writes DESTROYED, i.e. a
// tombstone, for each on deletion).
func (l *StatusLog) DeleteConnector(name string) {
	l.mu.Lock()
	ids := make([]int, 0, len(l.tasks[name]))
	for id := range l.tasks[name] {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	for _, id := range ids {
		l.put(taskKey(name, id), Status{State: StateDestroyed}, nil)
	}
	l.put(connectorStatusPrefix+name, Status{State: StateDestroyed}, nil)
}

func taskKey(name string, task int) string {
	return taskStatusPrefix + name + "-" + strconv.Itoa(task)
}

// canWriteSafely is KafkaStatusBackingStore.CacheEntry.canWriteSafely.
func canWriteSafely(cached Status, ok bool, s Status) bool {
	return !ok || cached.WorkerID == s.WorkerID || cached.Generation <= s.Generation
}

func (l *StatusLog) put(key string, s Status, cached func() (Status, bool)) {
	var value []byte
	if s.State != StateDestroyed {
		value = encodeStatus(s)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.log.Warn("cluster: status log closed; dropping status", "topic", l.topic, "key", key, "state", s.State)
		return
	}
	if cached != nil {
		if c, ok := cached(); !canWriteSafely(c, ok, s) {
			return
		}
	}
	l.seq[key]++
	l.queue = append(l.queue, &statusWrite{key: key, value: value, seq: l.seq[key]})
	l.pending++
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Flush returns once every status written before the call (and any
// written meanwhile) was acknowledged or finally failed, or with ctx's
// error.
func (l *StatusLog) Flush(ctx context.Context) error {
	for {
		l.mu.Lock()
		pending, idle := l.pending, l.idle
		l.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("cluster: status topic %q: flushing %d writes: %w", l.topic, pending, ctx.Err())
		case <-l.done:
			return fmt.Errorf("cluster: status topic %q: %w", l.topic, errClosed)
		}
	}
}

// finishedLocked counts a write as done.
func (l *StatusLog) finishedLocked() {
	l.pending--
	if l.pending == 0 {
		close(l.idle)
		l.idle = make(chan struct{})
	}
}

// dispatch feeds the producer and handles its results until Close.
func (l *StatusLog) dispatch() {
	defer close(l.done)
	var (
		next    *statusWrite
		retries []*statusWrite
		timer   = time.NewTimer(time.Hour)
	)
	timer.Stop()
	for {
		if next == nil {
			l.mu.Lock()
			if len(l.queue) > 0 {
				next, l.queue = l.queue[0], l.queue[1:]
			}
			l.mu.Unlock()
		}
		var in chan<- *sarama.ProducerMessage
		var msg *sarama.ProducerMessage
		if next != nil {
			in = l.producer.Input()
			msg = &sarama.ProducerMessage{Topic: l.topic, Key: sarama.StringEncoder(next.key), Metadata: next}
			if next.value != nil {
				msg.Value = sarama.ByteEncoder(next.value)
			}
		}
		select {
		case in <- msg:
			next = nil
		case <-l.wake:
		case <-l.producer.Successes():
			l.mu.Lock()
			l.finishedLocked()
			l.mu.Unlock()
		case pe := <-l.producer.Errors():
			w := pe.Msg.Metadata.(*statusWrite)
			w.attempts++
			l.mu.Lock()
			latest := l.seq[w.key] == w.seq
			if !latest || w.attempts >= statusMaxAttempts {
				if latest {
					l.log.Error("cluster: writing status failed; giving up", "topic", l.topic, "key", w.key,
						"attempts", w.attempts, "error", pe.Err)
				}
				l.finishedLocked()
				l.mu.Unlock()
				continue
			}
			l.mu.Unlock()
			l.log.Warn("cluster: writing status failed; retrying", "topic", l.topic, "key", w.key, "error", pe.Err)
			if len(retries) == 0 {
				timer.Reset(statusRetryBackoff)
			}
			retries = append(retries, w)
		case <-timer.C:
			l.mu.Lock()
			l.queue = append(retries, l.queue...)
			l.mu.Unlock()
			retries = nil
		case <-l.stop:
			timer.Stop()
			l.producer.AsyncClose()
			for range l.producer.Successes() {
			}
			for range l.producer.Errors() {
			}
			return
		}
	}
}

// applyBatch applies records read from the topic (the reader's pump).
func (l *StatusLog) applyBatch(batch []*sarama.ConsumerMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range batch {
		if err := l.applyLocked(string(m.Key), m.Value); err != nil {
			l.log.Warn("cluster: skipping status-topic record", "topic", l.topic, "partition", m.Partition,
				"offset", m.Offset, "key", string(m.Key), "reason", err)
		}
	}
}

func (l *StatusLog) applyLocked(key string, value []byte) error {
	switch {
	case strings.HasPrefix(key, connectorStatusPrefix):
		name := key[len(connectorStatusPrefix):]
		if name == "" {
			return errors.New("invalid connector status key")
		}
		if value == nil {
			delete(l.connectors, name)
			return nil
		}
		s, err := parseStatus(value)
		if err != nil {
			return err
		}
		l.connectors[name] = s
	case strings.HasPrefix(key, taskStatusPrefix):
		name, id, ok := parseTaskKey(key[len(taskStatusPrefix):])
		if !ok {
			return errors.New("invalid task status key")
		}
		if value == nil {
			delete(l.tasks[name], id)
			if len(l.tasks[name]) == 0 {
				delete(l.tasks, name)
			}
			return nil
		}
		s, err := parseStatus(value)
		if err != nil {
			return err
		}
		cached, had := l.tasks[name][id]
		// KafkaStatusBackingStore.readTaskStatus: an UNASSIGNED status
		// does not replace a RUNNING one of the same or a newer
		// generation (a stale write of a worker that lost the task).
		if s.State == StateUnassigned && had && cached.State == StateRunning && cached.Generation >= s.Generation {
			return nil
		}
		if l.tasks[name] == nil {
			l.tasks[name] = map[int]Status{}
		}
		l.tasks[name][id] = s
	case strings.HasPrefix(key, topicStatusPrefix):
		// Active topics (KIP-558): statustopics.go.
		return l.applyTopicLocked(key[len(topicStatusPrefix):], value)
	default:
		return errors.New("unknown key (Kafka Connect discards it too)")
	}
	return nil
}

// parseStatus reads a status value (STATUS_SCHEMA_V0).
func parseStatus(value []byte) (Status, error) {
	obj, err := parseObject(value)
	if err != nil {
		return Status{}, err
	}
	var s Status
	var ok bool
	if s.State, ok = obj["state"].(string); !ok {
		return Status{}, errors.New(`"state" is not a string`)
	}
	switch s.State {
	case StateUnassigned, StateRunning, StatePaused, StateFailed, StateRestarting, StateStopped, StateDestroyed:
	default:
		return Status{}, fmt.Errorf("invalid state %q", s.State)
	}
	if s.WorkerID, ok = obj["worker_id"].(string); !ok {
		return Status{}, errors.New(`"worker_id" is not a string`)
	}
	g, err := intField(obj, "generation")
	if err != nil {
		return Status{}, err
	}
	s.Generation = int32(g)
	if v, present := obj["trace"]; present && v != nil {
		if s.Trace, ok = v.(string); !ok {
			return Status{}, errors.New(`"trace" is not a string`)
		}
	}
	if v, present := obj["version"]; present && v != nil {
		if s.Version, ok = v.(string); !ok {
			return Status{}, errors.New(`"version" is not a string`)
		}
	}
	return s, nil
}

// encodeStatus writes STATUS_SCHEMA_V0 as JsonConverter does.
func encodeStatus(s Status) []byte {
	b := []byte(`{"state":`)
	b = jackson.AppendString(b, s.State)
	b = append(b, `,"trace":`...)
	b = appendNullable(b, s.Trace)
	b = append(b, `,"worker_id":`...)
	b = jackson.AppendString(b, s.WorkerID)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, int64(s.Generation), 10)
	b = append(b, `,"version":`...)
	b = appendNullable(b, s.Version)
	return append(b, '}')
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jackson.AppendString(b, s)
}

// Close stops the reader, hands the writes already given to the producer
// to Kafka (writes still queued are dropped: Flush first to keep them) and
// closes the client. Run returns nil once Close is called. Safe to call
// more than once.
func (l *StatusLog) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.stop)
		<-l.done
		l.reader.close()
		err = l.client.Close()
	})
	return err
}
