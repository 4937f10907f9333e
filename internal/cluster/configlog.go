package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/jackson"
)

// Keys of the config topic (Kafka Connect's KafkaConfigBackingStore).
const (
	connectorPrefix    = "connector-"
	taskPrefix         = "task-"
	commitPrefix       = "commit-"
	targetStatePrefix  = "target-state-"
	taskCountPrefix    = "tasks-fencing-"
	sessionKeyKey      = "session-key"
	restartPrefix      = "restart-connector-"
	loggerLevelPrefix  = "logger-cluster-"
	configTopicProp    = "config.storage.topic"
	configTopicPurpose = "connector configurations"
)

// Target states of a connector (Kafka Connect's TargetState).
const (
	TargetStarted = "STARTED"
	TargetPaused  = "PAUSED"
	TargetStopped = "STOPPED"
)

// ConfigSnapshot is the state of the config topic up to Offset. It is a
// deep copy: the receiver may keep and modify it.
type ConfigSnapshot struct {
	// Offset is Kafka Connect's config offset (ClusterConfigState.offset):
	// the offset of the last record read + 1, skipped records included;
	// -1 while no record was read (an empty topic). Members compare it
	// with each other and with Assignment.ConfigOffset.
	Offset int64
	// Connectors holds every connector with a config.
	Connectors map[string]ConnectorConfig
	// SessionKey is the latest session-key record, nil if none.
	SessionKey *SessionKey
	// LoggerLevels are the logger-cluster-<namespace> records: namespace →
	// level.
	LoggerLevels map[string]string
}

// ConnectorConfig is one connector in a [ConfigSnapshot].
type ConnectorConfig struct {
	// Config is the connector's configuration (connector-<c>).
	Config map[string]string
	// TaskConfigs are the task configs of the last complete commit
	// (commit-<c> with task-<c>-0..n-1 read before it); nil before any.
	TaskConfigs []map[string]string
	// TargetState is STARTED (no record), PAUSED or STOPPED.
	TargetState string
	// Inconsistent is set when the last commit-<c> found fewer task
	// records than its count: TaskConfigs are then the previous ones, and
	// Kafka Connect's snapshot reports no tasks at all for the connector
	// until the next complete commit: its tasks must be regenerated.
	Inconsistent bool
	// TaskCount is the tasks-fencing-<c> record's count (exactly-once
	// sources), -1 if none.
	TaskCount int
}

// SessionKey is the config topic's session-key record (KIP-507).
type SessionKey struct {
	// Key is the base64 text of the key, as stored.
	Key string
	// Algorithm is the MAC algorithm, e.g. HmacSHA256.
	Algorithm string
	// Created is the creation time in Unix milliseconds.
	Created int64
}

// RestartRequest is a restart-connector-<c> record.
type RestartRequest struct {
	Connector    string
	IncludeTasks bool
	OnlyFailed   bool
	// Offset is the record's offset in the config topic.
	Offset int64
}

// ConfigLog reads and writes Kafka Connect's config topic
// (KafkaConfigBackingStore's formats and reading rules). Open it with
// [OpenConfigLog], set the listener, run [ConfigLog.Run] on a goroutine,
// and Close it after Run returned. Snapshot, Offset, ReadToEnd and the Put
// methods are safe from any goroutine.
type ConfigLog struct {
	topic    string
	log      *slog.Logger
	client   sarama.Client
	producer sarama.SyncProducer
	reader   *logReader

	mu       sync.Mutex
	st       configState
	started  bool // the initial read to the end is done
	restarts []RestartRequest
	listener func(ConfigSnapshot, []RestartRequest)

	closeOnce sync.Once
}

// configState is the reader's state (KafkaConfigBackingStore's maps).
type configState struct {
	offset       int64
	connectors   map[string]map[string]string
	targets      map[string]string
	tasks        map[string][]map[string]string       // committed
	deferred     map[string]map[int]map[string]string // task records awaiting a commit
	inconsistent map[string]bool
	taskCounts   map[string]int // tasks-fencing-
	sessionKey   *SessionKey
	loggers      map[string]string
}

