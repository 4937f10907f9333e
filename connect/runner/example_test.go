package runner_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// counterPipeline is a stand-in for a source.Pipeline: it reports 42
// records polled and delivered once running.
type counterPipeline struct {
	name   string
	mu     sync.Mutex
	state  connect.State
	paused bool
}

func (p *counterPipeline) Name() string { return p.name }
func (p *counterPipeline) Type() string { return connect.TypeSource }

func (p *counterPipeline) Run(ctx context.Context) error {
	p.set(connect.StateRunning)
	<-ctx.Done()
	p.set(connect.StateStopped)
	return nil
}

func (p *counterPipeline) set(s connect.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == connect.StateRunning && p.paused {
		s = connect.StatePaused
	}
	p.state = s
}

func (p *counterPipeline) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	if p.state == connect.StateRunning {
		p.state = connect.StatePaused
	}
}

func (p *counterPipeline) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
	if p.state == connect.StatePaused {
		p.state = connect.StateRunning
	}
}

func (p *counterPipeline) PipelineStatus() connect.PipelineStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return connect.PipelineStatus{Name: p.name, Type: connect.TypeSource, State: p.state, Tasks: []connect.TaskStatus{
		{ID: 0, State: p.state, RecordsIn: 42, RecordsOut: 42, Lag: -1, Started: time.Now()},
	}}
}

// Run pipelines under a Runner, serve Kafka Connect's REST API under
// /connect/ and the metrics in Prometheus's format under /metrics.
func ExampleRunner() {
	// Metrics: an OpenTelemetry MeterProvider exporting to Prometheus, with
	// Kafka Connect's metric names.
	registry := promclient.NewRegistry()
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		panic(err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer provider.Shutdown(context.Background())

	r, err := runner.New(runner.Config{
		MeterProvider: provider,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	// A pipeline built in Go (e.g. with source.New): the builder runs again
	// on every restart.
	err = r.AddPipeline("numbers", map[string]string{"topic": "numbers"}, func(ctx context.Context) (connect.Pipeline, error) {
		return &counterPipeline{name: "numbers"}, nil
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/connect/", http.StripPrefix("/connect", r.Handler())) // behind the application's auth, if any
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux) // http.ListenAndServe(":8083", mux) in a real program
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for {
		if st, _ := r.Status("numbers"); st.State == connect.StateRunning {
			break
		}
		time.Sleep(time.Millisecond)
	}

	get := func(path string) string {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	fmt.Println(get("/connect/connectors"))
	fmt.Println(get("/connect/connectors/numbers/config"))
	sc := bufio.NewScanner(strings.NewReader(get("/metrics")))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "source_record_poll_total{") {
			fmt.Println(sc.Text())
		}
	}

	cancel()
	fmt.Println("Run returned:", <-done)
	// Output:
	// ["numbers"]
	// {"name":"numbers","topic":"numbers"}
	// source_record_poll_total{connector="numbers",task="0"} 42
	// Run returned: <nil>
}
