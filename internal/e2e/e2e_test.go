// Package e2e tests the Runner with real pipelines against a Kafka broker
// (the in-process one by default, Apache Kafka when KAFKA_BOOTSTRAP_SERVERS
// is set; see internal/kafkatest).
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

func TestMain(m *testing.M) {
	// sarama's circuit-breaker timer goroutine exits by itself (see
	// source's TestMain).
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}

// counterTask emits records "<seq>" for source partition {"counter":"c"}
// with offset {"seq": n}, up to counter.records records in total, resuming
// after the committed offset.
type counterTask struct {
	topic string
	limit int64
	next  int64
}

func (c *counterTask) Start(ctx context.Context, tc source.TaskContext) error {
	cfg := tc.Config()
	c.topic = cfg["topic"]
	n, err := strconv.ParseInt(cfg["counter.records"], 10, 64)
	if err != nil {
		return fmt.Errorf("counter.records: %w", err)
	}
	c.limit = n
	off, err := tc.Offsets().Offset(ctx, map[string]any{"counter": "c"})
	if err != nil {
		return err
	}
	if off != nil {
		seq, err := asInt64(off["seq"])
		if err != nil {
			return err
		}
		c.next = seq + 1
	}
	return nil
}

func asInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case float64:
		return int64(n), nil
	case json.Number:
		return n.Int64()
	}
	return 0, fmt.Errorf("offset seq has type %T", v)
}

func (c *counterTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if c.next >= c.limit {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
		return nil, nil
	}
	n := min(100, c.limit-c.next)
	out := make([]connect.Record, n)
	for i := range out {
		seq := c.next + int64(i)
		out[i] = connect.Record{
			Topic:           c.topic,
			ValueSchema:     connect.OptionalBytesSchema,
			Value:           []byte(strconv.FormatInt(seq, 10)),
			SourcePartition: map[string]any{"counter": "c"},
			SourceOffset:    map[string]any{"seq": seq},
		}
	}
	c.next += n
	return out, nil
}

func (c *counterTask) Stop(context.Context) error { return nil }