// OpenConfigLog ensures cfg.Topic exists (created with one partition and
// cleanup.policy=compact; an existing topic must be compacted and have one
// partition, else the error is Kafka Connect's text) and reads it to the
// end. ctx bounds the setup only. Errors name the topic.
func OpenConfigLog(ctx context.Context, cfg LogConfig) (*ConfigLog, error) {
	client, log, err := cfg.connect("config", "sluice-config-log")
	if err != nil {
		return nil, err
	}
	l := &ConfigLog{
		topic:  cfg.Topic,
		log:    log,
		client: client,
		st: configState{
			offset:       -1,
			connectors:   map[string]map[string]string{},
			targets:      map[string]string{},
			tasks:        map[string][]map[string]string{},
			deferred:     map[string]map[int]map[string]string{},
			inconsistent: map[string]bool{},
			taskCounts:   map[string]int{},
			loggers:      map[string]string{},
		},
	}
	fail := func(err error) (*ConfigLog, error) {
		if l.reader != nil {
			l.reader.close()
		}
		if l.producer != nil {
			_ = l.producer.Close()
		}
		_ = client.Close()
		return nil, fmt.Errorf("cluster: config topic %q: %w", cfg.Topic, err)
	}
	spec := TopicSpec{Name: cfg.Topic, Property: configTopicProp, Purpose: configTopicPurpose,
		SinglePartition: true, ReplicationFactor: cfg.ReplicationFactor}
	if _, err := EnsureTopic(ctx, client, spec, log); err != nil {
		return fail(err)
	}
	if l.reader, err = newLogReader(ctx, client, cfg.Topic, log, l.applyBatch); err != nil {
		return fail(err)
	}
	if err := l.reader.readToEnd(ctx); err != nil {
		return fail(err)
	}
	if l.producer, err = sarama.NewSyncProducerFromClient(client); err != nil {
		return fail(fmt.Errorf("creating producer: %w", err))
	}
	l.mu.Lock()
	l.started = true
	l.mu.Unlock()
	return l, nil
}

// SetListener sets the function Run calls with the new snapshot and the
// restart requests read since the last call, after each batch of records
// (never concurrently with itself, on Run's goroutine), and once when Run
// starts. Restart requests are only those read after OpenConfigLog
// returned (Kafka Connect acts on them only once started). The listener
// must not call ReadToEnd (it would wait for itself); the Put methods are
// fine. Call it before Run.
func (l *ConfigLog) SetListener(f func(ConfigSnapshot, []RestartRequest)) {
	l.mu.Lock()
	l.listener = f
	l.mu.Unlock()
}

// Run tails the config topic until ctx is done or the log is closed,
// applying records and calling the listener; it returns nil then. Call it
// once.
func (l *ConfigLog) Run(ctx context.Context) error {
	return l.reader.run(ctx, l.notify)
}

func (l *ConfigLog) notify() {
	l.mu.Lock()
	f, restarts := l.listener, l.restarts
	l.restarts = nil
	snap := l.snapshotLocked()
	l.mu.Unlock()
	if f != nil {
		f(snap, restarts)
	}
}

// Snapshot returns a deep copy of the state read so far.
func (l *ConfigLog) Snapshot() ConfigSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snapshotLocked()
}

// Offset returns the snapshot's offset (see ConfigSnapshot.Offset).
func (l *ConfigLog) Offset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.offset
}

// ReadToEnd returns the config offset once every record written before
// the call (by anyone) has been applied: read-your-writes after a Put.
// Not from the listener.
func (l *ConfigLog) ReadToEnd(ctx context.Context) (int64, error) {
	if err := l.reader.readToEnd(ctx); err != nil {
		return 0, fmt.Errorf("cluster: config topic: %w", err)
	}
	return l.Offset(), nil
}

