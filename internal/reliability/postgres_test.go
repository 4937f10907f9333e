package reliability_test

// The database outage scenario: PostgreSQL stopped mid-run under the
// PostgreSQL sink (examples/connectors/postgres). It starts its own
// PostgreSQL cluster with scripts/postgres (CI's SLUICE_POSTGRES_URL server
// is shared with other tests, so it is never stopped here).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/examples/connectors/postgres"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// TestPostgresOutage: a PostgreSQL sink pipeline (insert mode, no primary
// key, so a record written twice is a second row) writes a stream of
// numbered records produced to two partitions at a steady rate. The
// database is stopped (pg_ctl stop -m fast) once a quarter of the stream is
// written, kept down 10 s (30 s with SLUICE_RELIABILITY=full) while the
// stream goes on, and started again. No record is lost and none is written
// twice: the table holds every number exactly once, the sink's offsets table
// and the consumer group's offsets are at the end of the topic.
//
// The scenario starts its own PostgreSQL cluster on a free port with
// scripts/postgres/start.sh (SLUICE_POSTGRES_PORT; its instance directory
// is per port) and removes it afterwards (stop.sh --clean). Without
// PostgreSQL's server binaries it is skipped, except under CI=true, where
// that is a failure.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() && !ciRun() {
		t.Skip("-short: the PostgreSQL outage scenario starts its own database cluster")
	}
	noLeaks(t)
	log := scenarioLog(t)
	outage := 10 * time.Second
	if fullRun() {
		outage = 30 * time.Second
	}
	pg := startOwnPostgres(t)
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	table := strings.ToLower(strings.ReplaceAll(topic, "-", "_"))
	if len(table) > 60 {
		table = "reliability_pg_" + table[len(table)-12:]
	}

	// The stream: 200 records/s, long enough to run before, during and
	// after the outage.
	const rate = 200
	total := rate * int((4*time.Second + outage + 4*time.Second).Seconds())
	prod := startSteadyProducer(t, brokers, topic, total, rate)

	jsonConv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sink.New(sink.Config{
		Name: "pg-outage", Brokers: brokers, Topics: []string{topic}, GroupID: kafkatest.Topic(t),
		NewTask: func() sink.Task { return &postgres.SinkTask{Logger: log} },
		Properties: map[string]string{
			postgres.ConnectionURLConfig:   pg.url,
			postgres.InsertModeConfig:      "insert",
			postgres.PKModeConfig:          "none",
			postgres.AutoCreateConfig:      "true",
			postgres.TableNameFormatConfig: table,
		},
		ValueConverter: jsonConv,
		BatchSize:      200,
		// Put is retried without limit while the database is away; the
		// backoff is capped at 2 s so the sink notices its return soon.
		Errors:              sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceNone, RetryDelayMax: 2 * time.Second, LogEnable: true},
		OffsetFlushInterval: time.Second,
		Sarama:              kafkatest.SaramaConfig(t),
		ConsumerProps:       map[string]string{"session.timeout.ms": "10000", "heartbeat.interval.ms": "500"},
		Logger:              log,
	})
	if err != nil {
		t.Fatal(err)
	}
	run := runInBackground(t, sk)
	ctx := context.Background()

	rows := func() (n, distinct int64, err error) {
		err = pg.query(ctx, fmt.Sprintf(`SELECT count(*), count(DISTINCT id) FROM %q`, table), &n, &distinct)
		if err != nil && strings.Contains(err.Error(), "does not exist") {
			return 0, 0, nil // not created yet
		}
		return n, distinct, err
	}
	var lastErr error
	if !waitUntil(ctx, 90*time.Second, func() bool {
		n, _, err := rows()
		lastErr = err
		return n >= int64(total/4) || run.exited()
	}) {
		t.Fatalf("the sink wrote fewer than %d rows in 90 s before any fault (last error: %v)", total/4, lastErr)
	}
	if run.exited() {
		t.Fatalf("the sink pipeline stopped before the outage: %v", run.stop(t))
	}

	// The outage.
	rowsAtStop, _, _ := rows()
	pg.stop(t)
	stopped := time.Now()
	var failedDuringOutage bool
	for time.Since(stopped) < outage {
		if st := sk.PipelineStatus(); len(st.Tasks) > 0 && st.Tasks[0].State == "FAILED" {
			failedDuringOutage = true
		}
		if run.exited() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	down := time.Since(stopped)
	producedAtRestart := prod.sent.Load()
	back := time.Now() // recover_s counts from the start command
	pg.start(t)

	// Recovery: everything produced by the time the database came back is
	// in the table.
	recoverAfter := time.Duration(-1)
	if waitUntil(ctx, 90*time.Second, func() bool {
		n, _, err := rows()
		lastErr = err
		return n >= producedAtRestart || run.exited()
	}) && !run.exited() {
		recoverAfter = time.Since(back)
	}
	// The end: every record produced, written, and the group's offsets at
	// the end of the topic.
	prodErr := prod.wait()
	ends := endOffsets(t, brokers, topic)
	done := waitUntil(ctx, 90*time.Second, func() bool { return sinkCommittedAt(sk, topic, ends) || run.exited() })
	var putRetries int64
	if st := sk.PipelineStatus(); len(st.Tasks) > 0 {
		putRetries = st.Tasks[0].PutRetries
	}
	runErr := run.stop(t)
	group := groupOffsets(t, brokers, sk.GroupID(), topic, ends)

	n, distinct, err := rows()
	if err != nil {
		t.Fatalf("counting the rows: %v", err)
	}
	var minID, maxID int64
	if err := pg.query(ctx, fmt.Sprintf(`SELECT coalesce(min(id), -1), coalesce(max(id), -1) FROM %q`, table), &minID, &maxID); err != nil {
		t.Fatalf("reading the ids: %v", err)
	}
	stored := map[int32]int64{}
	if err := pg.eachRow(ctx, `SELECT "partition", next_offset FROM "__sluice_offsets" WHERE connector = $1 AND topic = $2`,
		[]any{"pg-outage", topic}, func(r pgx.Rows) error {
			var p int32
			var next int64
			if err := r.Scan(&p, &next); err != nil {
				return err
			}
			stored[p] = next
			return nil
		}); err != nil {
		t.Fatalf("reading the sink's offsets table: %v", err)
	}
	lost, dup := int64(total)-distinct, n-distinct

	if prodErr != nil {
		t.Fatalf("producing the stream: %v", prodErr)
	}
	if runErr != nil {
		t.Errorf("the sink pipeline failed: %v (a database outage must be retried, never fail the task)", runErr)
	}
	if failedDuringOutage {
		t.Errorf("the sink task was FAILED during the database outage")
	}
	if !done {
		t.Errorf("the group's offsets did not reach the end of the topic within 90 s of the stream's end")
	}
	if putRetries == 0 {
		t.Errorf("no Put was retried: the sink never met the outage, the scenario did not run as meant")
	}
	if lost > 0 || minID != 0 || maxID != int64(total-1) {
		t.Errorf("%d of %d records missing from the table (ids %d..%d)", lost, total, minID, maxID)
	}
	if dup > 0 {
		t.Errorf("%d records written twice: the sink stores its offsets with the rows, a retry must not write again", dup)
	}
	for p, end := range ends {
		if stored[p] != end {
			t.Errorf("partition %d: the sink's offsets table says next offset %d, want the end of the topic %d", p, stored[p], end)
		}
		if group[p] != end {
			t.Errorf("partition %d: the group's committed offset is %d, want the end of the topic %d", p, group[p], end)
		}
	}
	printFigures(t, "postgres-outage", "broker", brokerKind(), "records", total, "lost", lost, "dup", dup,
		"outage_s", down, "rows_at_stop", rowsAtStop, "put_retries", putRetries, "recover_s", recoverAfter,
		"failed_during_outage", failedDuringOutage)
}

