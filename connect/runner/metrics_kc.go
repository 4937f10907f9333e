package runner

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/winstat"
)

// kcDescription is Kafka Connect 4.3.1's description of each metric name,
// copied from ConnectMetricsRegistry (testdata/kc-metrics-4.3.1.tsv); a name
// defined in two groups has the first group's.
var kcDescription = map[string]string{
	"status":                               "The status of the connector. One of 'unassigned', 'running', 'paused', 'stopped', 'failed', or 'restarting'.",
	"connector-type":                       "The type of the connector. One of 'source' or 'sink'.",
	"connector-class":                      "The name of the connector class.",
	"connector-version":                    "The version of the connector class, as reported by the connector.",
	"running-ratio":                        "The fraction of time this task has spent in the running state.",
	"pause-ratio":                          "The fraction of time this task has spent in the pause state.",
	"offset-commit-max-time-ms":            "The maximum time in milliseconds taken by this task to commit offsets.",
	"offset-commit-avg-time-ms":            "The average time in milliseconds taken by this task to commit offsets.",
	"batch-size-max":                       "The number of records in the largest batch the task has processed so far.",
	"batch-size-avg":                       "The average number of records in the batches the task has processed so far.",
	"offset-commit-failure-percentage":     "The average percentage of this task's offset commit attempts that failed.",
	"offset-commit-success-percentage":     "The average percentage of this task's offset commit attempts that succeeded.",
	"task-class":                           "The class name of the task.",
	"task-version":                         "The version of the task.",
	"key-converter-class":                  "The fully qualified class name from key.converter",
	"value-converter-class":                "The fully qualified class name from value.converter",
	"key-converter-version":                "The version instantiated for key.converter. May be undefined",
	"value-converter-version":              "The version instantiated for value.converter. May be undefined",
	"header-converter-class":               "The fully qualified class name from header.converter",
	"header-converter-version":             "The version instantiated for header.converter. May be undefined",
	"transform-class":                      "The class name of the transformation class",
	"transform-version":                    "The version of the transformation class",
	"predicate-class":                      "The class name of the predicate class",
	"predicate-version":                    "The version of the predicate class",
	"source-record-poll-rate":              "The average per-second number of records produced/polled (before transformation) by this task belonging to the named source connector in this worker.",
	"source-record-poll-total":             "The total number of records produced/polled (before transformation) by this task belonging to the named source connector in this worker.",
	"source-record-write-rate":             "The average per-second number of records written to Kafka for this task belonging to the named source connector in this worker, since the task was last restarted. This is after transformations are applied, and excludes any records filtered out by the transformations.",
	"source-record-write-total":            "The number of records output written to Kafka for this task belonging to the named source connector in this worker, since the task was last restarted. This is after transformations are applied, and excludes any records filtered out by the transformations.",
	"poll-batch-max-time-ms":               "The maximum time in milliseconds taken by this task to poll for a batch of source records.",
	"poll-batch-avg-time-ms":               "The average time in milliseconds taken by this task to poll for a batch of source records.",
	"source-record-active-count":           "The number of records that have been produced by this task but not yet completely written to Kafka.",
	"source-record-active-count-max":       "The maximum number of records that have been produced by this task but not yet completely written to Kafka.",
	"source-record-active-count-avg":       "The average number of records that have been produced by this task but not yet completely written to Kafka.",
	"transaction-size-min":                 "The number of records in the smallest transaction the task has committed so far.",
	"transaction-size-max":                 "The number of records in the largest transaction the task has committed so far.",
	"transaction-size-avg":                 "The average number of records in the transactions the task has committed so far.",
	"sink-record-read-rate":                "The average per-second number of records read from Kafka for this task belonging to the named sink connector in this worker. This is before transformations are applied.",
	"sink-record-read-total":               "The total number of records read from Kafka by this task belonging to the named sink connector in this worker, since the task was last restarted.",
	"sink-record-send-rate":                "The average per-second number of records output from the transformations and sent/put to this task belonging to the named sink connector in this worker. This is after transformations are applied and excludes any records filtered out by the transformations.",
	"sink-record-send-total":               "The total number of records output from the transformations and sent/put to this task belonging to the named sink connector in this worker, since the task was last restarted.",
	"sink-record-lag-max":                  "The maximum lag in terms of number of records that the sink task is behind the consumer's position for any topic partitions.",
	"partition-count":                      "The number of topic partitions assigned to this task belonging to the named sink connector in this worker.",
	"offset-commit-seq-no":                 "The current sequence number for offset commits.",
	"offset-commit-completion-rate":        "The average per-second number of offset commit completions that were completed successfully.",
	"offset-commit-completion-total":       "The total number of offset commit completions that were completed successfully.",
	"offset-commit-skip-rate":              "The average per-second number of offset commit completions that were received too late and skipped/ignored.",
	"offset-commit-skip-total":             "The total number of offset commit completions that were received too late and skipped/ignored.",
	"put-batch-max-time-ms":                "The maximum time taken by this task to put a batch of sinks records.",
	"put-batch-avg-time-ms":                "The average time taken by this task to put a batch of sinks records.",
	"sink-record-active-count":             "The number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.",
	"sink-record-active-count-max":         "The maximum number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.",
	"sink-record-active-count-avg":         "The average number of records that have been read from Kafka but not yet completely committed/flushed/acknowledged by the sink task.",
	"connector-count":                      "The number of connectors run in this worker.",
	"task-count":                           "The number of tasks run in this worker.",
	"connector-startup-attempts-total":     "The total number of connector startups that this worker has attempted.",
	"connector-startup-success-total":      "The total number of connector starts that succeeded.",
	"connector-startup-success-percentage": "The average percentage of this worker's connectors starts that succeeded.",
	"connector-startup-failure-total":      "The total number of connector starts that failed.",
	"connector-startup-failure-percentage": "The average percentage of this worker's connectors starts that failed.",
	"task-startup-attempts-total":          "The total number of task startups that this worker has attempted.",
	"task-startup-success-total":           "The total number of task starts that succeeded.",
	"task-startup-success-percentage":      "The average percentage of this worker's tasks starts that succeeded.",
	"task-startup-failure-total":           "The total number of task starts that failed.",
	"task-startup-failure-percentage":      "The average percentage of this worker's tasks starts that failed.",
	"connector-total-task-count":           "The number of tasks of the connector on the worker.",
	"connector-running-task-count":         "The number of running tasks of the connector on the worker.",
	"connector-paused-task-count":          "The number of paused tasks of the connector on the worker.",
	"connector-failed-task-count":          "The number of failed tasks of the connector on the worker.",
	"connector-unassigned-task-count":      "The number of unassigned tasks of the connector on the worker.",
	"connector-destroyed-task-count":       "The number of destroyed tasks of the connector on the worker.",
	"connector-restarting-task-count":      "The number of restarting tasks of the connector on the worker.",
	"connect-protocol":                     "The Connect protocol used by this cluster",
	"leader-name":                          "The name of the group leader.",
	"epoch":                                "The epoch or generation number of this worker.",
	"completed-rebalances-total":           "The total number of rebalances completed by this worker.",
	"rebalancing":                          "Whether this worker is currently rebalancing.",
	"rebalance-max-time-ms":                "The maximum time in milliseconds spent by this worker to rebalance.",
	"rebalance-avg-time-ms":                "The average time in milliseconds spent by this worker to rebalance.",
	"time-since-last-rebalance-ms":         "The time in milliseconds since this worker completed the most recent rebalance.",
	"total-record-failures":                "The number of record processing failures in this task.",
	"total-record-errors":                  "The number of record processing errors in this task.",
	"total-records-skipped":                "The number of records skipped due to errors.",
	"total-retries":                        "The number of operations retried.",
	"total-errors-logged":                  "The number of errors that were logged.",
	"deadletterqueue-produce-requests":     "The number of attempted writes to the dead letter queue.",
	"deadletterqueue-produce-failures":     "The number of failed writes to the dead letter queue.",
	"last-error-timestamp":                 "The epoch timestamp when this task last encountered an error.",
}