// counterPlugin builds source pipelines from properties, sharing store.
func counterPlugin(t testing.TB, store offsets.Store) connect.Plugin {
	return connect.Plugin{
		Class: "com.example.CounterSourceConnector", Type: connect.TypeSource, Version: "0.1.0",
		New: func(ctx context.Context, worker, connector map[string]string) (connect.Pipeline, error) {
			cfg, err := source.ConfigFromProperties(worker, connector, source.PropertyOptions{
				NewTask:     func() source.Task { return &counterTask{} },
				OffsetStore: store,
			})
			if err != nil {
				return nil, err
			}
			cfg.Sarama = kafkatest.SaramaConfig(t)
			cfg.Logger = connect.ContextLogger(ctx)
			return source.New(cfg)
		},
		Validate: func(c map[string]string) []connect.ConfigIssue {
			if _, err := strconv.ParseInt(c["counter.records"], 10, 64); err != nil {
				return []connect.ConfigIssue{{Key: "counter.records", Message: "must be an integer"}}
			}
			return nil
		},
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// promScraper returns a MeterProvider and the Prometheus scrape handler.
func promScraper(t testing.TB) (*sdkmetric.MeterProvider, http.Handler) {
	reg := promclient.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func scrape(t *testing.T, h http.Handler, series string) float64 {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no series %s in:\n%s", series, w.Body)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// call sends a request to the REST handler over HTTP.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustCall(t *testing.T, srv *httptest.Server, method, path, body string, want int) string {
	t.Helper()
	code, out := call(t, srv, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

type restStatus struct {
	Connector struct {
		State string `json:"state"`
	} `json:"connector"`
	Tasks []struct {
		State  string `json:"state"`
		Sluice struct {
			RecordsIn  int64 `json:"records_in"`
			RecordsOut int64 `json:"records_out"`
		} `json:"sluice"`
	} `json:"tasks"`
}

func status(t *testing.T, srv *httptest.Server, name string) restStatus {
	t.Helper()
	var st restStatus
	if err := json.Unmarshal([]byte(mustCall(t, srv, "GET", "/connectors/"+name+"/status", "", 200)), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// sameJSON reports whether two JSON documents are equal once decoded.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// endOffset returns the number of records in partition 0 of topic.
func endOffset(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	off, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// A real source pipeline, created from properties over REST, under a
// Runner: after N records the scrape shows source-record-poll-total = N;
// its offsets are listed while RUNNING, refused changes while RUNNING,
// altered and reset while STOPPED, and the task resumes from the altered
// offset.
func TestSourceConnectorOverRESTWithMetrics(t *testing.T) {
	const n = 500
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	mp, metrics := promScraper(t)
	r, err := runner.New(runner.Config{
		Worker:        map[string]string{"bootstrap.servers": strings.Join(brokers, ","), "offset.flush.interval.ms": "50"},
		MeterProvider: mp,
		Logger:        quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	store := offsets.NewMemoryStore()
	if err := r.Register(counterPlugin(t, store)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	mustCall(t, srv, "POST", "/connectors", fmt.Sprintf(
		`{"name":"counter","config":{"connector.class":"CounterSource","topic":%q,"counter.records":"%d"}}`, topic, n), 201)
	eventually(t, "N records delivered", 30*time.Second, func() bool {
		st := status(t, srv, "counter")
		return st.Connector.State == "RUNNING" && len(st.Tasks) == 1 && st.Tasks[0].Sluice.RecordsOut == n
	})
	if got := scrape(t, metrics, `source_record_poll_total{connector="counter",task="0"}`); got != n {
		t.Fatalf("source_record_poll_total = %v, want %d", got, n)
	}
	if got := scrape(t, metrics, `source_record_write_total{connector="counter",task="0"}`); got != n {
		t.Fatalf("source_record_write_total = %v, want %d", got, n)
	}

	want := `{"offsets":[{"offset":{"seq":499},"partition":{"counter":"c"}}]}`
	eventually(t, "offsets committed", 10*time.Second, func() bool {
		return sameJSON(t, mustCall(t, srv, "GET", "/connectors/counter/offsets", "", 200), want)
	})
	patch := `{"offsets":[{"partition":{"counter":"c"},"offset":{"seq":99}}]}`
	if out := mustCall(t, srv, "PATCH", "/connectors/counter/offsets", patch, 400); !strings.Contains(out, "STOPPED") {
		t.Fatalf("PATCH while running: %s", out)
	}
	mustCall(t, srv, "DELETE", "/connectors/counter/offsets", "", 400)

	mustCall(t, srv, "PUT", "/connectors/counter/stop", "", 204)
	if st := status(t, srv, "counter"); st.Connector.State != "STOPPED" || len(st.Tasks) != 0 {
		t.Fatalf("after stop: %+v", st)
	}
	if out := mustCall(t, srv, "PATCH", "/connectors/counter/offsets", patch, 200); out != `{"message":"The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."}` {
		t.Fatal(out)
	}
	if out := mustCall(t, srv, "GET", "/connectors/counter/offsets", "", 200); !sameJSON(t, out, `{"offsets":[{"offset":{"seq":99},"partition":{"counter":"c"}}]}`) {
		t.Fatalf("after PATCH: %s", out)
	}

	// Resumed, the task starts after seq 99: 400 more records.
	mustCall(t, srv, "PUT", "/connectors/counter/resume", "", 202)
	eventually(t, "replay delivered", 30*time.Second, func() bool {
		st := status(t, srv, "counter")
		return st.Connector.State == "RUNNING" && len(st.Tasks) == 1 && st.Tasks[0].Sluice.RecordsOut == n-100
	})
	if got := endOffset(t, brokers, topic); got != n+n-100 {
		t.Fatalf("topic has %d records, want %d", got, n+n-100)
	}
	// Counters are cumulative across the restart.
	if got := scrape(t, metrics, `source_record_poll_total{connector="counter",task="0"}`); got != n+n-100 {
		t.Fatalf("source_record_poll_total = %v, want %d", got, n+n-100)
	}

	mustCall(t, srv, "PUT", "/connectors/counter/stop", "", 204)
	if out := mustCall(t, srv, "DELETE", "/connectors/counter/offsets", "", 200); out != `{"message":"The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."}` {
		t.Fatal(out)
	}
	if out := mustCall(t, srv, "GET", "/connectors/counter/offsets", "", 200); out != `{"offsets":[]}` {
		t.Fatalf("after reset: %s", out)
	}
	mustCall(t, srv, "DELETE", "/connectors/counter", "", 204)
	mustCall(t, srv, "GET", "/connectors/counter/status", "", 404)
}

// A pipeline built in Go (source.New) under a Runner: after N records the
// scrape shows source-record-poll-total = N, and a config change of another
// connector leaves it alone.
func TestGoBuiltSourceMetrics(t *testing.T) {
	const n = 300
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	mp, metrics := promScraper(t)
	r, err := runner.New(runner.Config{MeterProvider: mp, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var builds atomic.Int32
	build := func(ctx context.Context) (connect.Pipeline, error) {
		builds.Add(1)
		return source.New(source.Config{
			Name: "gen", Brokers: brokers,
			NewTask:     func() source.Task { return &counterTask{} },
			Properties:  map[string]string{"topic": topic, "counter.records": strconv.Itoa(n)},
			Sarama:      kafkatest.SaramaConfig(t),
			Logger:      connect.ContextLogger(ctx),
			OffsetStore: offsets.NewMemoryStore(),
		})
	}
	if err := r.AddPipeline("gen", map[string]string{"topic": topic}, build); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	eventually(t, "N records delivered", 30*time.Second, func() bool {
		st, err := r.Status("gen")
		return err == nil && len(st.Tasks) == 1 && st.Tasks[0].RecordsOut == n
	})
	if got := scrape(t, metrics, `source_record_poll_total{connector="gen",task="0"}`); got != n {
		t.Fatalf("source_record_poll_total = %v, want %d", got, n)
	}
	if got := scrape(t, metrics, `source_record_active_count{connector="gen",task="0"}`); got != 0 {
		t.Fatalf("source_record_active_count = %v", got)
	}
	st, _ := r.Status("gen")
	if st.Stalled() || st.Tasks[0].InFlight != 0 {
		t.Fatalf("an idle source is reported stalled: %+v", st)
	}
	if builds.Load() != 1 {
		t.Fatalf("builds %d", builds.Load())
	}
}
