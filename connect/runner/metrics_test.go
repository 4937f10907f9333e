package runner_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// promEnv is a MeterProvider exporting to a Prometheus registry, scraped
// through promhttp as a Prometheus server would.
type promEnv struct {
	mp     *sdkmetric.MeterProvider
	scrape http.Handler
}

func newPromEnv(t *testing.T, opts ...otelprom.Option) *promEnv {
	t.Helper()
	reg := promclient.NewRegistry()
	exp, err := otelprom.New(append([]otelprom.Option{otelprom.WithRegisterer(reg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &promEnv{mp: mp, scrape: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
}

// kcNames are the exporter options under which scraped names are Kafka
// Connect's (see metrics.go).
var kcNames = []otelprom.Option{
	otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
	otelprom.WithoutScopeInfo(),
	otelprom.WithoutTargetInfo(),
}

func (p *promEnv) text(t *testing.T) string {
	t.Helper()
	w := httptest.NewRecorder()
	p.scrape.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// value returns the sample of the series whose name and labels are given
// (labels in Prometheus's sorted order), or -1.
func sample(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

func wantSample(t *testing.T, text, series string, want float64) {
	t.Helper()
	if got := sample(text, series); got != want {
		t.Errorf("%s = %v, want %v\nscrape:\n%s", series, got, want, text)
	}
}

func TestMetricsPrometheusNames(t *testing.T) {
	prom := newPromEnv(t, kcNames...)
	e := newEnv(t, runner.Config{MeterProvider: prom.mp}).start()
	if err := e.r.CreateConnector("src", srcConfig(), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.r.CreateConnector("snk", sinkConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("src", connect.StateRunning, 1)
	e.waitState("snk", connect.StateRunning, 1)

	text := prom.text(t)
	// The fakes report 100 records in, 95 (source) / 80 (sink) out.
	wantSample(t, text, `source_record_poll_total{connector="src",task="0"}`, 100)
	wantSample(t, text, `source_record_write_total{connector="src",task="0"}`, 95)
	wantSample(t, text, `source_record_active_count{connector="src",task="0"}`, 0)
	wantSample(t, text, `sink_record_read_total{connector="snk",task="0"}`, 100)
	wantSample(t, text, `sink_record_send_total{connector="snk",task="0"}`, 80)
	wantSample(t, text, `sink_record_active_count{connector="snk",task="0"}`, 20)
	wantSample(t, text, `partition_count{connector="snk",task="0"}`, 2)
	// The fake sink made 4 commit attempts: 3 succeeded, 1 failed and was
	// abandoned.
	wantSample(t, text, `offset_commit_completion_total{connector="snk",task="0"}`, 3)
	wantSample(t, text, `offset_commit_skip_total{connector="snk",task="0"}`, 1)
	wantSample(t, text, `offset_commit_failure_percentage{connector="snk",task="0"}`, 0.25)
	wantSample(t, text, `offset_commit_success_percentage{connector="snk",task="0"}`, 0.75)
	if sample(text, `offset_commit_failure_percentage{connector="src",task="0"}`) != -1 {
		t.Errorf("commit percentages reported for a task that never committed:\n%s", text)
	}
	wantSample(t, text, `sink_record_lag{connector="snk",partition="0",task="0",topic="orders"}`, 20)
	wantSample(t, text, `sink_record_lag{connector="snk",partition="1",task="0",topic="orders"}`, 20)
	wantSample(t, text, `total_record_failures{connector="src",task="0"}`, 3)
	wantSample(t, text, `total_record_errors{connector="src",task="0"}`, 1)
	wantSample(t, text, `total_records_skipped{connector="src",task="0"}`, 1)
	wantSample(t, text, `total_retries{connector="src",task="0"}`, 2)
	wantSample(t, text, `total_errors_logged{connector="src",task="0"}`, 1)
	wantSample(t, text, `deadletterqueue_produce_requests{connector="snk",task="0"}`, 1)
	wantSample(t, text, `deadletterqueue_produce_failures{connector="snk",task="0"}`, 0)
	wantSample(t, text, `last_error_timestamp{connector="src",task="0"}`, float64(t0.Add(1e9).UnixMilli()))
	wantSample(t, text, `connector_task_status{connector="src",status="running",task="0"}`, 1)
	wantSample(t, text, `connector_status{connector="snk",status="running"}`, 1)
	wantSample(t, text, `connector_task_stalled{connector="snk",task="0"}`, 1) // 20 in flight, no progress since 2024
	wantSample(t, text, `connector_task_stalled{connector="src",task="0"}`, 0)
	wantSample(t, text, `connector_count`, 2)
	wantSample(t, text, `task_count`, 2)
	if !strings.Contains(text, "# TYPE source_record_poll_total counter") {
		t.Errorf("source_record_poll_total is not a counter:\n%s", text)
	}

	// A paused sink keeps reporting its lag (Kafka Connect defines
	// sink-record-lag-max but never records it).
	if err := e.r.Pause("snk"); err != nil {
		t.Fatal(err)
	}
	e.waitState("snk", connect.StatePaused, 1)
	text = prom.text(t)
	wantSample(t, text, `sink_record_lag_max{connector="snk",task="0"}`, 20)
	wantSample(t, text, `connector_task_status{connector="snk",status="paused",task="0"}`, 1)
	if sample(text, `connector_task_status{connector="snk",status="running",task="0"}`) != -1 {
		t.Errorf("a stale running status series remains:\n%s", text)
	}

	// Counters stay monotonic across a restart: the new incarnation's 100
	// records add to the previous 100.
	if _, err := e.r.Restart("src", runner.RestartOptions{IncludeTasks: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "rebuild", func() bool { return e.f.Builds("src") == 2 })
	e.waitState("src", connect.StateRunning, 1)
	wantSample(t, prom.text(t), `source_record_poll_total{connector="src",task="0"}`, 200)

	// A deleted connector's series disappear.
	if err := e.r.Remove(context.Background(), "src"); err != nil {
		t.Fatal(err)
	}
	if text := prom.text(t); strings.Contains(text, `connector="src"`) {
		t.Errorf("series of a deleted connector remain:\n%s", text)
	}
}

// With the exporter's default translation, the *-total names are unchanged
// and the task-error counters follow Prometheus's suffix rule (the mapping
// documented in metrics.go).
func TestMetricsPrometheusDefaultTranslation(t *testing.T) {
	prom := newPromEnv(t)
	e := newEnv(t, runner.Config{MeterProvider: prom.mp}).start()
	if err := e.r.CreateConnector("src", srcConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("src", connect.StateRunning, 1)
	text := prom.text(t)
	for _, name := range []string{"source_record_poll_total{", "source_record_write_total{", "record_failures_total{", "deadletterqueue_produce_requests_total{"} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("no %s series:\n%s", name, text)
		}
	}
}

// The OpenTelemetry instrument names are Kafka Connect's metric names.
func TestMetricsInstrumentNames(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	e := newEnv(t, runner.Config{MeterProvider: mp}).start()
	if err := e.r.CreateConnector("snk", sinkConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("snk", connect.StateRunning, 1)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/sluicehq/sluice/connect" {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			got[m.Name] = true
		}
	}
	for _, n := range []string{"sink-record-read-total", "sink-record-send-total", "sink-record-active-count", "sink-record-lag-max",
		"partition-count", "offset-commit-completion-total", "offset-commit-skip-total", "offset-commit-failure-percentage",
		"offset-commit-success-percentage", "total-record-failures", "total-record-errors", "total-records-skipped", "total-retries",
		"total-errors-logged", "deadletterqueue-produce-requests", "deadletterqueue-produce-failures",
		"last-error-timestamp", "connector-task-status", "connector-status", "connector-count", "task-count"} {
		if !got[n] {
			t.Errorf("no instrument %q (have %v)", n, got)
		}
	}
	// After Run returned, the callback is unregistered.
	e.stop()
	rm = metricdata.ResourceMetrics{}
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "sink-record-read-total" {
				if s, ok := m.Data.(metricdata.Sum[int64]); ok && len(s.DataPoints) > 0 {
					t.Errorf("metrics still reported after Run returned: %+v", s.DataPoints)
				}
			}
		}
	}
}

// Exactly-once source tasks report Kafka Connect's transaction-size-min,
// -max and -avg (source-task-metrics) from their status, under Kafka
// Connect's names in OpenTelemetry and Prometheus; an at-least-once source
// task, and an exactly-once one before its first committed transaction,
// has none.
func TestMetricsTransactionSize(t *testing.T) {
	reg := promclient.NewRegistry()
	exp, err := otelprom.New(append([]otelprom.Option{otelprom.WithRegisterer(reg)}, kcNames...)...)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	prom := &promEnv{mp: mp, scrape: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}

	e := newEnv(t, runner.Config{MeterProvider: mp}).start()
	for _, name := range []string{"eos", "eos-idle", "alo"} {
		if err := e.r.CreateConnector(name, srcConfig(), ""); err != nil {
			t.Fatal(err)
		}
		e.waitState(name, connect.StateRunning, 1)
	}
	e.f.Pipe("eos").SetTask(0, func(ts *connect.TaskStatus) {
		ts.TransactionalID = "g-eos-0"
		ts.Transactions, ts.TransactionAborts = 4, 1
		ts.TransactionSizeMin, ts.TransactionSizeMax, ts.TransactionSizeAvg = 3, 2000, 1250.75
	})
	e.f.Pipe("eos-idle").SetTask(0, func(ts *connect.TaskStatus) { ts.TransactionalID = "g-eos-idle-0" })
	// An at-least-once task's stray values are not reported.
	e.f.Pipe("alo").SetTask(0, func(ts *connect.TaskStatus) {
		ts.Transactions, ts.TransactionSizeMin, ts.TransactionSizeMax, ts.TransactionSizeAvg = 1, 7, 7, 7
	})

	text := prom.text(t)
	wantSample(t, text, `transaction_size_min{connector="eos",task="0"}`, 3)
	wantSample(t, text, `transaction_size_max{connector="eos",task="0"}`, 2000)
	wantSample(t, text, `transaction_size_avg{connector="eos",task="0"}`, 1250.75)
	for _, c := range []string{"eos-idle", "alo"} {
		for _, n := range []string{"transaction_size_min", "transaction_size_max", "transaction_size_avg"} {
			if s := n + `{connector="` + c + `",task="0"}`; sample(text, s) != -1 {
				t.Errorf("%s reported:\n%s", s, text)
			}
		}
	}
	for _, n := range []string{"transaction_size_min", "transaction_size_max", "transaction_size_avg"} {
		if !strings.Contains(text, "# TYPE "+n+" gauge") {
			t.Errorf("%s is not a gauge:\n%s", n, text)
		}
	}

	// OpenTelemetry: the instruments are named as Kafka Connect's metrics,
	// described with Kafka Connect's descriptions, and carry only the
	// exactly-once task's values.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	type point struct {
		conn string
		v    float64
	}
	got := map[string][]point{}
	desc := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.HasPrefix(m.Name, "transaction-size-") {
				continue
			}
			desc[m.Name] = m.Description
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					c, _ := dp.Attributes.Value("connector")
					got[m.Name] = append(got[m.Name], point{c.AsString(), float64(dp.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					c, _ := dp.Attributes.Value("connector")
					got[m.Name] = append(got[m.Name], point{c.AsString(), dp.Value})
				}
			default:
				t.Errorf("%s: %T, want a gauge", m.Name, m.Data)
			}
		}
	}
	for _, w := range []struct {
		name, desc string
		v          float64
	}{
		{"transaction-size-min", "The number of records in the smallest transaction the task has committed so far.", 3},
		{"transaction-size-max", "The number of records in the largest transaction the task has committed so far.", 2000},
		{"transaction-size-avg", "The average number of records in the transactions the task has committed so far.", 1250.75},
	} {
		if p := got[w.name]; len(p) != 1 || p[0] != (point{"eos", w.v}) {
			t.Errorf("%s = %v, want one point {eos %v}", w.name, p, w.v)
		}
		if desc[w.name] != w.desc {
			t.Errorf("%s description %q, want %q", w.name, desc[w.name], w.desc)
		}
	}
}
