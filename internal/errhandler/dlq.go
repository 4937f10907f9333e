package errhandler

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/redact"
)

// DLQConfig configures a dead-letter queue.
type DLQConfig struct {
	Brokers []string
	// Topic is errors.deadletterqueue.topic.name.
	Topic string
	// ReplicationFactor is used when the topic is created (with one
	// partition); it is lowered to the number of brokers, with a warning. 0
	// means 3.
	ReplicationFactor int16
	// ContextHeaders adds the __connect.errors.* headers.
	ContextHeaders bool
	// Sarama is an optional base client configuration (copied).
	Sarama *sarama.Config
	// Admin is the configuration of the admin client that creates the
	// topic (copied; nil: Sarama's).
	Admin   *sarama.Config
	Metrics *Metrics
	Logger  *slog.Logger
	// ClientID names the producer (Kafka Connect:
	// connector-dlq-producer-<connector>-<task>).
	ClientID string
	// Scrub, when set, masks the connector's secrets in the error text of
	// the context headers (__connect.errors.exception.message and
	// __connect.errors.exception.stacktrace), so that a secret quoted in
	// an error never reaches the queue. Nil takes the scrubber of Logger
	// when a Runner made it (see redact.ScrubberOf): a pipeline a Runner
	// built passes its logger and so needs no more. It runs on the error
	// path only.
	Scrub func(string) string
}

// DLQ writes failed records to a dead-letter queue topic. Report returns
// once Kafka acknowledged the record; while the broker is away (a
// retriable error, see kafkaconf.Retriable) it keeps retrying, as Kafka
// Connect's DLQ producer does with delivery.timeout.ms at its maximum. Safe
// for concurrent use; Close it when the task ends.
type DLQ struct {
	topic          string
	contextHeaders bool
	producer       sarama.SyncProducer
	scrub          func(string) string // nil: nothing to mask
	metrics        *Metrics
	log            *slog.Logger
	// backoff and maxBackoff bound the wait between two attempts of a
	// Report after a retriable error: it starts at backoff and doubles up
	// to maxBackoff.
	backoff, maxBackoff time.Duration

	mu        sync.RWMutex  // Report holds it shared, Close exclusively
	closed    bool          // sarama panics on a send to, or a Close of, a closed producer
	stop      chan struct{} // closed by Close: retrying Reports give up
	closeOnce sync.Once
}

// dlqSaramaRetries is sarama's retry count within one attempt of a Report
// (sarama's default).
const dlqSaramaRetries = 3

// NewDLQ creates the topic if it is missing (one partition) and connects a
// producer (idempotent, acks=all). The wait between two attempts of a
// Report that met a retriable error starts at the producer's
// Producer.Retry.Backoff (100 ms by default) and doubles up to 1 s.
func NewDLQ(ctx context.Context, cfg DLQConfig) (*DLQ, error) {
	if cfg.Topic == "" {
		return nil, stderrors.New("errors.deadletterqueue.topic.name: empty topic name")
	}
	var sc *sarama.Config
	if cfg.Sarama != nil {
		c := *cfg.Sarama
		sc = &c
	} else {
		sc = kafkaconf.NewSaramaConfig("")
	}
	if cfg.ClientID != "" {
		sc.ClientID = cfg.ClientID
	}
	sc.Producer.RequiredAcks = sarama.WaitForAll
	// Report retries a broker outage itself, checking Close between
	// attempts; sarama's own retries must stay short so that one attempt
	// (and so Close) is not held for minutes by a task producer's long
	// retry budget or backoff hook copied in with cfg.Sarama.
	sc.Producer.Retry.Max = dlqSaramaRetries
	sc.Producer.Retry.BackoffFunc = nil
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	if cfg.Metrics == nil {
		cfg.Metrics = new(Metrics)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Scrub == nil {
		cfg.Scrub = redact.ScrubberOf(cfg.Logger)
	}
	rf := cfg.ReplicationFactor
	if rf == 0 {
		rf = sluiceerrors.DefaultDLQReplicationFactor
	}
	ac := sc
	if cfg.Admin != nil {
		c := *cfg.Admin
		ac = &c
	}
	if err := ensureDLQTopic(ctx, cfg.Brokers, ac, cfg.Topic, rf, cfg.Logger); err != nil {
		return nil, err
	}
	p, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("dead-letter queue %s: creating producer: %w", cfg.Topic, err)
	}
	backoff := sc.Producer.Retry.Backoff
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	return &DLQ{
		topic: cfg.Topic, contextHeaders: cfg.ContextHeaders, producer: p, scrub: cfg.Scrub, metrics: cfg.Metrics,
		log:     cfg.Logger.With("logger", "org.apache.kafka.connect.runtime.errors.DeadLetterQueueReporter", "topic", cfg.Topic),
		backoff: backoff, maxBackoff: max(backoff, kafkaconf.RetryBackoffMax),
		stop: make(chan struct{}),
	}, nil
}

