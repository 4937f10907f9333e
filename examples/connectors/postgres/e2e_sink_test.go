package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/sink"
)

// jsonConverter is the JSON converter with schemas (Kafka Connect's
// defaults).
func jsonConverter(t testing.TB) *converters.JSON {
	t.Helper()
	c, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// produceRecords serialises n records with the JSON converter (schemas
// enabled) and writes them to topic, record i to partition part(i).
func produceRecords(t testing.TB, brokers []string, topic string, n int, part func(i int) int32,
	rec func(i int) (keySchema *connect.Schema, key any, valueSchema *connect.Schema, value any)) {
	t.Helper()
	conv := jsonConverter(t)
	cfg := sluicetest.SaramaConfig(t)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Flush.Messages = 1000
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer prod.Close()
	ctx := context.Background()
	const chunk = 5000
	msgs := make([]*sarama.ProducerMessage, 0, chunk)
	flush := func() {
		if err := prod.SendMessages(msgs); err != nil {
			t.Fatalf("produce: %v", err)
		}
		msgs = msgs[:0]
	}
	for i := range n {
		ks, k, vs, v := rec(i)
		kb, err := conv.FromConnect(ctx, topic, nil, ks, k)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := conv.FromConnect(ctx, topic, nil, vs, v)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: part(i), Key: sarama.ByteEncoder(kb), Value: sarama.ByteEncoder(vb)})
		if len(msgs) == chunk {
			flush()
		}
	}
	if len(msgs) > 0 {
		flush()
	}
}

