package runner

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/connect"
)

// MeterName is the instrumentation scope of the Runner's metrics. Its value
// predates the Runner's move to this package and is kept so that views and
// queries selecting the scope keep working.
//
// A Runner given a Config.MeterProvider publishes every metric of Kafka
// Connect 4.3.1's connector-metrics, connector-task-metrics,
// source-task-metrics, sink-task-metrics, task-error-metrics and
// connect-worker-metrics groups (ConnectMetricsRegistry) as OpenTelemetry
// observable instruments named exactly as Kafka Connect's metrics, with
// Kafka Connect's descriptions and the attributes "connector" and "task" of
// its MBean tags. They are read from each pipeline's
// [connect.Pipeline.PipelineStatus] when the metrics are collected; the
// record path does no metrics work, the pipelines record a few windowed
// observations per batch (no allocation). Counters are cumulative over the
// Runner's lifetime and stay monotonic across restarts of a connector (they
// restart from zero only when a connector is deleted and created again).
//
//	instrument                        kind     value                                    group (Kafka Connect)
//	source-record-poll-total          counter  records polled (before transforms)       source-task-metrics
//	source-record-write-total         counter  records written and acknowledged         source-task-metrics
//	source-record-poll-rate           gauge    records polled per second (Rate)         source-task-metrics
//	source-record-write-rate          gauge    records written per second (Rate)        source-task-metrics
//	source-record-active-count        gauge    records polled but not yet acknowledged  source-task-metrics
//	source-record-active-count-max    gauge    …, max per Poll in the window            source-task-metrics
//	source-record-active-count-avg    gauge    …, average per Poll in the window        source-task-metrics
//	poll-batch-max-time-ms            gauge    longest Poll returning records (window)  source-task-metrics
//	poll-batch-avg-time-ms            gauge    average such Poll (window)               source-task-metrics
//	transaction-size-min              gauge    records in the smallest committed txn    source-task-metrics (exactly-once)
//	transaction-size-max              gauge    records in the largest committed txn     source-task-metrics (exactly-once)
//	transaction-size-avg              gauge    average records per committed txn        source-task-metrics (exactly-once)
//	sink-record-read-total            counter  records read from Kafka (before SMTs)    sink-task-metrics
//	sink-record-send-total            counter  records put to the task                  sink-task-metrics
//	sink-record-read-rate             gauge    records read per second (Rate)           sink-task-metrics
//	sink-record-send-rate             gauge    records put per second (Rate)            sink-task-metrics
//	sink-record-active-count          gauge    records read but not yet committed       sink-task-metrics
//	sink-record-active-count-max      gauge    …, max per Put in the window             sink-task-metrics
//	sink-record-active-count-avg      gauge    …, average per Put in the window         sink-task-metrics
//	put-batch-max-time-ms             gauge    longest Put (window)                     sink-task-metrics
//	put-batch-avg-time-ms             gauge    average Put (window)                     sink-task-metrics
//	sink-record-lag-max               gauge    max partition lag (HW − committed)       sink-task-metrics (never recorded by Kafka Connect)
//	partition-count                   gauge    assigned partitions                      sink-task-metrics
//	offset-commit-seq-no              gauge    offset commits attempted by the task     sink-task-metrics
//	offset-commit-completion-total    counter  offset commits that succeeded            sink-task-metrics
//	offset-commit-completion-rate     gauge    … per second (Rate)                      sink-task-metrics
//	offset-commit-skip-total          counter  failed commits abandoned, not retried    sink-task-metrics
//	offset-commit-skip-rate           gauge    … per second (Rate)                      sink-task-metrics
//	offset-commit-failure-percentage  gauge    failed ÷ attempted commits, in [0, 1]    connector-task-metrics
//	offset-commit-success-percentage  gauge    succeeded ÷ attempted commits, in [0, 1] connector-task-metrics
//	offset-commit-max-time-ms         gauge    longest offset commit (window)           connector-task-metrics
//	offset-commit-avg-time-ms         gauge    average offset commit (window)           connector-task-metrics
//	batch-size-max, batch-size-avg    gauge    records per Poll (source) / Put (sink)   connector-task-metrics
//	running-ratio, pause-ratio        gauge    share of the task's life RUNNING/PAUSED  connector-task-metrics
//	status                            gauge    1, with status="running"|"paused"|…      connector-metrics, connector-task-metrics (+ task)
//	connector-type                    gauge    1, with type="source"|"sink"             connector-metrics, connector-task-metrics (+ task)
//	connector-class, connector-version gauge   1, with class= / version=                connector-metrics, connector-task-metrics (+ task)
//	task-class, task-version          gauge    1, with class= / version=                connector-task-metrics
//	{key,value,header}-converter-class   gauge 1, with class=                           connector-task-metrics
//	{key,value,header}-converter-version gauge 1, with version=                         connector-task-metrics
//	transform-class, transform-version gauge   1, with class= / version= (+ transform)  connector-transform-metrics
//	predicate-class, predicate-version gauge   1, with class= / version= (+ predicate)  connector-predicate-metrics
//	sink-record-lag                   gauge    lag per partition (+ topic, partition)   Sluice
//	total-record-failures             counter  failed attempts, retries included        task-error-metrics
//	total-record-errors               counter  records that failed for good             task-error-metrics
//	total-records-skipped             counter  records skipped under errors.tolerance   task-error-metrics
//	total-retries                     counter  retries                                  task-error-metrics
//	total-errors-logged               counter  errors logged                            task-error-metrics
//	deadletterqueue-produce-requests  counter  dead-letter-queue writes                 task-error-metrics
//	deadletterqueue-produce-failures  counter  failed dead-letter-queue writes          task-error-metrics
//	last-error-timestamp              gauge    last failure, ms since the epoch         task-error-metrics
//	connector-task-stalled            gauge    1 when the task is stalled, else 0       Sluice
//	connector-task-status             gauge    as status (task)                         deprecated alias of status
//	connector-status                  gauge    as status (connector)                    deprecated alias of status
//	connector-count, task-count       gauge    connectors and tasks of the Runner       connect-worker-metrics
//	connector-startup-{attempts,success,failure}-total counter  pipeline builds         connect-worker-metrics
//	connector-startup-{success,failure}-percentage     gauge    their shares in [0, 1]  connect-worker-metrics
//	task-startup-{attempts,success,failure}-total      counter  task starts             connect-worker-metrics
//	task-startup-{success,failure}-percentage          gauge    their shares in [0, 1]  connect-worker-metrics
//	connector-{total,running,paused,failed,unassigned,destroyed,restarting}-task-count
//	                                  gauge    the connector's tasks (+ connector)      connect-worker-metrics
//
// In cluster mode (Config.Cluster) a member also reports Kafka Connect's
// connect-worker-rebalance-metrics, without attributes but the string
// values': connect-protocol (1, with protocol="SESSIONED"|"COMPATIBLE"|
// "EAGER", the enum name Kafka Connect reports), leader-name (1, with
// leader=<the leader's REST URL>), epoch (the generation),
// completed-rebalances-total (counter), rebalancing (1 or 0),
// rebalance-max-time-ms and rebalance-avg-time-ms (window; the rebalances
// the collections see) and time-since-last-rebalance-ms (+Inf before the
// first, as Kafka Connect); and the consumer-coordinator style metrics of
// metrics_cluster.go (join-time-avg, rebalance-total, … with the
// attributes group, member and worker_id).
//
// Kafka Connect's windowed stats use its worker's defaults,
// metrics.num.samples=2 × metrics.sample.window.ms=30000: a "(window)"
// value covers the last 30 to 60 s and is NaN when nothing was observed in
// it, as Kafka Connect reports it. A -rate is Kafka Connect's Rate of the
// corresponding total, computed from the totals the collections see: the
// increase since the oldest 30 s sample still current divided by the time
// since it began but at least 30 s (so the first collection reports 0, and
// a rate within the first 30 s is under-reported, as Kafka Connect's is);
// with collections further apart than 60 s it covers the time since the
// previous one. rate() of the -total counters in the metrics backend is
// usually the better query. running-ratio and pause-ratio are cumulative
// since the task (incarnation) started, not windowed, as Kafka Connect's
// StateTracker.
//
// Kafka Connect's string-valued metrics (status, connector-type, the
// -class and -version ones) are gauges of value 1 with the string as the
// attribute status, type, class or version. Class names are
// [connect.ClassName]'s (the Kafka Connect class for components that have
// one, else the Go type); a version is the component's Version() string,
// the plugin's Version for connector-version, else "undefined" (Kafka
// Connect's PluginDesc.UNDEFINED_VERSION). status is one instrument for
// both of Kafka Connect's groups: a connector's series has no task
// attribute, a task's has one. connector-status and connector-task-status,
// Sluice's earlier names for them, are still reported for one release and
// will then be removed.
//
// Startups: a connector startup is a build of its pipeline (failed when
// the build fails); a task startup is a task incarnation or a restart of
// it by the restart policy, failed when the task failed before it reached
// RUNNING (creating the task or its Kafka clients failed, or its Start
// did; Kafka Connect counts a task whose start() throws as a successful
// startup of a task that then failed).
// Both count over the Runner's lifetime, deleted connectors included, and
// so do their percentages (Kafka Connect's cover a sample window).
// connector-destroyed-task-count is always 0: Sluice's tasks have no
// DESTROYED state.
//
// Prometheus. With go.opentelemetry.io/otel/exporters/prometheus, create the
// exporter with
//
//	prometheus.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes)
//	prometheus.WithoutScopeInfo()
//
// and the scraped names are Kafka Connect's with '-' as '_', e.g.
// source_record_poll_total{connector="orders",task="0"},
// total_record_failures{…}, sink_record_lag_max{…}: what a Kafka Connect
// dashboard built on the JMX exporter looks for, without its
// kafka_connect_<group>_ prefix (add one with prometheus.WithNamespace, or
// relabel). examples/grafana/sluice-connect.json is a Grafana dashboard on
// these names. With the exporter's default strategy
// (UnderscoreEscapingWithSuffixes), counters get Prometheus's "_total"
// suffix rule, which keeps the *-total names (source_record_poll_total) but
// reorders the task-error ones (total-record-failures becomes
// record_failures_total, deadletterqueue-produce-requests becomes
// deadletterqueue_produce_requests_total).
//
// The offset-commit percentages are, like Kafka Connect's (a Frequencies
// stat), fractions in [0, 1] despite their names; they cover the task's
// commits since the connector was created (Kafka Connect's cover a sample
// window) and are not reported before the first commit attempt.
//
// The transaction-size gauges are reported for exactly-once source tasks
// only (a [connect.TaskStatus.TransactionalID] is set), from the running
// task incarnation's first committed transaction on (they cover that
// incarnation, as Kafka Connect's cover the task since it was last
// started); an at-least-once source task has none.
const MeterName = "github.com/sluicehq/sluice/connect"