func ensureDLQTopic(ctx context.Context, brokers []string, sc *sarama.Config, topic string, rf int16, log *slog.Logger) error {
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return fmt.Errorf("dead-letter queue %s: %w", topic, err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("dead-letter queue %s: %w", topic, err)
	}
	md, err := admin.DescribeTopics([]string{topic})
	if err == nil && len(md) == 1 && md[0].Err == sarama.ErrNoError {
		return nil
	}
	if n := int16(len(client.Brokers())); rf > n && n > 0 {
		log.Warn("lowering the dead-letter queue topic's replication factor to the cluster size",
			"topic", topic, "errors.deadletterqueue.topic.replication.factor", rf, "brokers", n)
		rf = n
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: rf}, false)
	if err != nil && !stderrors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("dead-letter queue: creating topic %s: %w", topic, err)
	}
	return ctx.Err()
}

// Topic returns the dead-letter queue topic.
func (d *DLQ) Topic() string { return d.topic }

// Report writes f's record to the dead-letter queue: the raw bytes when f.Raw
// is set (for sinks, exactly the consumed key, value, headers and
// timestamp), else a JSON description of the record; plus the context
// headers when enabled, with the connector's secrets masked in their error
// text (see DLQConfig.Scrub). It returns once Kafka acknowledged the record.
//
// A retriable error (the broker is down or unreachable, a leader change, a
// request timeout, not enough replicas: kafkaconf.Retriable) is not a
// failure: Report logs it and sends the record again, waiting between
// attempts (backoff doubling up to 1 s), until it is acknowledged, ctx is
// done or the queue is closed. Reports made one after the other by one
// caller reach the queue in that order. Only a non-retriable error (record
// too large, authorization, invalid record) fails at once. An error means
// the record is not in the queue; it names the queue, and wraps ctx's
// error (and the last broker error) when ctx ended the retries.
func (d *DLQ) Report(ctx context.Context, connector string, task int, f *Failure) error {
	var key, value sarama.Encoder
	var ts time.Time
	var headers []sarama.RecordHeader
	if r := f.Raw; r != nil {
		if r.Key != nil {
			key = sarama.ByteEncoder(r.Key)
		}
		if r.Value != nil {
			value = sarama.ByteEncoder(r.Value)
		}
		ts = r.Timestamp
		for _, h := range r.Headers {
			headers = append(headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
		}
	} else if f.Record != nil {
		value = sarama.ByteEncoder(describe(f.Record))
		ts = f.Record.Timestamp
	}
	if d.contextHeaders {
		headers = append(headers, scrubHeaders(ContextHeaders(connector, task, f), d.scrub)...)
	}
	d.metrics.DLQProduceRequests.Add(1)
	if err := ctx.Err(); err != nil {
		d.metrics.DLQProduceFailures.Add(1)
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	wait := d.backoff
	for attempt := 1; ; attempt++ {
		if d.closed {
			d.metrics.DLQProduceFailures.Add(1)
			return fmt.Errorf("writing to dead-letter queue %s: %w", d.topic, sarama.ErrClosedClient)
		}
		// A new message per attempt: sarama keeps per-send state in it.
		msg := &sarama.ProducerMessage{Topic: d.topic, Key: key, Value: value, Timestamp: ts, Headers: headers}
		_, _, err := d.producer.SendMessage(msg)
		if err == nil {
			if attempt > 1 {
				d.log.Info("dead-letter queue record written after retrying", "connector", connector, "task", task, "attempts", attempt)
			}
			return nil
		}
		if !kafkaconf.Retriable(err) {
			d.metrics.DLQProduceFailures.Add(1)
			return fmt.Errorf("writing to dead-letter queue %s: %w", d.topic, err)
		}
		if attempt == 1 || attempt%10 == 0 {
			d.log.Warn("dead-letter queue unavailable; retrying until the record is written",
				"connector", connector, "task", task, "attempt", attempt, "retry_in", wait, "error", err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			d.metrics.DLQProduceFailures.Add(1)
			return fmt.Errorf("writing to dead-letter queue %s: gave up after %d attempts: %w (last error: %w)", d.topic, attempt, ctx.Err(), err)
		case <-d.stop:
			timer.Stop()
			d.metrics.DLQProduceFailures.Add(1)
			return fmt.Errorf("writing to dead-letter queue %s: closed after %d attempts: %w (last error: %w)", d.topic, attempt, sarama.ErrClosedClient, err)
		}
		wait = min(2*wait, d.maxBackoff)
	}
}

// Close closes the producer: a Report retrying a retriable error gives up
// (after its current attempt), and later Reports fail. Later calls do
// nothing.
func (d *DLQ) Close() error {
	d.closeOnce.Do(func() { close(d.stop) })
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.producer.Close()
}

// ContextHeaders returns the context headers for f (see the Header*
// constants of package sluice/errors), with Kafka Connect's names, order
// (DeadLetterQueueReporter.populateContextHeaders) and values where Sluice
// has a Kafka Connect counterpart, as UTF-8 strings:
//
//   - __connect.errors.topic, .partition, .offset: the original
//     coordinates of a consumed record (for other records Sluice adds the
//     topic only);
//   - .connector.name, .task.id, .stage;
//   - .class.name: ClassName(f), e.g. org.apache.kafka.connect.json.JsonConverter,
//     org.apache.kafka.connect.transforms.Cast$Value or
//     org.apache.kafka.connect.sink.SinkTask; omitted when f names no
//     component and its stage has no class of its own;
//   - .exception.class.name and .exception.message: JavaException(f.Err),
//     e.g. org.apache.kafka.connect.errors.DataException with Kafka
//     Connect's message;
//   - .exception.stacktrace: that class and message, then the Go error
//     chain, one "Caused by:" line per wrapped error;
//
// then, for source records, __connect.errors.source.partition and
// .source.offset as JSON, and last Sluice's Go details:
// __sluice.errors.class.name (the component's Go type),
// __sluice.errors.exception.class.name (the error's Go type) and
// __sluice.errors.exception.message (the full Go error text).
func ContextHeaders(connector string, task int, f *Failure) []sarama.RecordHeader {
	var hs []sarama.RecordHeader
	add := func(k, v string) { hs = append(hs, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}) }
	rec := f.Record
	switch {
	case rec != nil && rec.OriginalTopic != "":
		add(sluiceerrors.HeaderTopic, rec.OriginalTopic)
		add(sluiceerrors.HeaderPartition, strconv.Itoa(int(rec.OriginalPartition)))
		add(sluiceerrors.HeaderOffset, strconv.FormatInt(rec.OriginalOffset, 10))
	case f.Raw != nil && f.Raw.Topic != "":
		add(sluiceerrors.HeaderTopic, f.Raw.Topic)
	case rec != nil && rec.Topic != "":
		add(sluiceerrors.HeaderTopic, rec.Topic)
	}
	add(sluiceerrors.HeaderConnectorName, connector)
	add(sluiceerrors.HeaderTaskID, strconv.Itoa(task))
	add(sluiceerrors.HeaderStage, string(f.Stage))
	if c := ClassName(f); c != "" {
		add(sluiceerrors.HeaderClassName, c)
	}
	if f.Err != nil {
		class, msg := JavaException(f.Err)
		add(sluiceerrors.HeaderExceptionClassName, class)
		add(sluiceerrors.HeaderExceptionMessage, msg)
		add(sluiceerrors.HeaderExceptionStacktrace, stackTrace(f.Err, class, msg))
	}
	if rec != nil && rec.OriginalTopic == "" && (rec.SourcePartition != nil || rec.SourceOffset != nil) {
		add(sluiceerrors.HeaderSourcePartition, jsonString(rec.SourcePartition))
		add(sluiceerrors.HeaderSourceOffset, jsonString(rec.SourceOffset))
	}
	if f.Component != nil {
		add(sluiceerrors.HeaderGoClassName, fmt.Sprintf("%T", f.Component))
	}
	if f.Err != nil {
		add(sluiceerrors.HeaderGoExceptionClassName, errorClass(f.Err))
		add(sluiceerrors.HeaderGoExceptionMessage, f.Err.Error())
	}
	return hs
}

// Kafka Connect's executing class of the stages whose class is the
// runtime's own rather than a plugin's (connect-runtime-4.3.1.jar).
const (
	// javaSinkTask is what WorkerErrantRecordReporter reports for an
	// errant record (Stage.TASK_PUT, "ldc class SinkTask").
	javaSinkTask = "org.apache.kafka.connect.sink.SinkTask"
	// javaWorkerSourceTask is what WorkerSourceTask reports for a record
	// the producer failed to send (Stage.KAFKA_PRODUCE).
	javaWorkerSourceTask = "org.apache.kafka.connect.runtime.WorkerSourceTask"
)

// ClassName returns the class name Kafka Connect reports as the executing
// class of f (the __connect.errors.class.name header, the error log's
// "with class '…'"): org.apache.kafka.connect.sink.SinkTask for a TASK_PUT
// failure (an errant record, as Kafka Connect's WorkerErrantRecordReporter),
// org.apache.kafka.connect.runtime.WorkerSourceTask for a KAFKA_PRODUCE
// failure, else connect.ClassName of the failing component: the Kafka
// Connect class of a built-in converter, transformation or predicate, a
// component's own JavaClass, or its Go type. It returns "" when f names no
// component.
func ClassName(f *Failure) string {
	switch f.Stage {
	case connect.StageTaskPut:
		return javaSinkTask
	case connect.StageKafkaProduce:
		return javaWorkerSourceTask
	}
	return connect.ClassName(f.Component)
}

// JavaException returns the exception class name and message Kafka Connect
// would report for err (the __connect.errors.exception.class.name and
// .exception.message headers):
//
//   - the first error in err's chain that implements connect.JavaClassNamer
//     with a non-empty class: that class, and its JavaMessage when it
//     implements connect.JavaMessager, else its Error text (a converter's
//     *converters.DataError gives org.apache.kafka.connect.errors.DataException
//     and Kafka Connect's message; a connect.RetriableError
//     org.apache.kafka.connect.errors.RetriableException);
//   - otherwise, when the chain holds one of Sluice's record errors
//     (*connect.RecordError, *connect.FatalError, *connect.BatchError):
//     org.apache.kafka.connect.errors.ConnectException and err's text;
//   - otherwise err's Go type (the first that is not a standard-library
//     wrapper) and err's text.
func JavaException(err error) (class, message string) {
	var n connect.JavaClassNamer
	if stderrors.As(err, &n) {
		if c := n.JavaClass(); c != "" {
			if m, ok := n.(connect.JavaMessager); ok {
				return c, m.JavaMessage()
			}
			if e, ok := n.(error); ok {
				return c, e.Error()
			}
			return c, err.Error()
		}
	}
	var (
		re *connect.RecordError
		fe *connect.FatalError
		be *connect.BatchError
	)
	if stderrors.As(err, &re) || stderrors.As(err, &fe) || stderrors.As(err, &be) {
		return connect.JavaConnectException, err.Error()
	}
	return errorClass(err), err.Error()
}

// stackTrace renders the stack trace header: as Java's printStackTrace
// starts with "<class>: <message>", the Kafka Connect class and message
// come first when they are not simply err's Go type and text, followed by
// the Go error chain (errorChain).
func stackTrace(err error, class, msg string) string {
	chain := errorChain(err)
	if class == errorClass(err) && msg == err.Error() {
		return chain
	}
	return class + ": " + msg + "\nCaused by: " + chain
}

// scrubHeaders masks secrets (scrub; nil masks nothing) in the exception
// message, stack trace and Go message headers of hs, in place, and returns hs.
func scrubHeaders(hs []sarama.RecordHeader, scrub func(string) string) []sarama.RecordHeader {
	if scrub == nil {
		return hs
	}
	for i, h := range hs {
		switch string(h.Key) {
		case sluiceerrors.HeaderExceptionMessage, sluiceerrors.HeaderExceptionStacktrace, sluiceerrors.HeaderGoExceptionMessage:
			hs[i].Value = []byte(scrub(string(h.Value)))
		}
	}
	return hs
}

// errorClass names the error's Go type, skipping the standard library's
// anonymous wrappers (fmt.Errorf, errors.Join) to the first named one.
func errorClass(err error) string {
	for e := err; e != nil; e = stderrors.Unwrap(e) {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if p := t.PkgPath(); p != "fmt" && p != "errors" { // by import path: other packages may be named errors
			return fmt.Sprintf("%T", e)
		}
	}
	return fmt.Sprintf("%T", err)
}

// errorChain renders err and its causes like a Java stack trace's "Caused
// by" lines.
func errorChain(err error) string {
	var b strings.Builder
	for e, i := err, 0; e != nil; e, i = stderrors.Unwrap(e), i+1 {
		if i > 0 {
			b.WriteString("\nCaused by: ")
		}
		b.WriteString(fmt.Sprintf("%T", e))
		b.WriteString(": ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// describe renders a record that could not be serialised as JSON.
func describe(r *connect.Record) []byte {
	d := map[string]any{"topic": r.Topic, "key": fmt.Sprint(r.Key), "value": fmt.Sprint(r.Value)}
	if r.SourcePartition != nil || r.SourceOffset != nil {
		d["source_partition"] = r.SourcePartition
		d["source_offset"] = r.SourceOffset
	}
	if r.OriginalTopic != "" {
		d["kafka_topic"], d["kafka_partition"], d["kafka_offset"] = r.OriginalTopic, r.OriginalPartition, r.OriginalOffset
	}
	b, err := json.Marshal(d)
	if err != nil {
		return []byte(fmt.Sprintf("%q", fmt.Sprint(d)))
	}
	return b
}