// ownPostgres is a PostgreSQL cluster started for one test.
type ownPostgres struct {
	root string   // the repository root
	env  []string // the scripts' environment
	url  string
}

// startOwnPostgres starts a private PostgreSQL cluster on a free loopback
// port with scripts/postgres/start.sh and removes it when the test ends.
// Without server binaries it skips t (fails it under CI).
func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	if !havePostgresBinaries() {
		if ciRun() {
			t.Fatal("CI=true but no PostgreSQL server binaries (initdb, pg_ctl) were found: the database outage scenario needs them")
		}
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl; Debian's postgresql package): the database outage scenario is skipped")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	pg := &ownPostgres{root: repoRootDir(t)}
	// The scripts' settings of a shared server (SLUICE_POSTGRES_DATA, …)
	// must not leak into ours: its instance directory is chosen by port.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_POSTGRES_") {
			pg.env = append(pg.env, kv)
		}
	}
	pg.env = append(pg.env, fmt.Sprintf("SLUICE_POSTGRES_PORT=%d", port))
	guard := pg.startGuard()
	t.Cleanup(func() {
		if out, err := pg.script("stop.sh", "--clean"); err != nil {
			t.Errorf("removing the scenario's PostgreSQL cluster: %v\n%s", err, out)
		}
		if guard != nil {
			_ = syscall.Kill(-guard.Process.Pid, syscall.SIGKILL)
			_ = guard.Wait()
		}
	})
	pg.start(t)
	return pg
}