type runnerMetrics struct {
	reg metric.Registration

	sourcePoll, sourceWrite, sourceActive       metric.Int64Observable
	txnSizeMin, txnSizeMax                      metric.Int64Observable
	txnSizeAvg                                  metric.Float64Observable
	sinkRead, sinkSend, sinkActive, sinkLagMax  metric.Int64Observable
	partitionCount, sinkLag                     metric.Int64Observable
	commitCompletions, commitSkips              metric.Int64Observable
	commitFailurePct, commitSuccessPct          metric.Float64Observable
	failures, errorsTotal, skipped, retries     metric.Int64Observable
	logged, dlqRequests, dlqFailures, lastError metric.Int64Observable
	taskStatus, taskStalled, connStatus         metric.Int64Observable
	connectorCount, taskCount                   metric.Int64Observable

	// Added for Kafka Connect parity (issue #20).
	status                                           metric.Int64Observable
	connType, connClass, connVersion                 metric.Int64Observable
	taskClass, taskVersion                           metric.Int64Observable
	keyConvClass, valueConvClass, headerConvClass    metric.Int64Observable
	keyConvVersion, valueConvVersion, headerConvVers metric.Int64Observable
	runningRatio, pauseRatio                         metric.Float64Observable
	commitTimeMax, commitTimeAvg                     metric.Float64Observable
	batchSizeMax, batchSizeAvg                       metric.Float64Observable
	pollRate, writeRate, readRate, sendRate          metric.Float64Observable
	completionRate, skipRate                         metric.Float64Observable
	pollTimeMax, pollTimeAvg, putTimeMax, putTimeAvg metric.Float64Observable
	srcActiveMax, srcActiveAvg                       metric.Float64Observable
	sinkActiveMax, sinkActiveAvg                     metric.Float64Observable
	commitSeqNo                                      metric.Int64Observable
	connStartAttempts, connStartOK, connStartFail    metric.Int64Observable
	taskStartAttempts, taskStartOK, taskStartFail    metric.Int64Observable
	connStartOKPct, connStartFailPct                 metric.Float64Observable
	taskStartOKPct, taskStartFailPct                 metric.Float64Observable
	connTaskCounts                                   [len(taskCountStates) + 2]metric.Int64Observable // total, per state…, destroyed
	transformClass, transformVersion                 metric.Int64Observable
	predicateClass, predicateVersion                 metric.Int64Observable

	mu      sync.Mutex // guards rates, gone, seen
	rates   map[rateKey]*taskRates
	gone    startupCounts           // the startups of slots deleted since
	seen    map[*slot]startupCounts // each live slot's startups at the last collection
	collect uint64

	coordinator *coordinatorMetrics // cluster mode only
}