// taskCountStates are the task states of connect-worker-metrics'
// connector-<state>-task-count gauges, in Kafka Connect's order after
// connector-total-task-count (connector-destroyed-task-count, for a state
// Sluice's tasks never reach, is reported as 0).
var taskCountStates = [...]connect.State{connect.StateRunning, connect.StatePaused, connect.StateFailed, connect.StateUnassigned, connect.StateRestarting}

// rateKey identifies a task of a slot (a connector deleted and created again
// is another slot: its rates start over).
type rateKey struct {
	s  *slot
	id int
}

// taskRates are a task's -rate metrics, computed from its totals at
// collection time as Kafka Connect's Rate computes them (winstat.Rate).
type taskRates struct {
	in, out, commits, skips winstat.Rate
	seen                    uint64 // the collection that last saw it
}

// startupCounts are connector and task startups (connect-worker-metrics).
type startupCounts struct {
	conn, connFail, task, taskFail int64
}

func (c *startupCounts) add(o startupCounts) {
	c.conn += o.conn
	c.connFail += o.connFail
	c.task += o.task
	c.taskFail += o.taskFail
}

// addParity creates the instruments Kafka Connect has and Sluice did not
// export before issue #20. The description is Kafka Connect's.
func (m *runnerMetrics) addParity(counter func(name, desc string) metric.Int64Observable,
	gauge func(name, desc, unit string) metric.Int64Observable,
	fgauge func(name, desc string) metric.Float64Observable) {
	c := func(name string) metric.Int64Observable { return counter(name, kcDescription[name]) }
	g := func(name string) metric.Int64Observable { return gauge(name, kcDescription[name], "") }
	f := func(name string) metric.Float64Observable { return fgauge(name, kcDescription[name]) }
	str := func(name string) metric.Int64Observable {
		return gauge(name, kcDescription[name]+" (Sluice: 1, with the value as an attribute.)", "")
	}
	m.status = gauge("status", "The status of the connector, or, with the task attribute, of the connector task: 1, with status=\"unassigned\"|\"running\"|\"paused\"|\"stopped\"|\"failed\"|\"restarting\" (Kafka Connect's string value).", "")
	m.connType, m.connClass, m.connVersion = str("connector-type"), str("connector-class"), str("connector-version")
	m.taskClass, m.taskVersion = str("task-class"), str("task-version")
	m.keyConvClass, m.valueConvClass, m.headerConvClass = str("key-converter-class"), str("value-converter-class"), str("header-converter-class")
	m.keyConvVersion, m.valueConvVersion, m.headerConvVers = str("key-converter-version"), str("value-converter-version"), str("header-converter-version")
	m.runningRatio, m.pauseRatio = f("running-ratio"), f("pause-ratio")
	m.commitTimeMax, m.commitTimeAvg = f("offset-commit-max-time-ms"), f("offset-commit-avg-time-ms")
	m.batchSizeMax, m.batchSizeAvg = f("batch-size-max"), f("batch-size-avg")
	m.pollRate, m.writeRate = f("source-record-poll-rate"), f("source-record-write-rate")
	m.readRate, m.sendRate = f("sink-record-read-rate"), f("sink-record-send-rate")
	m.completionRate, m.skipRate = f("offset-commit-completion-rate"), f("offset-commit-skip-rate")
	m.pollTimeMax, m.pollTimeAvg = f("poll-batch-max-time-ms"), f("poll-batch-avg-time-ms")
	m.putTimeMax, m.putTimeAvg = f("put-batch-max-time-ms"), f("put-batch-avg-time-ms")
	m.srcActiveMax, m.srcActiveAvg = f("source-record-active-count-max"), f("source-record-active-count-avg")
	m.sinkActiveMax, m.sinkActiveAvg = f("sink-record-active-count-max"), f("sink-record-active-count-avg")
	m.commitSeqNo = g("offset-commit-seq-no")
	m.transformClass, m.transformVersion = str("transform-class"), str("transform-version")
	m.predicateClass, m.predicateVersion = str("predicate-class"), str("predicate-version")
	m.connStartAttempts, m.connStartOK, m.connStartFail = c("connector-startup-attempts-total"), c("connector-startup-success-total"), c("connector-startup-failure-total")
	m.taskStartAttempts, m.taskStartOK, m.taskStartFail = c("task-startup-attempts-total"), c("task-startup-success-total"), c("task-startup-failure-total")
	m.connStartOKPct, m.connStartFailPct = f("connector-startup-success-percentage"), f("connector-startup-failure-percentage")
	m.taskStartOKPct, m.taskStartFailPct = f("task-startup-success-percentage"), f("task-startup-failure-percentage")
	m.connTaskCounts[0] = g("connector-total-task-count")
	for i, st := range taskCountStates {
		m.connTaskCounts[i+1] = g("connector-" + strings.ToLower(string(st)) + "-task-count")
	}
	m.connTaskCounts[len(m.connTaskCounts)-1] = g("connector-destroyed-task-count")
	m.rates = map[rateKey]*taskRates{}
	m.seen = map[*slot]startupCounts{}
}