// sinkPipeline builds a PostgreSQL sink pipeline for topic with the JSON
// converter; newTask wraps the task when set.
func sinkPipeline(t testing.TB, brokers []string, name, group, topic string, props map[string]string, batch int,
	flush, shutdown time.Duration, newTask func() sink.Task) *sink.Pipeline {
	t.Helper()
	if newTask == nil {
		newTask = func() sink.Task { return &SinkTask{Logger: testLogger()} }
	}
	p, err := sink.New(sink.Config{
		Name:                name,
		GroupID:             group,
		Brokers:             brokers,
		Topics:              []string{topic},
		NewTask:             newTask,
		Properties:          props,
		KeyConverter:        jsonConverter(t),
		ValueConverter:      jsonConverter(t),
		BatchSize:           batch,
		OffsetFlushInterval: flush,
		ShutdownTimeout:     shutdown,
		Sarama:              sluicetest.SaramaConfig(t),
		Logger:              testLogger(),
		ConsumerProps:       map[string]string{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runPipeline runs p until stop is called; stop returns Run's error.
func runPipeline(t testing.TB, p interface{ Run(context.Context) error }) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var stopped atomic.Bool
	var result error
	stop = func() error {
		if stopped.Swap(true) {
			return result
		}
		cancel()
		select {
		case result = <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("pipeline did not stop within 60s")
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (%s)", timeout, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedTotal returns the sum of the stored next offsets of connector's
// partitions of topic: with offsets from 0, the number of records the
// database has accounted for.
func storedTotal(t testing.TB, db *pgxpool.Pool, connector, topic string) int64 {
	t.Helper()
	// On a fresh database the sink creates the offsets table with its
	// first batch: until then nothing is stored.
	if queryInt(t, db, `SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = '__sluice_offsets'`) == 0 {
		return 0
	}
	return queryInt(t, db, `SELECT coalesce(sum(next_offset), 0) FROM __sluice_offsets WHERE connector = $1 AND topic = $2`, connector, topic)
}

var (
	upsertKeySchema   = connect.Int64Schema
	upsertValueSchema = connect.StructBuilder().Name("com.example.Account").
				Field("id", connect.Int64Schema).
				Field("version", connect.Int32Schema).
				Field("owner", connect.StringSchema).
				Field("balance", connect.DecimalSchema(2)).
				Field("updated", connect.TimestampSchema).
				Field("note", connect.OptionalStringSchema).
				MustBuild()
)

// TestSinkUpsertPipeline: 50 000 records, 5 000 keys × 10 versions over 3
// partitions, through Kafka with the JSON converter into PostgreSQL in
// upsert mode (pk.mode=record_key, a primitive key named by pk.fields,
// auto.create), leave exactly one row per key holding its latest version,
// and the stored offsets account for every record.
func TestSinkUpsertPipeline(t *testing.T) {
	db := testDB(t)
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 3, nil)
	dropTable(t, db, quoteIdent(topic))
	dropOffsets(t, db, topic)
	const keys, versions = 5000, 10
	const total = keys * versions
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	produceRecords(t, brokers, topic, total, func(i int) int32 { return int32(i % keys % 3) },
		func(i int) (*connect.Schema, any, *connect.Schema, any) {
			id, v := int64(i%keys), int32(i/keys)
			val := connect.NewStruct(upsertValueSchema).
				MustPut("id", id).MustPut("version", v).
				MustPut("owner", fmt.Sprintf("owner-%d-v%d", id, v)).
				MustPut("balance", connect.NewDecimal(id*100+int64(v), 2)).
				MustPut("updated", base.Add(time.Duration(v)*time.Hour))
			if v%2 == 0 {
				val.MustPut("note", "even")
			}
			return upsertKeySchema, id, upsertValueSchema, val
		})

	t0 := time.Now()
	p := sinkPipeline(t, brokers, topic, "", topic, map[string]string{
		"connector.class": SinkClass, "connection.url": dbURL(t), "insert.mode": "upsert",
		"pk.mode": "record_key", "pk.fields": "id", "auto.create": "true",
	}, 0, 200*time.Millisecond, 0, nil)
	stop := runPipeline(t, p)
	waitFor(t, 120*time.Second, "every record in PostgreSQL", func() (bool, string) {
		n := storedTotal(t, db, topic, topic)
		return n == total, fmt.Sprintf("%d of %d records accounted for", n, total)
	})
	elapsed := time.Since(t0)
	if err := stop(); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	t.Logf("%d records upserted into %d rows in %s", total, keys, elapsed.Round(time.Millisecond))

	tbl := quoteIdent(topic)
	if n := queryInt(t, db, `SELECT count(*) FROM `+tbl); n != keys {
		t.Errorf("%d rows, want %d (one per key)", n, keys)
	}
	if n := queryInt(t, db, `SELECT count(DISTINCT id) FROM `+tbl); n != keys {
		t.Errorf("%d distinct keys, want %d", n, keys)
	}
	bad := queryInt(t, db, `SELECT count(*) FROM `+tbl+` WHERE version <> $1 OR owner <> 'owner-' || id || '-v' || version
		OR balance <> (id * 100 + version) / 100.0 OR updated <> $2 OR note IS NOT NULL`, int32(versions-1), base.Add((versions-1)*time.Hour))
	if bad != 0 {
		t.Errorf("%d rows do not hold the latest version (9, odd: note null)", bad)
	}
	rows := collectRows(t, db, `SELECT partition, next_offset FROM __sluice_offsets WHERE connector = $1 AND topic = $2 ORDER BY partition`, topic, topic)
	var offs []string
	for _, r := range rows {
		offs = append(offs, fmt.Sprintf("%v:%v", r["partition"], r["next_offset"]))
	}
	// Keys k%3 == 0: 1667 keys, else 1667 and 1666: × 10 versions.
	if got := strings.Join(offs, " "); got != "0:16670 1:16670 2:16660" {
		t.Errorf("stored offsets %s", got)
	}
}

// exactlyOnceSchema is the value of the exactly-once tests: seq is unique
// across the topic (the primary key), so a record written twice fails the
// insert.
var exactlyOnceSchema = connect.StructBuilder().
	Field("seq", connect.Int64Schema).
	Field("payload", connect.StringSchema).
	MustBuild()

func produceSeq(t testing.TB, brokers []string, topic string, n int) {
	t.Helper()
	produceRecords(t, brokers, topic, n, func(i int) int32 { return int32(i % 3) },
		func(i int) (*connect.Schema, any, *connect.Schema, any) {
			return nil, nil, exactlyOnceSchema, connect.NewStruct(exactlyOnceSchema).
				MustPut("seq", int64(i)).MustPut("payload", strings.Repeat("x", i%50))
		})
}

// exactlyOnceProps is the sink configuration of the exactly-once tests:
// plain inserts with seq as primary key.
func exactlyOnceProps(t testing.TB) map[string]string {
	return map[string]string{
		"connection.url": dbURL(t), "insert.mode": "insert", "pk.mode": "record_value",
		"pk.fields": "seq", "auto.create": "true",
	}
}

// checkExactlyOnce requires table to hold seq 0 … n-1 exactly once and the
// stored offsets to account for n records.
func checkExactlyOnce(t testing.TB, db *pgxpool.Pool, connector, table string, n int) {
	t.Helper()
	tbl := quoteIdent(table)
	rows := collectRows(t, db, `SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM `+tbl)
	got := fmt.Sprintf("%v rows, %v distinct, seq %v…%v", rows[0]["n"], rows[0]["d"], rows[0]["lo"], rows[0]["hi"])
	if want := fmt.Sprintf("%d rows, %d distinct, seq 0…%d", n, n, n-1); got != want {
		t.Errorf("table holds %s, want %s", got, want)
	}
	if s := storedTotal(t, db, connector, table); s != int64(n) {
		t.Errorf("stored offsets account for %d records, want %d", s, n)
	}
}

// envChild carries the configuration of the sink run in a child process.
const envChild = "SLUICE_POSTGRES_SINK_CHILD"

// childConfig is what the parent hands the child process.
type childConfig struct {
	Brokers []string
	Name    string
	Topic   string
	URL     string
}

// slowTask delays every Put after it returned, so that a kill lands while
// the sink is mid-stream.
type slowTask struct {
	*SinkTask
	delay time.Duration
}

func (s slowTask) Put(ctx context.Context, recs []connect.Record) error {
	err := s.SinkTask.Put(ctx, recs)
	time.Sleep(s.delay)
	return err
}

// TestSinkChildProcess is not a test: TestSinkExactlyOnceAfterKill runs the
// test binary again with only this test and SLUICE_POSTGRES_SINK_CHILD set;
// it then runs a sink until the parent kills the process.
func TestSinkChildProcess(t *testing.T) {
	spec := os.Getenv(envChild)
	if spec == "" {
		t.Skip("helper process for TestSinkExactlyOnceAfterKill")
	}
	var c childConfig
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	os.Setenv(envURL, c.URL)
	props := exactlyOnceProps(t)
	// No offset commit to the consumer group ever: after the kill only the
	// database knows how far the sink got.
	p := sinkPipeline(t, c.Brokers, c.Name, c.Name, c.Topic, props, 200, time.Hour, 0, func() sink.Task {
		return slowTask{SinkTask: &SinkTask{Logger: testLogger()}, delay: 5 * time.Millisecond}
	})
	fmt.Println("child: running")
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSinkExactlyOnceAfterKill: a sink process is killed (SIGKILL) in the
// middle of the stream; a new sink, in a new consumer group (so that
// nothing but the offsets stored in PostgreSQL tells it where to resume),
// completes the table: every record is there exactly once. At the moment of
// the kill, rows and stored offsets already agree.
func TestSinkExactlyOnceAfterKill(t *testing.T) {
	db := testDB(t)
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 3, nil)
	dropTable(t, db, quoteIdent(topic))
	dropOffsets(t, db, topic)
	const n = 20000
	produceSeq(t, brokers, topic, n)

	spec, _ := json.Marshal(childConfig{Brokers: brokers, Name: topic, Topic: topic, URL: dbURL(t)})
	cmd := exec.Command(os.Args[0], "-test.run=^TestSinkChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+string(spec))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tbl := quoteIdent(topic)
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("the child sink exited early: %v\n%s", err, out.String())
		default:
		}
		var rows int64
		// The table appears with the first batch.
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM `+tbl).Scan(&rows); err == nil && rows >= n/4 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("the child sink wrote too little in 90s:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Kill at a random point of the sink's cycle: inside a transaction,
	// between its commit and the end of Put, or between two Puts.
	time.Sleep(time.Duration(mrand.IntN(8000)) * time.Microsecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	// A COMMIT the sink sent just before it was killed may still complete
	// on the server: read the rows and the offsets in one statement, so in
	// one snapshot, where such a transaction is in both or in neither.
	var rows, stored int64
	if storedTotal(t, db, topic, topic) == 0 { // no offsets table yet
		rows = queryInt(t, db, `SELECT count(*) FROM `+tbl)
	} else if err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM `+tbl+`), `+
		`(SELECT coalesce(sum(next_offset), 0) FROM __sluice_offsets WHERE connector = $1 AND topic = $2)`,
		topic, topic).Scan(&rows, &stored); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the sink with %d of %d rows written", rows, n)
	if rows >= n {
		t.Fatalf("the kill came after the end of the stream (%d rows): nothing to recover", rows)
	}
	if stored != rows {
		t.Errorf("after the kill the stored offsets account for %d records but the table has %d rows", stored, rows)
	}

	p := sinkPipeline(t, brokers, topic, topic+"-after-kill", topic, exactlyOnceProps(t), 0, 200*time.Millisecond, 0, nil)
	stop := runPipeline(t, p)
	waitFor(t, 90*time.Second, "the restarted sink to finish", func() (bool, string) {
		s := storedTotal(t, db, topic, topic)
		return s == n, fmt.Sprintf("%d of %d accounted for", s, n)
	})
	if err := stop(); err != nil {
		t.Fatalf("restarted pipeline: %v", err)
	}
	checkExactlyOnce(t, db, topic, topic, n)
}

// interruptingTask commits batches through the real task and, at batch
// number at, interrupts the pipeline after the database commit and before
// Put returns: by blocking until its context is cancelled (a task the
// graceful stop has to abandon: no final offset commit), or by failing.
type interruptingTask struct {
	*SinkTask
	at      int
	block   bool
	n       int
	reached chan struct{}
}

func (s *interruptingTask) Put(ctx context.Context, recs []connect.Record) error {
	if err := s.SinkTask.Put(ctx, recs); err != nil {
		return err
	}
	if s.n++; s.n < s.at {
		return nil
	}
	close(s.reached)
	if s.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return errors.New("simulated crash after the database commit")
}

// TestSinkExactlyOnceAfterInterruptions: the sink is interrupted twice
// after a batch was committed to PostgreSQL but before the pipeline learnt
// of it: once its context is cancelled by a shutdown that times out (the
// final offset commit is skipped), once its Put fails (the task fails
// without committing). The consumer group never commits an offset, so each
// restart is redelivered the topic from the start; the offsets stored in
// the database make the sink skip what it wrote: every record ends up in
// the table exactly once.
func TestSinkExactlyOnceAfterInterruptions(t *testing.T) {
	db := testDB(t)
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 3, nil)
	dropTable(t, db, quoteIdent(topic))
	dropOffsets(t, db, topic)
	const n = 6000
	produceSeq(t, brokers, topic, n)
	tbl := quoteIdent(topic)

	// 1. Cancelled: the stop times out while Put blocks after its commit.
	reached := make(chan struct{})
	p := sinkPipeline(t, brokers, topic, topic, topic, exactlyOnceProps(t), 300, time.Hour, 200*time.Millisecond, func() sink.Task {
		return &interruptingTask{SinkTask: &SinkTask{Logger: testLogger()}, at: 4, block: true, reached: reached}
	})
	stop := runPipeline(t, p)
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the sink did not reach its fourth batch")
	}
	if err := stop(); err != nil {
		t.Fatalf("cancelled pipeline: %v", err)
	}
	after1 := queryInt(t, db, `SELECT count(*) FROM `+tbl)
	if s := storedTotal(t, db, topic, topic); after1 == 0 || after1 >= n || s != after1 {
		t.Errorf("after the cancellation %d rows and stored offsets for %d records; want 0 < rows < %d, and equal", after1, s, n)
	}

	// 2. Failed: Put fails after committing its sixth batch.
	reached = make(chan struct{})
	p = sinkPipeline(t, brokers, topic, topic, topic, exactlyOnceProps(t), 300, time.Hour, 0, func() sink.Task {
		return &interruptingTask{SinkTask: &SinkTask{Logger: testLogger()}, at: 6, reached: reached}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Run(ctx); err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("failing pipeline: %v", err)
	}
	after2 := queryInt(t, db, `SELECT count(*) FROM `+tbl)
	if s := storedTotal(t, db, topic, topic); after2 <= after1 || after2 >= n || s != after2 {
		t.Errorf("after the failure %d rows (%d before) and stored offsets for %d records", after2, after1, s)
	}
	t.Logf("rows after the cancellation: %d, after the failure: %d", after1, after2)

	// 3. A clean run completes the table.
	p = sinkPipeline(t, brokers, topic, topic, topic, exactlyOnceProps(t), 300, 200*time.Millisecond, 0, nil)
	stop = runPipeline(t, p)
	waitFor(t, 60*time.Second, "the last sink to finish", func() (bool, string) {
		s := storedTotal(t, db, topic, topic)
		return s == n, fmt.Sprintf("%d of %d accounted for", s, n)
	})
	if err := stop(); err != nil {
		t.Fatalf("final pipeline: %v", err)
	}
	checkExactlyOnce(t, db, topic, topic, n)
}