func newRunnerMetrics(r *Runner, mp metric.MeterProvider) (*runnerMetrics, error) {
	meter := mp.Meter(MeterName, metric.WithInstrumentationVersion(r.cfg.Version))
	m := &runnerMetrics{}
	var errs []error
	counter := func(name, desc string) metric.Int64Observable {
		c, err := meter.Int64ObservableCounter(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, desc, unit string) metric.Int64Observable {
		opts := []metric.Int64ObservableGaugeOption{metric.WithDescription(desc)}
		if unit != "" {
			opts = append(opts, metric.WithUnit(unit))
		}
		g, err := meter.Int64ObservableGauge(name, opts...)
		errs = append(errs, err)
		return g
	}
	m.sourcePoll = counter("source-record-poll-total", "The total number of records produced/polled (before transformation) by this task belonging to the named source connector in this worker.")
	m.sourceWrite = counter("source-record-write-total", "The number of records output from the transformations and written to Kafka for this task belonging to the named source connector in this worker, since the task was last restarted.")
	m.sourceActive = gauge("source-record-active-count", "The number of records that have been produced by this task but not yet completely written to Kafka.", "")
	m.txnSizeMin = gauge("transaction-size-min", "The number of records in the smallest transaction the task has committed so far.", "")
	m.txnSizeMax = gauge("transaction-size-max", "The number of records in the largest transaction the task has committed so far.", "")
	m.sinkRead = counter("sink-record-read-total", "The total number of records read from Kafka by this task belonging to the named sink connector in this worker, since the task was last restarted.")
	m.sinkSend = counter("sink-record-send-total", "The total number of records output from the transformations and sent/put to this task belonging to the named sink connector in this worker, since the task was last restarted.")
	m.sinkActive = gauge("sink-record-active-count", "The number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.", "")
	m.sinkLagMax = gauge("sink-record-lag-max", "The maximum lag in terms of number of records that the sink task is behind the consumer's position for any topic partitions.", "")
	m.partitionCount = gauge("partition-count", "The number of topic partitions assigned to this task belonging to the named sink connector in this worker.", "")
	m.sinkLag = gauge("sink-record-lag", "Records available in the partition but not yet committed by the sink task (high watermark − committed offset).", "")
	m.commitCompletions = counter("offset-commit-completion-total", "The total number of offset commit completions that were completed successfully.")
	m.commitSkips = counter("offset-commit-skip-total", "The total number of offset commits that failed and were abandoned rather than retried: refused for a past group generation, or failed while partitions were being closed.")
	fgauge := func(name, desc string) metric.Float64Observable {
		g, err := meter.Float64ObservableGauge(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	m.txnSizeAvg = fgauge("transaction-size-avg", "The average number of records in the transactions the task has committed so far.")
	m.commitFailurePct = fgauge("offset-commit-failure-percentage", "The average percentage of this task's offset commit attempts that failed.")
	m.commitSuccessPct = fgauge("offset-commit-success-percentage", "The average percentage of this task's offset commit attempts that succeeded.")
	m.failures = counter("total-record-failures", "The number of record processing failures in this task.")
	m.errorsTotal = counter("total-record-errors", "The number of record processing errors in this task.")
	m.skipped = counter("total-records-skipped", "The number of records skipped due to errors.")
	m.retries = counter("total-retries", "The number of operations retried.")
	m.logged = counter("total-errors-logged", "The number of errors that were logged.")
	m.dlqRequests = counter("deadletterqueue-produce-requests", "The number of attempted writes to the dead letter queue.")
	m.dlqFailures = counter("deadletterqueue-produce-failures", "The number of failed writes to the dead letter queue.")
	m.lastError = gauge("last-error-timestamp", "The epoch timestamp when this task last encountered an error.", "ms")
	m.taskStatus = gauge("connector-task-status", "Deprecated: use status (Kafka Connect's name). The status of the connector task (1 for the status named by the status attribute).", "")
	m.taskStalled = gauge("connector-task-stalled", "1 when the task is RUNNING with work available but made no progress for the stall threshold, else 0.", "")
	m.connStatus = gauge("connector-status", "Deprecated: use status (Kafka Connect's name). The status of the connector (1 for the status named by the status attribute).", "")
	m.connectorCount = gauge("connector-count", "The number of connectors run in this worker.", "")
	m.taskCount = gauge("task-count", "The number of tasks run in this worker.", "")
	m.addParity(counter, gauge, fgauge)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.observe(r, o)
		return nil
	}, append([]metric.Observable{m.sourcePoll, m.sourceWrite, m.sourceActive, m.txnSizeMin, m.txnSizeMax, m.txnSizeAvg, m.sinkRead, m.sinkSend, m.sinkActive, m.sinkLagMax,
		m.partitionCount, m.sinkLag, m.commitCompletions, m.commitSkips, m.commitFailurePct, m.commitSuccessPct, m.failures, m.errorsTotal, m.skipped, m.retries, m.logged,
		m.dlqRequests, m.dlqFailures, m.lastError, m.taskStatus, m.taskStalled, m.connStatus,
		m.connectorCount, m.taskCount}, m.parityInstruments()...)...)
	if err != nil {
		return nil, err
	}
	m.reg = reg
	if r.cluster != nil {
		c, err := newCoordinatorMetrics(meter, r.cluster)
		if err != nil {
			_ = reg.Unregister()
			return nil, err
		}
		m.coordinator = c
	}
	return m, nil
}

func (m *runnerMetrics) close() {
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
	m.coordinator.close()
}

// taskView is one task's values at collection time.
type taskView struct {
	totals     taskTotals
	inFlight   int64
	partitions []connect.PartitionStatus
	lag        int64
	live       bool
	// cur is the live incarnation's status, nil when not live.
	cur *connect.TaskStatus
	// txn is the live incarnation's status when it is an exactly-once
	// source task that committed a transaction (the transaction-size
	// gauges), else nil.
	txn *connect.TaskStatus
}

// observe reports every connector's values; it runs at collection time only.
func (m *runnerMetrics) observe(r *Runner, o metric.Observer) {
	slots := r.liveSlots()
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collect++
	var taskCount int64
	var workerStarts startupCounts
	for _, s := range slots {
		if s.clustered && !s.hasLocalWork() {
			continue // another member's: it reports it
		}
		live, acc, rep := s.metricsSnapshot()
		conn := attribute.String("connector", s.name)
		if s.clustered {
			if st, _ := s.localConnectorState(); s.ownsConnector() {
				o.ObserveInt64(m.connStatus, 1, metric.WithAttributes(conn, attribute.String("status", strings.ToLower(string(st)))))
				m.observeConnector(o, s, conn, rep, string(st))
			}
		} else {
			o.ObserveInt64(m.connStatus, 1, metric.WithAttributes(conn, attribute.String("status", strings.ToLower(string(rep.State)))))
			m.observeConnector(o, s, conn, rep, string(rep.State))
		}
		workerStarts.add(m.slotStartups(s, acc, live))
		m.observeTaskCounts(o, conn, rep)

		views := make(map[int]*taskView, len(acc))
		for id, a := range acc {
			views[id] = &taskView{totals: a}
		}
		if live != nil {
			for _, t := range live.Tasks {
				v := views[t.ID]
				if v == nil {
					v = &taskView{}
					views[t.ID] = v
				}
				v.live = true
				v.cur = &t
				v.totals.add(t)
				v.inFlight = t.InFlight
				v.partitions = t.Partitions
				v.lag = t.Lag
				if t.TransactionalID != "" && t.Transactions > 0 {
					v.txn = &t
				}
			}
		}
		for _, id := range slices.Sorted(maps.Keys(views)) {
			v := views[id]
			attrs := metric.WithAttributeSet(attribute.NewSet(conn, attribute.String("task", strconv.Itoa(id))))
			m.observeTask(o, now, s, id, rep.Type, v, attrs)
			switch rep.Type {
			case connect.TypeSource:
				o.ObserveInt64(m.sourcePoll, v.totals.in, attrs)
				o.ObserveInt64(m.sourceWrite, v.totals.out, attrs)
				if v.live {
					o.ObserveInt64(m.sourceActive, v.inFlight, attrs)
				}
				if t := v.txn; t != nil {
					o.ObserveInt64(m.txnSizeMin, t.TransactionSizeMin, attrs)
					o.ObserveInt64(m.txnSizeMax, t.TransactionSizeMax, attrs)
					o.ObserveFloat64(m.txnSizeAvg, t.TransactionSizeAvg, attrs)
				}
			case connect.TypeSink:
				o.ObserveInt64(m.sinkRead, v.totals.in, attrs)
				o.ObserveInt64(m.sinkSend, v.totals.out, attrs)
				if v.live {
					o.ObserveInt64(m.sinkActive, v.inFlight, attrs)
					o.ObserveInt64(m.partitionCount, int64(len(v.partitions)), attrs)
					lagMax := int64(0)
					for _, p := range v.partitions {
						l := p.Lag()
						lagMax = max(lagMax, l)
						o.ObserveInt64(m.sinkLag, l, metric.WithAttributes(conn,
							attribute.String("task", strconv.Itoa(id)),
							attribute.String("topic", p.Topic),
							attribute.String("partition", strconv.Itoa(int(p.Partition)))))
					}
					if len(v.partitions) == 0 && v.lag > 0 {
						lagMax = v.lag
					}
					o.ObserveInt64(m.sinkLagMax, lagMax, attrs)
				}
			}
			if rep.Type == connect.TypeSink {
				o.ObserveInt64(m.commitCompletions, v.totals.commits, attrs)
				o.ObserveInt64(m.commitSkips, v.totals.skips, attrs)
			}
			if n := v.totals.commits + v.totals.commitFails; n > 0 {
				o.ObserveFloat64(m.commitFailurePct, float64(v.totals.commitFails)/float64(n), attrs)
				o.ObserveFloat64(m.commitSuccessPct, float64(v.totals.commits)/float64(n), attrs)
			}
			e := v.totals.errs
			o.ObserveInt64(m.failures, e.RecordFailures, attrs)
			o.ObserveInt64(m.errorsTotal, e.RecordErrors, attrs)
			o.ObserveInt64(m.skipped, e.RecordsSkipped, attrs)
			o.ObserveInt64(m.retries, e.Retries, attrs)
			o.ObserveInt64(m.logged, e.ErrorsLogged, attrs)
			o.ObserveInt64(m.dlqRequests, e.DLQProduceRequests, attrs)
			o.ObserveInt64(m.dlqFailures, e.DLQProduceFailures, attrs)
			if !e.LastError.IsZero() {
				o.ObserveInt64(m.lastError, e.LastError.UnixMilli(), attrs)
			}
		}
		for _, t := range rep.Tasks {
			task := attribute.String("task", strconv.Itoa(t.ID))
			o.ObserveInt64(m.taskStatus, 1, metric.WithAttributes(conn, task, attribute.String("status", strings.ToLower(string(t.State)))))
			o.ObserveInt64(m.status, 1, metric.WithAttributes(conn, task, attribute.String("status", strings.ToLower(string(t.State)))))
			stalled := int64(0)
			if t.Stalled {
				stalled = 1
			}
			o.ObserveInt64(m.taskStalled, stalled, metric.WithAttributes(conn, task))
		}
		taskCount += int64(len(rep.Tasks))
	}
	m.observeWorker(o, workerStarts)
	m.pruneRates()
	o.ObserveInt64(m.connectorCount, int64(len(slots)))
	o.ObserveInt64(m.taskCount, taskCount)
}