// parityInstruments lists addParity's instruments for RegisterCallback.
func (m *runnerMetrics) parityInstruments() []metric.Observable {
	out := []metric.Observable{m.status, m.connType, m.connClass, m.connVersion, m.taskClass, m.taskVersion,
		m.keyConvClass, m.valueConvClass, m.headerConvClass, m.keyConvVersion, m.valueConvVersion, m.headerConvVers,
		m.runningRatio, m.pauseRatio, m.commitTimeMax, m.commitTimeAvg, m.batchSizeMax, m.batchSizeAvg,
		m.pollRate, m.writeRate, m.readRate, m.sendRate, m.completionRate, m.skipRate,
		m.pollTimeMax, m.pollTimeAvg, m.putTimeMax, m.putTimeAvg, m.srcActiveMax, m.srcActiveAvg, m.sinkActiveMax, m.sinkActiveAvg,
		m.commitSeqNo, m.connStartAttempts, m.connStartOK, m.connStartFail, m.taskStartAttempts, m.taskStartOK, m.taskStartFail,
		m.connStartOKPct, m.connStartFailPct, m.taskStartOKPct, m.taskStartFailPct,
		m.transformClass, m.transformVersion, m.predicateClass, m.predicateVersion}
	for _, g := range m.connTaskCounts {
		out = append(out, g)
	}
	return out
}

