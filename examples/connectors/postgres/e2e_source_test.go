package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// sourcePipeline builds a PostgreSQL source pipeline with the JSON
// converter over store.
func sourcePipeline(t testing.TB, brokers []string, name string, props map[string]string, store offsets.Store, tasks int) *source.Pipeline {
	t.Helper()
	props["connection.url"] = dbURL(t)
	p, err := source.New(source.Config{
		Name:                name,
		Brokers:             brokers,
		NewTask:             func() source.Task { return &SourceTask{Logger: testLogger()} },
		Connector:           SourceConnector{},
		TasksMax:            tasks,
		Properties:          props,
		KeyConverter:        jsonConverter(t),
		ValueConverter:      jsonConverter(t),
		OffsetStore:         store,
		OffsetFlushInterval: 100 * time.Millisecond,
		Sarama:              sluicetest.SaramaConfig(t),
		Logger:              testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// topicRow is what the source tests compare of a record in the topic.
type topicRow struct{ id, version int64 }

// readTopic returns the rows in partition 0 of topic, in order, from the
// start up to the high-water mark.
func readTopic(t testing.TB, brokers []string, topic string) []topicRow {
	t.Helper()
	client, err := sarama.NewClient(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	hwm, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	if hwm == 0 {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []topicRow
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-pc.Messages():
			var env struct {
				Schema  json.RawMessage
				Payload struct {
					ID      int64 `json:"id"`
					Version int64 `json:"version"`
				}
			}
			if err := json.Unmarshal(m.Value, &env); err != nil {
				t.Fatalf("offset %d: %v: %s", m.Offset, err, m.Value)
			}
			out = append(out, topicRow{env.Payload.ID, env.Payload.Version})
			if m.Offset+1 >= hwm {
				return out
			}
		case err := <-pc.Errors():
			t.Fatal(err)
		case <-timeout:
			t.Fatalf("read %d of %d records of %s", len(out), hwm, topic)
		}
	}
}

// topicSize returns the high-water mark of partition 0 of topic (0 when the
// topic does not exist yet).
func topicSize(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	cfg := sluicetest.SaramaConfig(t)
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	n, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		return 0
	}
	return n
}

// waitTopic waits until partition 0 of topic holds n records.
func waitTopic(t testing.TB, brokers []string, topic string, n int64) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d records in %s", n, topic), func() (bool, string) {
		got := topicSize(t, brokers, topic)
		if got > n {
			t.Fatalf("%s holds %d records, more than the %d expected", topic, got, n)
		}
		return got == n, fmt.Sprintf("%d records", got)
	})
}