func (l *ConfigLog) snapshotLocked() ConfigSnapshot {
	s := ConfigSnapshot{
		Offset:       l.st.offset,
		Connectors:   make(map[string]ConnectorConfig, len(l.st.connectors)),
		LoggerLevels: maps.Clone(l.st.loggers),
	}
	if k := l.st.sessionKey; k != nil {
		c := *k
		s.SessionKey = &c
	}
	for name, cfg := range l.st.connectors {
		cc := ConnectorConfig{
			Config:       maps.Clone(cfg),
			TargetState:  TargetStarted,
			Inconsistent: l.st.inconsistent[name],
			TaskCount:    -1,
		}
		if t, ok := l.st.targets[name]; ok {
			cc.TargetState = t
		}
		if n, ok := l.st.taskCounts[name]; ok {
			cc.TaskCount = n
		}
		if tasks, ok := l.st.tasks[name]; ok {
			cc.TaskConfigs = make([]map[string]string, len(tasks))
			for i, t := range tasks {
				cc.TaskConfigs[i] = maps.Clone(t)
			}
		}
		s.Connectors[name] = cc
	}
	return s
}

// applyBatch applies records read from the topic (the reader's pump).
func (l *ConfigLog) applyBatch(batch []*sarama.ConsumerMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range batch {
		l.st.offset = m.Offset + 1
		if err := l.applyLocked(string(m.Key), m.Value, m.Offset); err != nil {
			l.log.Warn("cluster: skipping config-topic record", "topic", l.topic, "offset", m.Offset,
				"key", string(m.Key), "reason", err)
		}
	}
}

// applyLocked applies one record with KafkaConfigBackingStore's rules.
func (l *ConfigLog) applyLocked(key string, value []byte, offset int64) error {
	st := &l.st
	switch {
	case strings.HasPrefix(key, targetStatePrefix):
		name := key[len(targetStatePrefix):]
		if value == nil {
			delete(st.targets, name)
			return nil
		}
		state, err := parseTargetState(value)
		if err != nil {
			return err
		}
		st.targets[name] = state
	case strings.HasPrefix(key, connectorPrefix):
		name := key[len(connectorPrefix):]
		if value == nil {
			l.removeConnectorLocked(name)
			return nil
		}
		props, err := parseProperties(value)
		if err != nil {
			return err
		}
		st.connectors[name] = props
	case strings.HasPrefix(key, taskPrefix):
		name, id, ok := parseTaskKey(key[len(taskPrefix):])
		if !ok {
			return errors.New("the key does not parse as task-<connector>-<task>")
		}
		if value == nil {
			return errors.New("task config is unexpectedly null")
		}
		props, err := parseProperties(value)
		if err != nil {
			return err
		}
		if st.deferred[name] == nil {
			st.deferred[name] = map[int]map[string]string{}
		}
		st.deferred[name][id] = props
	case strings.HasPrefix(key, commitPrefix):
		return l.applyCommitLocked(key[len(commitPrefix):], value)
	case strings.HasPrefix(key, restartPrefix):
		name := key[len(restartPrefix):]
		if value == nil {
			return errors.New("restart request is unexpectedly null")
		}
		req, err := parseRestart(value)
		if err != nil {
			return err
		}
		req.Connector, req.Offset = name, offset
		if l.started {
			l.restarts = append(l.restarts, req)
		}
	case strings.HasPrefix(key, taskCountPrefix):
		name := key[len(taskCountPrefix):]
		if value == nil {
			return errors.New("task count record is unexpectedly null")
		}
		obj, err := parseObject(value)
		if err != nil {
			return err
		}
		n, err := intField(obj, "task-count")
		if err != nil {
			return err
		}
		st.taskCounts[name] = n
	case key == sessionKeyKey:
		if value == nil {
			return errors.New("session key is unexpectedly null")
		}
		k, err := parseSessionKey(value)
		if err != nil {
			return err
		}
		st.sessionKey = k
	case strings.HasPrefix(key, loggerLevelPrefix):
		ns := key[len(loggerLevelPrefix):]
		if value == nil {
			delete(st.loggers, ns)
			return nil
		}
		obj, err := parseObject(value)
		if err != nil {
			return err
		}
		level, ok := obj["level"].(string)
		if !ok {
			return errors.New(`"level" is not a string`)
		}
		st.loggers[ns] = level
	default:
		return errors.New("unknown key (Kafka Connect discards it too)")
	}
	return nil
}