// startGuard starts a process, in a session of its own, that removes the
// cluster (stop.sh --clean) once this test binary is gone: pg_ctl detaches
// the server, which would otherwise outlive a test binary killed before
// its cleanups (go test -timeout, SIGKILL).
func (pg *ownPostgres) startGuard() *exec.Cmd {
	script := `while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" --clean`
	cmd := exec.Command("bash", "-c", script, "guard", strconv.Itoa(os.Getpid()), filepath.Join(pg.root, "scripts", "postgres", "stop.sh"))
	cmd.Dir = pg.root
	cmd.Env = pg.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability: starting the PostgreSQL cluster's guard:", err)
		return nil
	}
	return cmd
}

// havePostgresBinaries reports whether initdb and pg_ctl exist where
// scripts/postgres/lib.sh looks for them.
func havePostgresBinaries() bool {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return true
		}
	}
	_, err1 := exec.LookPath("initdb")
	_, err2 := exec.LookPath("pg_ctl")
	return err1 == nil && err2 == nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// repoRootDir returns the directory holding go.mod.
func repoRootDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// script runs scripts/postgres/<name> with the cluster's environment and
// returns its standard output (standard error too on failure).
func (pg *ownPostgres) script(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(pg.root, "scripts", "postgres", name)}, args...)...)
	cmd.Dir = pg.root
	cmd.Env = pg.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// start starts (or restarts) the cluster and reads its URL.
func (pg *ownPostgres) start(t *testing.T) {
	t.Helper()
	out, err := pg.script("start.sh")
	if err != nil {
		t.Fatalf("scripts/postgres/start.sh: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export SLUICE_POSTGRES_URL="); ok {
			pg.url = u
		}
	}
	if pg.url == "" {
		t.Fatalf("scripts/postgres/start.sh printed no SLUICE_POSTGRES_URL:\n%s", out)
	}
}

// stop stops the cluster, keeping its data.
func (pg *ownPostgres) stop(t *testing.T) {
	t.Helper()
	if out, err := pg.script("stop.sh"); err != nil {
		t.Fatalf("scripts/postgres/stop.sh: %v\n%s", err, out)
	}
}

// query runs a one-row query on a connection of its own.
func (pg *ownPostgres) query(ctx context.Context, sql string, dest ...any) error {
	return pg.eachRow(ctx, sql, nil, func(r pgx.Rows) error { return r.Scan(dest...) })
}

// eachRow runs sql with args on a connection of its own and calls fn for
// every row.
func (pg *ownPostgres) eachRow(ctx context.Context, sql string, args []any, fn func(pgx.Rows) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// steadyProducer writes total records "valid envelopes" with ids 0..total-1,
// alternating between partitions 0 and 1, at rate records per second.
type steadyProducer struct {
	sent atomic.Int64
	wg   sync.WaitGroup
	err  error
}

func startSteadyProducer(t *testing.T, brokers []string, topic string, total, rate int) *steadyProducer {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &steadyProducer{}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer prod.Close()
		const tick = 100 * time.Millisecond
		perTick := max(1, rate/10)
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		for i := 0; i < total; {
			select {
			case <-ctx.Done():
				p.err = errors.New("cancelled before the stream's end")
				return
			case <-ticker.C:
			}
			msgs := make([]*sarama.ProducerMessage, 0, perTick)
			for ; len(msgs) < perTick && i < total; i++ {
				msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: int32(i % 2), Value: sarama.ByteEncoder(validEnvelope(i))})
			}
			if err := prod.SendMessages(msgs); err != nil {
				p.err = fmt.Errorf("producing records %d..%d: %w", i-len(msgs), i-1, err)
				return
			}
			p.sent.Add(int64(len(msgs)))
		}
	}()
	t.Cleanup(func() { cancel(); p.wg.Wait() })
	return p
}

// wait waits for the stream's end and returns the producer's error.
func (p *steadyProducer) wait() error {
	p.wg.Wait()
	return p.err
}