// insertRows inserts ids from..to-1 into table in chunks, a few
// milliseconds apart (so they arrive while the source polls).
func insertRows(t testing.TB, db *pgxpool.Pool, table string, from, to int) {
	t.Helper()
	for lo := from; lo < to; lo += 25 {
		hi := min(lo+25, to)
		mustExec(t, db, `INSERT INTO `+table+` (id, version) SELECT g, 0 FROM generate_series($1::int, $2::int) g`, lo, hi-1)
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSourceIncrementingPipeline: in incrementing mode the source picks up
// rows inserted before and while it runs; stopped, it misses nothing
// inserted meanwhile and, restarted from its stored offset, repeats
// nothing: the topic holds every id once, in order. The stored offset is
// the JDBC source's {"incrementing": <last id>} under partition
// {"protocol": "1", "table": "public.<table>"}.
func TestSourceIncrementingPipeline(t *testing.T) {
	db := testDB(t)
	brokers := sluicetest.Brokers(t)
	table := uniqueName(t, "inc")
	dropTable(t, db, table)
	mustExec(t, db, `CREATE TABLE `+table+` (id int PRIMARY KEY, version int NOT NULL, note text)`)
	topic := "pg-" + table
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	store := offsets.NewMemoryStore()
	props := func() map[string]string {
		return map[string]string{"connector.class": SourceClass, "mode": "incrementing", "incrementing.column.name": "id",
			"table.whitelist": table, "topic.prefix": "pg-", "poll.interval.ms": "20", "batch.max.rows": "40"}
	}
	name := uniqueName(t, "src")

	insertRows(t, db, table, 1, 251)
	stop := runPipeline(t, sourcePipeline(t, brokers, name, props(), store, 1))
	insertRows(t, db, table, 251, 501)
	waitTopic(t, brokers, topic, 500)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	insertRows(t, db, table, 501, 601) // while stopped
	stop = runPipeline(t, sourcePipeline(t, brokers, name, props(), store, 1))
	insertRows(t, db, table, 601, 651)
	waitTopic(t, brokers, topic, 650)
	time.Sleep(100 * time.Millisecond) // a repeat would show up now
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	rows := readTopic(t, brokers, topic)
	if len(rows) != 650 {
		t.Fatalf("%d records, want 650", len(rows))
	}
	for i, r := range rows {
		if r.id != int64(i+1) {
			t.Fatalf("record %d has id %d, want %d (gap or repeat)", i, r.id, i+1)
		}
	}
	off, err := store.Get(context.Background(), name, map[string]any{"protocol": "1", "table": "public." + table})
	if err != nil || fmt.Sprint(off) != "map[incrementing:650]" {
		t.Errorf("stored offset %v, %v", off, err)
	}
}

// TestSourceTimestampIncrementingPipeline: in timestamp+incrementing mode
// the source picks up inserted rows and updated ones (a new version with a
// later updated_at) while it runs and while it is stopped; restarted from
// its stored offset (timestamp at microsecond precision in
// timestamp/timestamp_nanos, plus the incrementing id) it neither repeats
// a row version nor misses one.
func TestSourceTimestampIncrementingPipeline(t *testing.T) {
	db := testDB(t)
	brokers := sluicetest.Brokers(t)
	table := uniqueName(t, "tsinc")
	dropTable(t, db, table)
	mustExec(t, db, `CREATE TABLE `+table+` (id int PRIMARY KEY, version int NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	topic := "pg-" + table
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	store := offsets.NewMemoryStore()
	props := func() map[string]string {
		return map[string]string{"connector.class": SourceClass, "mode": "timestamp+incrementing",
			"incrementing.column.name": "id", "timestamp.column.name": "updated_at",
			"table.whitelist": table, "topic.prefix": "pg-", "poll.interval.ms": "20", "batch.max.rows": "30"}
	}
	name := uniqueName(t, "src")
	update := func(from, to int) {
		t.Helper()
		for id := from; id < to; id++ {
			mustExec(t, db, `UPDATE `+table+` SET version = version + 1, updated_at = clock_timestamp() WHERE id = $1`, id)
		}
	}
	want := map[topicRow]bool{}
	expect := func(from, to int, version int64) {
		for id := from; id < to; id++ {
			want[topicRow{int64(id), version}] = true
		}
	}

	insertRows(t, db, table, 1, 101)
	expect(1, 101, 0)
	stop := runPipeline(t, sourcePipeline(t, brokers, name, props(), store, 1))
	waitTopic(t, brokers, topic, int64(len(want)))
	update(1, 51) // updates while running
	expect(1, 51, 1)
	insertRows(t, db, table, 101, 201)
	expect(101, 201, 0)
	waitTopic(t, brokers, topic, int64(len(want)))
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	update(51, 101) // while stopped
	expect(51, 101, 1)
	update(1, 11)
	expect(1, 11, 2)
	insertRows(t, db, table, 201, 221)
	expect(201, 221, 0)
	stop = runPipeline(t, sourcePipeline(t, brokers, name, props(), store, 1))
	waitTopic(t, brokers, topic, int64(len(want)))
	update(150, 160) // after the restart
	expect(150, 160, 1)
	waitTopic(t, brokers, topic, int64(len(want)))
	time.Sleep(100 * time.Millisecond) // a repeat would show up now
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	rows := readTopic(t, brokers, topic)
	seen := map[topicRow]bool{}
	for _, r := range rows {
		if seen[r] {
			t.Errorf("id %d version %d arrived twice", r.id, r.version)
		}
		seen[r] = true
		if !want[r] {
			t.Errorf("unexpected id %d version %d", r.id, r.version)
		}
	}
	var missing []string
	for r := range want {
		if !seen[r] {
			missing = append(missing, fmt.Sprintf("%d/v%d", r.id, r.version))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("missing %d row versions: %s", len(missing), strings.Join(missing, " "))
	}
	if len(rows) != len(want) {
		t.Errorf("%d records, want %d", len(rows), len(want))
	}
	off, _ := store.Get(context.Background(), name, map[string]any{"protocol": "1", "table": "public." + table})
	var last time.Time
	if err := db.QueryRow(context.Background(), `SELECT max(updated_at) FROM `+table).Scan(&last); err != nil {
		t.Fatal(err)
	}
	wantOff := map[string]any{"incrementing": int64(159), "timestamp": last.UnixMilli(), "timestamp_nanos": int64(last.Nanosecond())}
	if !connect.ValuesEqual(off, wantOff) {
		t.Errorf("stored offset %v, want %v", off, wantOff)
	}
}

// TestSourceSplitsTablesAcrossTasks: SourceConnector spreads three tables
// over two tasks; each table reaches its own topic, complete.
func TestSourceSplitsTablesAcrossTasks(t *testing.T) {
	db := testDB(t)
	brokers := sluicetest.Brokers(t)
	var tables []string
	for range 3 {
		table := uniqueName(t, "split")
		dropTable(t, db, table)
		mustExec(t, db, `CREATE TABLE `+table+` (id bigserial PRIMARY KEY, version int NOT NULL DEFAULT 0)`)
		mustExec(t, db, `INSERT INTO `+table+` (version) SELECT 0 FROM generate_series(1, 70)`)
		sluicetest.CreateTopic(t, brokers, "pg-"+table, 1, nil)
		tables = append(tables, table)
	}
	p := sourcePipeline(t, brokers, uniqueName(t, "src"), map[string]string{"mode": "incrementing",
		"table.whitelist": strings.Join(tables, ","), "topic.prefix": "pg-", "poll.interval.ms": "20", "batch.max.rows": "25"},
		offsets.NewMemoryStore(), 2)
	stop := runPipeline(t, p)
	for _, table := range tables {
		waitTopic(t, brokers, "pg-"+table, 70)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := p.PipelineStatus()
	if len(st.Tasks) != 2 {
		t.Errorf("%d tasks, want 2", len(st.Tasks))
	}
	for _, table := range tables {
		rows := readTopic(t, brokers, "pg-"+table)
		for i, r := range rows {
			if r.id != int64(i+1) {
				t.Fatalf("%s: record %d has id %d", table, i, r.id)
			}
		}
	}
}