// removeConnectorLocked is KafkaConfigBackingStore.processConnectorRemoval:
// the target state is kept (its own tombstone removes it).
func (l *ConfigLog) removeConnectorLocked(name string) {
	delete(l.st.connectors, name)
	delete(l.st.tasks, name)
	delete(l.st.deferred, name)
	delete(l.st.inconsistent, name)
}

// applyCommitLocked applies commit-<name>: the deferred task records are
// applied together if ids 0..n-1 are all present, else the connector is
// inconsistent; the deferred records are dropped either way.
func (l *ConfigLog) applyCommitLocked(name string, value []byte) error {
	st := &l.st
	if _, ok := st.connectors[name]; !ok {
		// Deleted earlier; compaction left the commit behind.
		l.removeConnectorLocked(name)
		return nil
	}
	if value == nil {
		return errors.New("tasks commit is unexpectedly null")
	}
	obj, err := parseObject(value)
	if err != nil {
		return err
	}
	n, err := intField(obj, "tasks")
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("negative task count %d", n)
	}
	deferred := st.deferred[name]
	delete(st.deferred, name)
	for i := range n {
		if _, ok := deferred[i]; !ok {
			st.inconsistent[name] = true
			return fmt.Errorf("connector %q: commit of %d tasks found task %d's config missing; "+
				"the connector is inconsistent until its tasks are reconfigured", name, n, i)
		}
	}
	tasks := make([]map[string]string, n)
	for i := range n {
		tasks[i] = deferred[i]
	}
	st.tasks[name] = tasks
	delete(st.inconsistent, name)
	return nil
}

// parseTaskKey splits "<connector>-<n>" at its last '-'.
func parseTaskKey(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return "", 0, false
	}
	id, err := strconv.Atoi(s[i+1:])
	if err != nil || id < 0 {
		return "", 0, false
	}
	return s[:i], id, true
}

// parseObject decodes a JSON object value, numbers kept exact.
func parseObject(value []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("value is not JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("value is a %T, not a JSON object", v)
	}
	return obj, nil
}

// intField reads an integral number field (JsonConverter reads it as a
// Long; Kafka Connect takes its int value).
func intField(obj map[string]any, name string) (int, error) {
	n, ok := obj[name].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%q is not a number", name)
	}
	i, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", name, err)
	}
	return int(i), nil
}

// parseProperties reads {"properties":{...}}; null property values are
// dropped (a Go map holds no null).
func parseProperties(value []byte) (map[string]string, error) {
	obj, err := parseObject(value)
	if err != nil {
		return nil, err
	}
	raw, ok := obj["properties"].(map[string]any)
	if !ok {
		return nil, errors.New(`"properties" is not an object`)
	}
	props := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			props[k] = v
		case nil:
		default:
			return nil, fmt.Errorf("property %q is a %T, not a string", k, v)
		}
	}
	return props, nil
}

// parseTargetState reads a V0 {"state":S} or V1 {"state":S,"state.v2":S2}
// record; state.v2 wins when present.
func parseTargetState(value []byte) (string, error) {
	obj, err := parseObject(value)
	if err != nil {
		return "", err
	}
	state, ok := obj["state.v2"].(string)
	if !ok {
		if v2, present := obj["state.v2"]; present && v2 != nil {
			return "", errors.New(`"state.v2" is not a string`)
		}
		if state, ok = obj["state"].(string); !ok {
			return "", errors.New(`"state" is not a string`)
		}
	}
	switch state {
	case TargetStarted, TargetPaused, TargetStopped:
		return state, nil
	}
	return "", fmt.Errorf("invalid target state %q", state)
}

// parseRestart reads {"include-tasks":b,"only-failed":b}; a missing or
// non-boolean field defaults to false (as Kafka Connect, which warns).
func parseRestart(value []byte) (RestartRequest, error) {
	obj, err := parseObject(value)
	if err != nil {
		return RestartRequest{}, err
	}
	inc, _ := obj["include-tasks"].(bool)
	only, _ := obj["only-failed"].(bool)
	return RestartRequest{IncludeTasks: inc, OnlyFailed: only}, nil
}