// connectorIdentity returns the connector's class (its connector.class, its
// plugin's class, or, for a pipeline built in Go, ClassName of the
// pipeline), and version (its plugin's, else UndefinedVersion).
func (s *slot) connectorIdentity() (class, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	class, version = strings.TrimSpace(s.config["connector.class"]), connect.UndefinedVersion
	if p := s.plugin; p != nil {
		if class == "" {
			class = p.Class
		}
		if p.Version != "" {
			version = p.Version
		}
	}
	if class == "" && s.pipe != nil {
		class = connect.ClassName(s.pipe)
	}
	return class, version
}

// observeConnector reports connector-metrics for the connector (state is its
// Kafka Connect state).
func (m *runnerMetrics) observeConnector(o metric.Observer, s *slot, conn attribute.KeyValue, rep ConnectorReport, state string) {
	o.ObserveInt64(m.status, 1, metric.WithAttributes(conn, attribute.String("status", strings.ToLower(state))))
	class, version := s.connectorIdentity()
	if rep.Type != "" {
		o.ObserveInt64(m.connType, 1, metric.WithAttributes(conn, attribute.String("type", rep.Type)))
	}
	if class != "" {
		o.ObserveInt64(m.connClass, 1, metric.WithAttributes(conn, attribute.String("class", class)))
	}
	o.ObserveInt64(m.connVersion, 1, metric.WithAttributes(conn, attribute.String("version", version)))
}

// observeTaskCounts reports connect-worker-metrics' per-connector task
// counts.
func (m *runnerMetrics) observeTaskCounts(o metric.Observer, conn attribute.KeyValue, rep ConnectorReport) {
	attrs := metric.WithAttributes(conn)
	o.ObserveInt64(m.connTaskCounts[0], int64(len(rep.Tasks)), attrs)
	for i, st := range taskCountStates {
		n := int64(0)
		for _, t := range rep.Tasks {
			if t.State == st {
				n++
			}
		}
		o.ObserveInt64(m.connTaskCounts[i+1], n, attrs)
	}
	o.ObserveInt64(m.connTaskCounts[len(m.connTaskCounts)-1], 0, attrs)
}

