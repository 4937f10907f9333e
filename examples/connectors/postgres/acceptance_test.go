package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// withAppName returns the test database URL with an application_name of
// its own, which the tasks keep, so that outage can end exactly their
// sessions (and no other test's).
func withAppName(t *testing.T, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL(t))
	if err != nil || u.Scheme == "" {
		if inCI() {
			t.Fatalf("%s is not a postgres:// URL, but CI=true: the acceptance tests name their sessions with its application_name", envURL)
		}
		t.Skipf("%s is not a postgres:// URL: the acceptance tests name their sessions with its application_name", envURL)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// outage terminates the sessions of the tasks configured with config (a
// one-shot disruption, as a server restart or a failover): the tasks must
// reconnect, failing meanwhile only with retriable errors.
func outage(t *testing.T, config map[string]string) func() {
	t.Helper()
	u, err := url.Parse(config[ConnectionURLConfig])
	if err != nil {
		t.Fatal(err)
	}
	app := u.Query().Get("application_name")
	n := queryInt(t, testDB(t), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app)
	t.Logf("terminated %d session(s) of %s", n, app)
	return func() {}
}

// TestSinkAcceptance runs Sluice's sink task acceptance suite against the
// PostgreSQL sink in upsert mode, each check writing a table (and an
// offsets table) of its own: record i is the row (id i, "name i"); a
// record whose value is not a struct is rejected (reported); the outage
// terminates the task's sessions.
func TestSinkAcceptance(t *testing.T) {
	db := testDB(t)
	valueSchema := connect.StructBuilder().Name("row").
		Field("id", connect.Int64Schema).Field("name", connect.StringSchema).MustBuild()
	sluicetest.TestSinkTask(t, sluicetest.SinkFeatures{}, sluicetest.SinkDriver{
		NewTask: func() sink.Task { return &SinkTask{Logger: testLogger()} },
		Config: func(t *testing.T) map[string]string {
			table, offsets := uniqueName(t, "acc_sink"), uniqueName(t, "acc_offsets")
			dropTable(t, db, table)
			dropTable(t, db, offsets)
			return map[string]string{
				ConnectionURLConfig:     withAppName(t, table),
				"connection.backoff.ms": "100",
				"table.name.format":     table,
				"auto.create":           "true",
				"insert.mode":           "upsert",
				"pk.mode":               "record_value",
				"pk.fields":             "id",
				OffsetsTableNameConfig:  offsets,
			}
		},
		Record: func(i int) connect.Record {
			return connect.Record{ValueSchema: valueSchema,
				Value: connect.NewStruct(valueSchema).MustPut("id", int64(i)).MustPut("name", "name "+strconv.Itoa(i))}
		},
		Reject: func(i int) connect.Record {
			return connect.Record{ValueSchema: connect.StringSchema, Value: "not a struct " + strconv.Itoa(i)}
		},
		Written: func(t *testing.T, config map[string]string) []int {
			rows, err := db.Query(context.Background(), "SELECT id FROM "+config["table.name.format"])
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
				return nil // not created yet
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ids []int
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, int(id))
			}
			if err := rows.Err(); err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
					return nil
				}
				t.Fatal(err)
			}
			return ids
		},
		Outage: outage,
	})
}

// TestSourceAcceptance runs Sluice's source task acceptance suite against
// the PostgreSQL source in incrementing mode, each check reading a table of
// its own into which Write inserts rows; the outage terminates the task's
// sessions.
func TestSourceAcceptance(t *testing.T) {
	db := testDB(t)
	sluicetest.TestSourceTask(t, sluicetest.SourceFeatures{}, sluicetest.SourceDriver{
		NewTask: func() source.Task { return &SourceTask{Logger: testLogger()} },
		Config: func(t *testing.T) map[string]string {
			table := uniqueName(t, "acc_source")
			mustExec(t, db, fmt.Sprintf("CREATE TABLE %s (id bigserial PRIMARY KEY, name text NOT NULL)", table))
			dropTable(t, db, table)
			return map[string]string{
				ConnectionURLConfig:          withAppName(t, table),
				"connection.backoff.ms":      "100",
				"mode":                       "incrementing",
				IncrementingColumnNameConfig: "id",
				"table.whitelist":            table,
				"topic.prefix":               sluicetest.Topic(t) + "-",
				"poll.interval.ms":           "100",
			}
		},
		Write: func(t *testing.T, config map[string]string, n int) {
			mustExec(t, db, "INSERT INTO "+config["table.whitelist"]+" (name) SELECT 'name ' || g FROM generate_series(1, $1) g", n)
		},
		Outage: outage,
	})
}