func parseSessionKey(value []byte) (*SessionKey, error) {
	obj, err := parseObject(value)
	if err != nil {
		return nil, err
	}
	k, ok1 := obj["key"].(string)
	alg, ok2 := obj["algorithm"].(string)
	ts, ok3 := obj["creation-timestamp"].(json.Number)
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New(`session key needs string "key", string "algorithm" and number "creation-timestamp"`)
	}
	created, err := ts.Int64()
	if err != nil {
		return nil, fmt.Errorf(`"creation-timestamp": %w`, err)
	}
	return &SessionKey{Key: k, Algorithm: alg, Created: created}, nil
}

// Record encoders: JsonConverter (schemas.enable=false) bytes, fields in
// schema order.

// encodeProperties writes {"properties":{...}} with keys sorted (Kafka
// Connect writes its Map's iteration order; readers accept any).
func encodeProperties(props map[string]string) []byte {
	b := []byte(`{"properties":{`)
	for i, k := range slices.Sorted(maps.Keys(props)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jackson.AppendString(b, k)
		b = append(b, ':')
		b = jackson.AppendString(b, props[k])
	}
	return append(b, "}}"...)
}

func encodeCommit(n int) []byte {
	return fmt.Appendf(nil, `{"tasks":%d}`, n)
}

func encodeTaskCount(n int) []byte {
	return fmt.Appendf(nil, `{"task-count":%d}`, n)
}

// encodeTargetState writes TARGET_STATE_V1: STOPPED is "state":"PAUSED"
// for workers that predate it, "state.v2" is the real state.
func encodeTargetState(state string) []byte {
	v0 := state
	if state == TargetStopped {
		v0 = TargetPaused
	}
	b := []byte(`{"state":`)
	b = jackson.AppendString(b, v0)
	b = append(b, `,"state.v2":`...)
	b = jackson.AppendString(b, state)
	return append(b, '}')
}

func encodeRestart(includeTasks, onlyFailed bool) []byte {
	return fmt.Appendf(nil, `{"include-tasks":%t,"only-failed":%t}`, includeTasks, onlyFailed)
}

func encodeSessionKey(k SessionKey) []byte {
	b := []byte(`{"key":`)
	b = jackson.AppendString(b, k.Key)
	b = append(b, `,"algorithm":`...)
	b = jackson.AppendString(b, k.Algorithm)
	return fmt.Appendf(b, `,"creation-timestamp":%d}`, k.Created)
}

// send writes records in order and returns once Kafka acknowledged all.
func (l *ConfigLog) send(ctx context.Context, what string, kvs ...[2][]byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cluster: config topic %q: %s: %w", l.topic, what, err)
	}
	msgs := make([]*sarama.ProducerMessage, len(kvs))
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = string(kv[0])
		m := &sarama.ProducerMessage{Topic: l.topic, Key: sarama.ByteEncoder(kv[0])}
		if kv[1] != nil {
			m.Value = sarama.ByteEncoder(kv[1])
		}
		msgs[i] = m
	}
	if err := l.producer.SendMessages(msgs); err != nil {
		return fmt.Errorf("cluster: config topic %q: %s: writing %s: %w", l.topic, what, strings.Join(keys, ", "), err)
	}
	return nil
}

// The Put methods write config records and return once Kafka acknowledged
// them (acks=all, idempotent producer). They do not wait for the reader:
// call ReadToEnd to see a write in Snapshot. Errors name the topic and the
// keys.

// PutConnectorConfig writes connector-<name>.
func (l *ConfigLog) PutConnectorConfig(ctx context.Context, name string, config map[string]string) error {
	return l.send(ctx, "putting connector "+strconv.Quote(name),
		[2][]byte{[]byte(connectorPrefix + name), encodeProperties(config)})
}

// PutConnectorConfigWithState writes target-state-<name> and then
// connector-<name>, as Kafka Connect 4.x does when a connector is created
// with an initial state (KIP-980); state "" writes the config only.
func (l *ConfigLog) PutConnectorConfigWithState(ctx context.Context, name string, config map[string]string, state string) error {
	if state == "" {
		return l.PutConnectorConfig(ctx, name, config)
	}
	if err := validTargetState(state); err != nil {
		return fmt.Errorf("cluster: config topic %q: connector %q: %w", l.topic, name, err)
	}
	return l.send(ctx, "putting connector "+strconv.Quote(name)+" with state "+state,
		[2][]byte{[]byte(targetStatePrefix + name), encodeTargetState(state)},
		[2][]byte{[]byte(connectorPrefix + name), encodeProperties(config)})
}