// observeTask reports a task's parity metrics: the -rate metrics (from its
// totals), and, while it runs, the windowed stats, ratios and class names
// of the live incarnation.
func (m *runnerMetrics) observeTask(o metric.Observer, now time.Time, s *slot, id int, typ string, v *taskView, attrs metric.MeasurementOption) {
	k := rateKey{s, id}
	r := m.rates[k]
	if r == nil {
		r = &taskRates{}
		m.rates[k] = r
	}
	r.seen = m.collect
	in, out := r.in.Observe(now, v.totals.in), r.out.Observe(now, v.totals.out)
	switch typ {
	case connect.TypeSource:
		o.ObserveFloat64(m.pollRate, in, attrs)
		o.ObserveFloat64(m.writeRate, out, attrs)
	case connect.TypeSink:
		o.ObserveFloat64(m.readRate, in, attrs)
		o.ObserveFloat64(m.sendRate, out, attrs)
		o.ObserveFloat64(m.completionRate, r.commits.Observe(now, v.totals.commits), attrs)
		o.ObserveFloat64(m.skipRate, r.skips.Observe(now, v.totals.skips), attrs)
	}
	t := v.cur
	if t == nil {
		return
	}
	o.ObserveFloat64(m.runningRatio, t.RunningRatio, attrs)
	o.ObserveFloat64(m.pauseRatio, t.PauseRatio, attrs)
	window := func(maxI, avgI metric.Float64Observable, w connect.WindowedStat) {
		mx, avg := w.Max, w.Avg
		if w.Count == 0 {
			mx, avg = math.NaN(), math.NaN() // Kafka Connect's empty window
		}
		o.ObserveFloat64(maxI, mx, attrs)
		o.ObserveFloat64(avgI, avg, attrs)
	}
	window(m.commitTimeMax, m.commitTimeAvg, t.OffsetCommitTime)
	window(m.batchSizeMax, m.batchSizeAvg, t.BatchSize)
	switch typ {
	case connect.TypeSource:
		window(m.pollTimeMax, m.pollTimeAvg, t.BatchTime)
		window(m.srcActiveMax, m.srcActiveAvg, t.ActiveCount)
	case connect.TypeSink:
		window(m.putTimeMax, m.putTimeAvg, t.BatchTime)
		window(m.sinkActiveMax, m.sinkActiveAvg, t.ActiveCount)
		o.ObserveInt64(m.commitSeqNo, t.OffsetCommitSeqNo, attrs)
	}
	conn, task := attribute.String("connector", s.name), attribute.String("task", strconv.Itoa(id))
	str := func(inst metric.Int64Observable, key, val string) {
		if val != "" {
			o.ObserveInt64(inst, 1, metric.WithAttributes(conn, task, attribute.String(key, val)))
		}
	}
	str(m.taskClass, "class", t.TaskClass)
	str(m.taskVersion, "version", t.TaskVersion)
	str(m.keyConvClass, "class", t.KeyConverterClass)
	str(m.valueConvClass, "class", t.ValueConverterClass)
	str(m.headerConvClass, "class", t.HeaderConverterClass)
	str(m.keyConvVersion, "version", t.KeyConverterVersion)
	str(m.valueConvVersion, "version", t.ValueConverterVersion)
	str(m.headerConvVers, "version", t.HeaderConverterVersion)
	// Kafka Connect's connector-task-metrics repeat the connector's
	// identity per task.
	class, version := s.connectorIdentity()
	str(m.connClass, "class", class)
	str(m.connVersion, "version", version)
	str(m.connType, "type", typ)
	stage := func(inst metric.Int64Observable, kind, key, val, alias string) {
		o.ObserveInt64(inst, 1, metric.WithAttributes(conn, task, attribute.String(kind, alias), attribute.String(key, val)))
	}
	for _, s := range t.Transforms {
		stage(m.transformClass, "transform", "class", s.Class, s.Alias)
		stage(m.transformVersion, "transform", "version", s.Version, s.Alias)
	}
	for _, s := range t.Predicates {
		stage(m.predicateClass, "predicate", "class", s.Class, s.Alias)
		stage(m.predicateVersion, "predicate", "version", s.Version, s.Alias)
	}
}

// slotStartups returns the slot's connector and task startups so far and
// remembers them, so that they still count once the slot is deleted.
func (m *runnerMetrics) slotStartups(s *slot, acc map[int]taskTotals, live *connect.PipelineStatus) startupCounts {
	c := startupCounts{conn: s.startups.Load(), connFail: s.startupFails.Load()}
	for _, a := range acc {
		c.task += a.starts
		c.taskFail += a.startFails
	}
	if live != nil {
		for _, t := range live.Tasks {
			var a taskTotals
			a.add(t)
			c.task += a.starts
			c.taskFail += a.startFails
		}
	}
	m.seen[s] = c
	return c
}

// observeWorker reports connect-worker-metrics' startup counters: those of
// the live slots plus those of the slots deleted since the Runner started.
func (m *runnerMetrics) observeWorker(o metric.Observer, live startupCounts) {
	for s, c := range m.seen {
		if !s.isRemoved() {
			continue
		}
		m.gone.add(c)
		delete(m.seen, s)
	}
	c := m.gone
	c.add(live)
	o.ObserveInt64(m.connStartAttempts, c.conn)
	o.ObserveInt64(m.connStartOK, c.conn-c.connFail)
	o.ObserveInt64(m.connStartFail, c.connFail)
	o.ObserveInt64(m.taskStartAttempts, c.task)
	o.ObserveInt64(m.taskStartOK, c.task-c.taskFail)
	o.ObserveInt64(m.taskStartFail, c.taskFail)
	pct := func(n, of int64) float64 {
		if of == 0 {
			return math.NaN()
		}
		return float64(n) / float64(of)
	}
	o.ObserveFloat64(m.connStartOKPct, pct(c.conn-c.connFail, c.conn))
	o.ObserveFloat64(m.connStartFailPct, pct(c.connFail, c.conn))
	o.ObserveFloat64(m.taskStartOKPct, pct(c.task-c.taskFail, c.task))
	o.ObserveFloat64(m.taskStartFailPct, pct(c.taskFail, c.task))
}

// pruneRates forgets the rates of tasks the last collection did not see.
func (m *runnerMetrics) pruneRates() {
	for k, r := range m.rates {
		if r.seen != m.collect {
			delete(m.rates, k)
		}
	}
}
