package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/offsets"
)

// envURL names the database the integration tests use;
// scripts/postgres/start.sh prints it.
const envURL = "SLUICE_POSTGRES_URL"

// inCI reports whether the tests run under CI (CI=true or 1).
func inCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return strings.EqualFold(v, "true") || v == "1"
}

// dbURL returns SLUICE_POSTGRES_URL. Without it the test is skipped, except
// under CI, where a missing database is a failure.
func dbURL(t testing.TB) string {
	t.Helper()
	u := strings.TrimSpace(os.Getenv(envURL))
	if u == "" {
		if inCI() {
			t.Fatalf("%s is not set, but CI=true: CI must run PostgreSQL (eval \"$(bash scripts/postgres/start.sh)\")", envURL)
		}
		t.Skipf("%s not set: start a server with `eval \"$(bash scripts/postgres/start.sh)\"` to run the PostgreSQL tests", envURL)
	}
	return u
}

// testDB connects to the test database for the test's own queries.
func testDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := dbURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatalf("parsing %s: %v", envURL, err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		t.Fatalf("%s=%s does not answer: %v", envURL, u, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// mustExec runs SQL on db and fails the test on error.
func mustExec(t testing.TB, db *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// queryInt returns the single integer a query yields.
func queryInt(t testing.TB, db *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// uniqueName returns prefix_<12 hex digits>, a fresh lower-case identifier.
func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// dropTable drops table (a quoted or plain SQL name) at cleanup.
func dropTable(t testing.TB, db *pgxpool.Pool, table string) {
	t.Helper()
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
	})
}

// dropOffsets deletes the stored offsets of connector at cleanup.
func dropOffsets(t testing.TB, db *pgxpool.Pool, connector string) {
	t.Helper()
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), "DELETE FROM "+defaultOffsetsTable+" WHERE connector = $1", connector)
	})
}

// testLogger discards logs unless POSTGRES_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("POSTGRES_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// srcCtx is a fake source.TaskContext over an offset store.
type srcCtx struct {
	name  string
	cfg   map[string]string
	store offsets.Store
}

func (c *srcCtx) ConnectorName() string     { return c.name }
func (c *srcCtx) TaskID() int               { return 0 }
func (c *srcCtx) Config() map[string]string { return c.cfg }
func (c *srcCtx) Offsets() offsets.Reader   { return offsets.ConnectorReader(c.store, c.name) }

// startSink starts a SinkTask with cfg (connection.url added) and stops it
// at cleanup.
func startSink(t testing.TB, name string, cfg map[string]string) (*SinkTask, *sluicetest.SinkTaskContext) {
	t.Helper()
	cfg["connection.url"] = dbURL(t)
	tc := sluicetest.NewSinkTaskContext(cfg).WithName(name)
	task := &SinkTask{Logger: testLogger()}
	if err := task.Start(context.Background(), tc); err != nil {
		t.Fatalf("sink Start: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop(context.Background()) })
	return task, tc
}

// startSource starts a SourceTask with cfg (connection.url added) over
// store and stops it at cleanup.
func startSource(t testing.TB, name string, cfg map[string]string, store offsets.Store) *SourceTask {
	t.Helper()
	cfg["connection.url"] = dbURL(t)
	if store == nil {
		store = offsets.NewMemoryStore()
	}
	task := &SourceTask{Logger: testLogger()}
	if err := task.Start(context.Background(), &srcCtx{name: name, cfg: cfg, store: store}); err != nil {
		t.Fatalf("source Start: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop(context.Background()) })
	return task
}

// pollAll polls task until a Poll returns nothing and returns the records.
func pollAll(t testing.TB, task *SourceTask) []connect.Record {
	t.Helper()
	var out []connect.Record
	for {
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

// collectRows reads a query's rows as maps (column name → value).
func collectRows(t testing.TB, db *pgxpool.Pool, sql string, args ...any) []map[string]any {
	t.Helper()
	rows, err := db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}