func validTargetState(state string) error {
	switch state {
	case TargetStarted, TargetPaused, TargetStopped:
		return nil
	}
	return fmt.Errorf("invalid target state %q", state)
}

// RemoveConnector writes the tombstones of connector-<name> and
// target-state-<name>, in that order, as Kafka Connect does (task and
// commit records are left to compaction; readers ignore them once the
// connector is gone).
func (l *ConfigLog) RemoveConnector(ctx context.Context, name string) error {
	return l.send(ctx, "removing connector "+strconv.Quote(name),
		[2][]byte{[]byte(connectorPrefix + name), nil},
		[2][]byte{[]byte(targetStatePrefix + name), nil})
}

// PutTaskConfigs writes task-<name>-0..n-1 and then commit-<name>
// {"tasks":n}; readers apply the tasks when they read the commit. Zero
// tasks is a valid commit (Kafka Connect's stop).
func (l *ConfigLog) PutTaskConfigs(ctx context.Context, name string, tasks []map[string]string) error {
	kvs := make([][2][]byte, 0, len(tasks)+1)
	for i, t := range tasks {
		kvs = append(kvs, [2][]byte{fmt.Appendf(nil, "%s%s-%d", taskPrefix, name, i), encodeProperties(t)})
	}
	kvs = append(kvs, [2][]byte{[]byte(commitPrefix + name), encodeCommit(len(tasks))})
	return l.send(ctx, "putting task configs of connector "+strconv.Quote(name), kvs...)
}

// PutTargetState writes target-state-<name> as Kafka Connect's V1 record;
// state is TargetStarted, TargetPaused or TargetStopped.
func (l *ConfigLog) PutTargetState(ctx context.Context, name, state string) error {
	if err := validTargetState(state); err != nil {
		return fmt.Errorf("cluster: config topic %q: target state of connector %q: %w", l.topic, name, err)
	}
	return l.send(ctx, "putting target state of connector "+strconv.Quote(name),
		[2][]byte{[]byte(targetStatePrefix + name), encodeTargetState(state)})
}

// RequestRestart writes restart-connector-<name>.
func (l *ConfigLog) RequestRestart(ctx context.Context, name string, includeTasks, onlyFailed bool) error {
	return l.send(ctx, "requesting restart of connector "+strconv.Quote(name),
		[2][]byte{[]byte(restartPrefix + name), encodeRestart(includeTasks, onlyFailed)})
}

// PutTaskCount writes tasks-fencing-<name> (exactly-once sources: the
// leader writes it after fencing the previous generation's producers).
func (l *ConfigLog) PutTaskCount(ctx context.Context, name string, n int) error {
	return l.send(ctx, "putting task count of connector "+strconv.Quote(name),
		[2][]byte{[]byte(taskCountPrefix + name), encodeTaskCount(n)})
}

// PutLoggerLevel writes logger-cluster-<namespace> {"level":level}, Kafka
// Connect's cluster-scope logger level (KIP-976).
func (l *ConfigLog) PutLoggerLevel(ctx context.Context, namespace, level string) error {
	v := jackson.AppendString([]byte(`{"level":`), level)
	return l.send(ctx, "putting the level of logger "+strconv.Quote(namespace),
		[2][]byte{[]byte(loggerLevelPrefix + namespace), append(v, '}')})
}

// PutSessionKey writes the session-key record.
func (l *ConfigLog) PutSessionKey(ctx context.Context, k SessionKey) error {
	return l.send(ctx, "putting the session key", [2][]byte{[]byte(sessionKeyKey), encodeSessionKey(k)})
}

// Close stops the reader and the producer and closes the Kafka client. Run
// returns nil once Close is called. Safe to call more than once.
func (l *ConfigLog) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.reader.close()
		err = errors.Join(l.producer.Close(), l.client.Close())
	})
	return err
}
