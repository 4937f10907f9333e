package runner_test

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// kcMetric is one line of testdata/kc-metrics-4.3.1.tsv.
type kcMetric struct{ group, name, field, desc string }

func kcMetrics(t *testing.T) []kcMetric {
	t.Helper()
	f, err := os.Open("testdata/kc-metrics-4.3.1.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []kcMetric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, "\t")
		if len(p) != 4 {
			t.Fatalf("bad line %q", line)
		}
		out = append(out, kcMetric{p[0], p[1], p[2], p[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fillParity gives a fake task the windowed, ratio and class values the
// real pipelines compute.
func fillParity(ts *connect.TaskStatus) {
	ts.BatchSize = connect.WindowedStat{Max: 500, Avg: 250, Count: 4}
	ts.BatchTime = connect.WindowedStat{Max: 12, Avg: 6, Count: 4}
	ts.OffsetCommitTime = connect.WindowedStat{Max: 30, Avg: 10, Count: 3}
	ts.ActiveCount = connect.WindowedStat{Max: 40, Avg: 20, Count: 4}
	ts.RunningRatio, ts.PauseRatio = 0.75, 0.25
	ts.OffsetCommitSeqNo = 4
	ts.TaskClass, ts.TaskVersion = "com.example.Task", "1.2.3"
	ts.KeyConverterClass, ts.KeyConverterVersion = "org.apache.kafka.connect.storage.StringConverter", "4.3.1"
	ts.ValueConverterClass, ts.ValueConverterVersion = "org.apache.kafka.connect.json.JsonConverter", "4.3.1"
	ts.HeaderConverterClass, ts.HeaderConverterVersion = "org.apache.kafka.connect.storage.SimpleHeaderConverter", connect.UndefinedVersion
	ts.Transforms = []connect.PluginStage{{Alias: "route", Class: "org.apache.kafka.connect.transforms.RegexRouter", Version: "4.3.1"}}
	ts.Predicates = []connect.PluginStage{{Alias: "isOrders", Class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches", Version: "4.3.1"}}
	ts.TransactionalID, ts.Transactions, ts.TransactionSizeMin, ts.TransactionSizeMax, ts.TransactionSizeAvg = "g-src-0", 1, 1, 1, 1
}

// collectNames runs a Runner with a source and a sink connector and returns
// the instruments one collection reports, with their data.
func collectKC(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	e := newEnv(t, runner.Config{MeterProvider: mp}).start()
	for _, c := range []struct {
		name   string
		config map[string]string
	}{{"src", srcConfig()}, {"snk", sinkConfig()}} {
		if err := e.r.CreateConnector(c.name, c.config, ""); err != nil {
			t.Fatal(err)
		}
		e.waitState(c.name, connect.StateRunning, 1)
		e.f.Pipe(c.name).SetTask(0, fillParity)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	return got
}

// Every metric name of Kafka Connect 4.3.1's connector, task, source task,
// sink task, task error, worker, transform and predicate groups (as
// ConnectMetricsRegistry defines them; the rebalance group, cluster mode
// only, is checked by TestClusterCoordinatorMetrics) is exported under that name, counters (CumulativeSum and
// *-total) as OpenTelemetry counters.
func TestMetricsEveryKafkaConnectName(t *testing.T) {
	got := collectKC(t)
	groups := []string{"connector-metrics", "connector-task-metrics", "source-task-metrics", "sink-task-metrics", "task-error-metrics", "connect-worker-metrics",
		"connector-transform-metrics", "connector-predicate-metrics"}
	n := 0
	for _, m := range kcMetrics(t) {
		if !slices.Contains(groups, m.group) {
			continue
		}
		n++
		t.Run(m.group+"/"+m.name, func(t *testing.T) {
			d, ok := got[m.name]
			if !ok {
				t.Fatalf("%s (%s) not exported", m.name, m.group)
			}
			if strings.HasSuffix(m.name, "-total") && !strings.HasSuffix(m.name, "-task-count") {
				if _, ok := d.(metricdata.Sum[int64]); !ok {
					t.Errorf("%s is %T, want a counter", m.name, d)
				}
			}
		})
	}
	if n != 83 {
		t.Errorf("%d names in the groups, want 83 (4 + 20 + 12 + 16 + 8 + 19 + 2 + 2): testdata changed?", n)
	}
}

// point returns the value of the data point of d whose attributes include
// every key=value pair of want, or NaN.
func point(d metricdata.Aggregation, want ...string) float64 {
	has := func(set attribute.Set) bool {
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := set.Value(attribute.Key(k)); !ok || got.String() != v {
				return false
			}
		}
		return true
	}
	switch g := d.(type) {
	case metricdata.Gauge[float64]:
		for _, p := range g.DataPoints {
			if has(p.Attributes) {
				return p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range g.DataPoints {
			if has(p.Attributes) {
				return float64(p.Value)
			}
		}
	case metricdata.Sum[int64]:
		for _, p := range g.DataPoints {
			if has(p.Attributes) {
				return float64(p.Value)
			}
		}
	}
	return math.NaN()
}

// The new metrics carry the values of the task's status, Kafka Connect's
// string gauges are 1 with the string as an attribute, and status is
// reported per connector and per task.
func TestMetricsKafkaConnectValues(t *testing.T) {
	got := collectKC(t)
	for _, c := range []struct {
		name string
		want float64
		kv   []string
	}{
		{"batch-size-max", 500, []string{"connector=snk", "task=0"}},
		{"batch-size-avg", 250, []string{"connector=src", "task=0"}},
		{"put-batch-max-time-ms", 12, []string{"connector=snk", "task=0"}},
		{"put-batch-avg-time-ms", 6, []string{"connector=snk", "task=0"}},
		{"poll-batch-max-time-ms", 12, []string{"connector=src", "task=0"}},
		{"poll-batch-avg-time-ms", 6, []string{"connector=src", "task=0"}},
		{"offset-commit-max-time-ms", 30, []string{"connector=snk", "task=0"}},
		{"offset-commit-avg-time-ms", 10, []string{"connector=snk", "task=0"}},
		{"sink-record-active-count-max", 40, []string{"connector=snk", "task=0"}},
		{"source-record-active-count-avg", 20, []string{"connector=src", "task=0"}},
		{"running-ratio", 0.75, []string{"connector=src", "task=0"}},
		{"pause-ratio", 0.25, []string{"connector=snk", "task=0"}},
		{"offset-commit-seq-no", 4, []string{"connector=snk", "task=0"}},
		{"task-class", 1, []string{"connector=snk", "task=0", "class=com.example.Task"}},
		{"task-version", 1, []string{"connector=snk", "task=0", "version=1.2.3"}},
		{"value-converter-class", 1, []string{"connector=src", "task=0", "class=org.apache.kafka.connect.json.JsonConverter"}},
		{"header-converter-version", 1, []string{"connector=src", "task=0", "version=undefined"}},
		{"transform-class", 1, []string{"connector=snk", "task=0", "transform=route", "class=org.apache.kafka.connect.transforms.RegexRouter"}},
		{"transform-version", 1, []string{"connector=src", "task=0", "transform=route", "version=4.3.1"}},
		{"predicate-class", 1, []string{"connector=src", "task=0", "predicate=isOrders", "class=org.apache.kafka.connect.transforms.predicates.TopicNameMatches"}},
		{"predicate-version", 1, []string{"connector=snk", "task=0", "predicate=isOrders", "version=4.3.1"}},
		{"connector-type", 1, []string{"connector=snk", "type=sink"}},
		{"connector-type", 1, []string{"connector=src", "task=0", "type=source"}},
		{"status", 1, []string{"connector=snk", "status=running"}},
		{"status", 1, []string{"connector=snk", "task=0", "status=running"}},
		{"connector-total-task-count", 1, []string{"connector=snk"}},
		{"connector-running-task-count", 1, []string{"connector=snk"}},
		{"connector-failed-task-count", 0, []string{"connector=snk"}},
		{"connector-startup-attempts-total", 2, nil},
		{"connector-startup-success-total", 2, nil},
		{"connector-startup-failure-total", 0, nil},
		{"connector-startup-success-percentage", 1, nil},
		{"task-startup-attempts-total", 2, nil},
		{"task-startup-success-percentage", 1, nil},
		// The rates' first collection has no earlier sample: 0.
		{"sink-record-read-rate", 0, []string{"connector=snk", "task=0"}},
		{"source-record-poll-rate", 0, []string{"connector=src", "task=0"}},
	} {
		if v := point(got[c.name], c.kv...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, v, c.want)
		}
	}
	// connector-status and connector-task-status stay as deprecated aliases.
	if v := point(got["connector-status"], "connector=snk", "status=running"); v != 1 {
		t.Errorf("connector-status = %v", v)
	}
}

// dashboardPath is the Grafana dashboard of examples/grafana, from this
// package's directory.
const dashboardPath = "../../examples/grafana/sluice-connect.json"

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVariables = regexp.MustCompile(`\$\{?\w+\}?`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelValues   = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
)

// promKeywords are PromQL's operators and aggregation modifiers spelled as
// identifiers.
var promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}

// exprMetricNames returns the metric names a PromQL expression selects:
// identifiers that are neither functions, aggregations, labels nor keywords.
func exprMetricNames(expr string) []string {
	if m := labelValues.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	s := promStrings.ReplaceAllString(expr, " ")
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promVariables.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promKeywords[strings.ToLower(name)] {
			continue // a function or an aggregation
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // a number's exponent or unit
		}
		out = append(out, name)
	}
	return out
}

// dashboardExprs returns every "expr" of the dashboard's panels and every
// templating query.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var out []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(c, k)
			}
		case []any:
			for _, c := range v {
				walk(c, key)
			}
		case string:
			if key == "expr" || (key == "query" || key == "definition") && strings.Contains(v, "label_values(") {
				out = append(out, v)
			}
		}
	}
	walk(doc, "")
	return out
}

func TestExprMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (connector) (rate(total_record_errors{connector=~"$connector"}[$__rate_interval]))`: {"total_record_errors"},
		`status{connector=~"$connector", task!=""} == 1`:                                            {"status"},
		`max by (connector, task) (a_b{x="y(z)"}) / on (connector) c_d`:                             {"a_b", "c_d"},
		`label_values(connector_total_task_count, connector)`:                                       {"connector_total_task_count"},
		`increase(task_startup_failure_total[5m]) > 1e3`:                                            {"task_startup_failure_total"},
	} {
		if got := exprMetricNames(expr); !slices.Equal(got, want) {
			t.Errorf("exprMetricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// Every metric the Grafana dashboard in examples/grafana queries is
// exported by the OpenTelemetry Prometheus exporter, created as metrics.go
// documents, scraping a Runner that runs a source and a sink connector.
func TestGrafanaDashboardMetricsExported(t *testing.T) {
	prom := newPromEnv(t, kcNames...)
	e := newEnv(t, runner.Config{MeterProvider: prom.mp}).start()
	for _, c := range []struct {
		name   string
		config map[string]string
	}{{"src", srcConfig()}, {"snk", sinkConfig()}} {
		if err := e.r.CreateConnector(c.name, c.config, ""); err != nil {
			t.Fatal(err)
		}
		e.waitState(c.name, connect.StateRunning, 1)
		e.f.Pipe(c.name).SetTask(0, fillParity)
	}
	exported := map[string]bool{}
	for line := range strings.Lines(prom.text(t)) {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = true
		}
	}
	exprs := dashboardExprs(t)
	if len(exprs) < 20 {
		t.Fatalf("only %d expressions found in %s", len(exprs), dashboardPath)
	}
	queried := 0
	for _, expr := range exprs {
		names := exprMetricNames(expr)
		if len(names) == 0 {
			t.Errorf("no metric name in %q", expr)
		}
		for _, n := range names {
			queried++
			if !exported[n] {
				t.Errorf("the dashboard queries %s (in %q), which the exporter does not export", n, expr)
			}
		}
	}
	t.Logf("%d expressions, %d metric references, all exported", len(exprs), queried)
}

// collect returns one collection's instruments by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	return got
}

// The -rate metrics are Kafka Connect's Rate of the totals between
// collections: within the first 30 s window the increase is divided by the
// window (30 s), as Kafka Connect's Rate divides by at least
// (samples − 1) × window.
func TestMetricsRates(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	e := newEnv(t, runner.Config{MeterProvider: mp}).start()
	for _, c := range []struct {
		name   string
		config map[string]string
	}{{"src", srcConfig()}, {"snk", sinkConfig()}} {
		if err := e.r.CreateConnector(c.name, c.config, ""); err != nil {
			t.Fatal(err)
		}
		e.waitState(c.name, connect.StateRunning, 1)
	}
	got := collect(t, reader)
	if v := point(got["source-record-poll-rate"], "connector=src", "task=0"); v != 0 {
		t.Fatalf("first collection: source-record-poll-rate = %v, want 0", v)
	}
	// The fakes observed no Put: an empty window is NaN, as in Kafka
	// Connect, and the series is there.
	if g, ok := got["put-batch-max-time-ms"].(metricdata.Gauge[float64]); !ok || len(g.DataPoints) != 1 || !math.IsNaN(g.DataPoints[0].Value) {
		t.Errorf("put-batch-max-time-ms of an empty window: %+v, want one NaN point", got["put-batch-max-time-ms"])
	}
	e.f.Pipe("src").SetTask(0, func(ts *connect.TaskStatus) { ts.RecordsIn += 300; ts.RecordsOut += 150 })
	e.f.Pipe("snk").SetTask(0, func(ts *connect.TaskStatus) {
		ts.RecordsIn += 600
		ts.RecordsOut += 90
		ts.OffsetCommits += 30
		ts.OffsetCommitSkips += 3
	})
	got = collect(t, reader)
	for _, c := range []struct {
		name, conn string
		want       float64
	}{
		{"source-record-poll-rate", "src", 10},
		{"source-record-write-rate", "src", 5},
		{"sink-record-read-rate", "snk", 20},
		{"sink-record-send-rate", "snk", 3},
		{"offset-commit-completion-rate", "snk", 1},
		{"offset-commit-skip-rate", "snk", 0.1},
	} {
		if v := point(got[c.name], "connector="+c.conn, "task=0"); math.Abs(v-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, v, c.want)
		}
	}
	if _, ok := got["sink-record-read-rate"].(metricdata.Gauge[float64]); !ok {
		t.Errorf("sink-record-read-rate is %T, want a float gauge", got["sink-record-read-rate"])
	}
}

// connect-worker-metrics: connector startups count connector starts and the
// failed ones, and stay counted once the connector is deleted; the
// per-connector task counts follow the tasks' states.
func TestMetricsWorkerStartupsAndTaskCounts(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	e := newEnv(t, runner.Config{MeterProvider: mp}).start()
	if err := e.r.CreateConnector("ok", srcConfig("fake.tasks", "3"), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("ok", connect.StateRunning, 3)
	if err := e.r.CreateConnector("bad", srcConfig("fake.build.fail", "boom"), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed build", func() bool {
		return point(collect(t, reader)["connector-startup-failure-total"]) == 1
	})
	// Task 1 failed before it started (a failed startup), task 2 was
	// restarted twice by the restart policy.
	e.f.Pipe("ok").SetTask(1, func(ts *connect.TaskStatus) { ts.State, ts.Started = connect.StateFailed, time.Time{} })
	e.f.Pipe("ok").SetTask(2, func(ts *connect.TaskStatus) { ts.State, ts.Restarts = connect.StatePaused, 2 })
	got := collect(t, reader)
	for _, c := range []struct {
		name string
		want float64
		kv   []string
	}{
		{"connector-startup-attempts-total", 2, nil},
		{"connector-startup-success-total", 1, nil},
		{"connector-startup-failure-total", 1, nil},
		{"connector-startup-success-percentage", 0.5, nil},
		{"connector-startup-failure-percentage", 0.5, nil},
		// 3 tasks started, one of them twice more by the restart policy.
		{"task-startup-attempts-total", 5, nil},
		{"task-startup-success-total", 4, nil},
		{"task-startup-failure-total", 1, nil},
		{"task-startup-failure-percentage", 0.2, nil},
		{"task-startup-success-percentage", 0.8, nil},
		{"connector-total-task-count", 3, []string{"connector=ok"}},
		{"connector-running-task-count", 1, []string{"connector=ok"}},
		{"connector-failed-task-count", 1, []string{"connector=ok"}},
		{"connector-paused-task-count", 1, []string{"connector=ok"}},
		{"connector-destroyed-task-count", 0, []string{"connector=ok"}},
		{"connector-class", 1, []string{"connector=ok", "class=" + fakeSourceClass}},
		{"connector-version", 1, []string{"connector=ok", "version=1.2.3"}}, // the plugin's
		{"status", 1, []string{"connector=ok", "task=1", "status=failed"}},
	} {
		if v := point(got[c.name], c.kv...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, v, c.want)
		}
	}
	// Deleting the connectors keeps the worker's totals.
	for _, n := range []string{"ok", "bad"} {
		if err := e.r.Remove(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	got = collect(t, reader)
	if v := point(got["connector-startup-attempts-total"]); v != 2 {
		t.Errorf("connector-startup-attempts-total after the deletes = %v, want 2", v)
	}
	if v := point(got["task-startup-attempts-total"]); v != 5 {
		t.Errorf("task-startup-attempts-total after the deletes = %v, want 5", v)
	}
	if v := point(got["connector-total-task-count"], "connector=ok"); !math.IsNaN(v) {
		t.Errorf("connector-total-task-count of a deleted connector = %v", v)
	}
}

// connector-startup-* count connector starts only: reading or altering the
// offsets of a STOPPED connector builds its pipeline but starts nothing.
func TestMetricsOffsetsRequestsAreNoStartups(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	e := newEnv(t, runner.Config{MeterProvider: mp}).start()
	if err := e.r.CreateConnector("ok", srcConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("ok", connect.StateRunning, 1)
	// Created STOPPED: no incarnation, so each offsets read builds one.
	if err := e.r.CreateConnector("st", srcConfig(), connect.StateStopped); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := e.r.Offsets(context.Background(), "st"); err != nil {
			t.Fatal(err)
		}
	}
	if got := point(collect(t, reader)["connector-startup-attempts-total"]); got != 1 {
		t.Errorf("connector-startup-attempts-total = %v after one start and three offsets reads of a STOPPED connector, want 1", got)
	}
}
