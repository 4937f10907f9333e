package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/source"
)

// Source partition and offset keys, as the JDBC source's: a table's
// partition is {"protocol": "1", "table": "<schema>.<table>"} (offset
// protocol 1; a partition {"table": "<table>"} of protocol 0 is read too),
// a query's {"query": "query"}; the offset holds "incrementing" (the last
// incrementing value) and/or "timestamp" (milliseconds since the epoch) with
// "timestamp_nanos" (the nanoseconds within its second).
const (
	TablePartitionKey     = "table"
	ProtocolPartitionKey  = "protocol"
	QueryPartitionKey     = "query"
	QueryPartitionValue   = "query"
	ProtocolVersionOne    = "1"
	IncrementingOffsetKey = "incrementing"
	TimestampOffsetKey    = "timestamp"
	TimestampNanosKey     = "timestamp_nanos"
)

// maxPollWait bounds how long one Poll waits for the next table to be due,
// so that a paused or stopping pipeline gets control back soon.
const maxPollWait = time.Second

// SourceTask is the PostgreSQL source: it polls tables (table.whitelist, or
// the share SourceConnector gives the task) or a query for new and changed
// rows and turns each into a record (see the package documentation). It
// implements source.Task. Create one per task; the zero value is ready
// (Logger optional).
type SourceTask struct {
	// Logger receives the task's logs (default slog.Default()).
	Logger *slog.Logger

	cfg      sourceConfig
	tc       source.TaskContext
	log      *slog.Logger
	pool     *pgxpool.Pool
	typeMap  *pgtype.Map
	queriers []*querier
}

var _ source.Task = (*SourceTask)(nil)

// querier polls one table or the query.
type querier struct {
	name     string // as configured; "" for the query
	isQuery  bool
	resolved bool
	warned   bool

	from       string // the FROM item: the table, or the wrapped query
	topic      string
	partition  map[string]any
	structName string
	tableOID   uint32

	incCol, tsExpr  string // quoted
	incName         string // unquoted, to find the value in a row
	tsNames         []string
	tsOID           uint32
	mainSQL, tieSQL string
	hasInc, hasTS   bool
	inc             int64
	ts              time.Time
	next            time.Time
	desc            []pgconn.FieldDescription
	plan            *rowPlan
	incIndex        int
	tsIndexes       []int
}

// Start parses the configuration and connects. Tables are looked up (and
// their stored offsets read) on the first Poll, and again on later Polls
// while a table does not exist.
func (t *SourceTask) Start(ctx context.Context, tc source.TaskContext) error {
	cfg, err := parseSourceConfig(tc.Config())
	if err != nil {
		return err
	}
	t.cfg, t.tc = cfg, tc
	t.log = t.Logger
	if t.log == nil {
		t.log = slog.Default()
	}
	t.log = t.log.With("connector", tc.ConnectorName(), "task", tc.TaskID())
	t.typeMap = pgtype.NewMap()
	t.queriers = nil
	if cfg.query != "" {
		t.queriers = append(t.queriers, &querier{isQuery: true, topic: cfg.topicPrefix,
			partition: map[string]any{QueryPartitionKey: QueryPartitionValue},
			from:      "(" + cfg.query + ") AS " + quoteIdent("sluice_query")})
	}
	for _, name := range cfg.tables {
		if _, err := parseTableID(name); err != nil {
			return fmt.Errorf("%s: %w", TableWhitelistConfig, err)
		}
		t.queriers = append(t.queriers, &querier{name: name})
	}
	t.pool, err = openPool(ctx, cfg.conn, fmt.Sprintf("%s-%d", tc.ConnectorName(), tc.TaskID()), 2, t.log)
	return err
}

// Stop closes the connections.
func (t *SourceTask) Stop(context.Context) error {
	if t.pool != nil {
		t.pool.Close()
		t.pool = nil
	}
	return nil
}

// Poll returns the next rows of the table that is due first: up to
// batch.max.rows records. A table whose last query returned fewer rows is
// due again poll.interval.ms later; one that returned a full batch at once.
// When no table is due, Poll waits (at most a second, returning early when
// ctx is done) and returns nothing.
func (t *SourceTask) Poll(ctx context.Context) ([]connect.Record, error) {
	for range len(t.queriers) + 1 {
		q := t.queriers[0]
		for _, o := range t.queriers[1:] {
			if o.next.Before(q.next) {
				q = o
			}
		}
		if wait := time.Until(q.next); wait > 0 {
			timer := time.NewTimer(min(wait, maxPollWait))
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil, ctx.Err()
			case <-timer.C:
			}
			if wait > maxPollWait {
				return nil, nil
			}
		}
		recs, full, err := t.pollOne(ctx, q)
		if err != nil {
			return nil, classify(fmt.Errorf("polling %s: %w", q.describe(), err))
		}
		if full {
			q.next = time.Now()
		} else {
			q.next = time.Now().Add(t.cfg.pollInterval)
		}
		if len(recs) > 0 {
			return recs, nil
		}
	}
	return nil, nil
}

// describe names q in messages.
func (q *querier) describe() string {
	if q.isQuery {
		return "the query"
	}
	return "table " + q.name
}

// pollOne runs q's query once. full reports that it returned a whole batch
// (more rows may be waiting).
func (t *SourceTask) pollOne(ctx context.Context, q *querier) ([]connect.Record, bool, error) {
	if !q.resolved {
		ok, err := t.resolve(ctx, q)
		if err != nil || !ok {
			return nil, false, err
		}
	}
	var args []any
	delayMs := t.cfg.tsDelay.Milliseconds()
	switch {
	case q.hasInc && q.hasTS:
		args = []any{t.tsParam(q), q.inc, delayMs}
	case q.hasTS:
		args = []any{t.tsParam(q), delayMs}
	default:
		args = []any{q.inc}
	}
	rows, err := t.fetch(ctx, q, q.mainSQL, args)
	if err != nil {
		return nil, false, err
	}
	full := len(rows) == t.cfg.batchMaxRows
	if full && q.hasTS && !q.hasInc {
		// In timestamp mode the next query asks for later timestamps only:
		// rows sharing the batch's last timestamp must all go out in this
		// batch. Drop them here (the next query returns them) unless every
		// row shares it; then return every row with that timestamp.
		last, err := t.rowTimestamp(q, rows[len(rows)-1])
		if err != nil {
			return nil, false, err
		}
		n := len(rows)
		for n > 0 {
			ts, err := t.rowTimestamp(q, rows[n-1])
			if err != nil {
				return nil, false, err
			}
			if !ts.Equal(last) {
				break
			}
			n--
		}
		if n > 0 {
			rows = rows[:n]
		} else if rows, err = t.fetch(ctx, q, q.tieSQL, []any{t.timeParam(q, last)}); err != nil {
			return nil, false, err
		}
	}
	// The offsets move only once every row made a record: a failed poll
	// is retried from where the previous one ended.
	inc, ts := q.inc, q.ts
	recs := make([]connect.Record, 0, len(rows))
	for _, row := range rows {
		if q.hasInc {
			v, err := incrementingValue(row[q.incIndex], q.incName)
			if err != nil {
				return nil, false, err
			}
			inc = v
		}
		if q.hasTS {
			v, err := t.rowTimestamp(q, row)
			if err != nil {
				return nil, false, err
			}
			ts = v
		}
		st := connect.NewStruct(q.plan.schema)
		for i, f := range q.plan.schema.Fields {
			if err := st.PutField(&q.plan.schema.Fields[i], row[i]); err != nil {
				return nil, false, fmt.Errorf("column %q: %w", f.Name, err)
			}
		}
		recs = append(recs, connect.Record{
			Topic:           q.topic,
			ValueSchema:     q.plan.schema,
			Value:           st,
			SourcePartition: maps.Clone(q.partition),
			SourceOffset:    q.offsetMap(inc, ts),
		})
	}
	q.inc, q.ts = inc, ts
	return recs, full, nil
}

// offsetMap returns an offset in the JDBC source's form.
func (q *querier) offsetMap(inc int64, ts time.Time) map[string]any {
	m := make(map[string]any, 3)
	if q.hasInc {
		m[IncrementingOffsetKey] = inc
	}
	if q.hasTS {
		m[TimestampOffsetKey] = ts.UnixMilli()
		m[TimestampNanosKey] = int64(ts.Nanosecond())
	}
	return m
}

// tsParam is the timestamp offset as a query parameter.
func (t *SourceTask) tsParam(q *querier) any { return t.timeParam(q, q.ts) }

// timeParam converts an instant to a parameter for the timestamp
// expression: for "timestamp without time zone" the wall clock in
// db.timezone (pgx sends a time.Time's wall clock for that type).
func (t *SourceTask) timeParam(q *querier, ts time.Time) any {
	if q.tsOID == pgtype.TimestampOID {
		return ts.In(t.cfg.conn.loc)
	}
	return ts
}

// rowTimestamp returns a row's timestamp: the first non-null timestamp
// column (COALESCE's choice), at full precision.
func (t *SourceTask) rowTimestamp(q *querier, row []any) (time.Time, error) {
	for j := range q.tsIndexes {
		if tv, ok := row[len(q.plan.cols)+j].(time.Time); ok {
			return tv, nil
		}
	}
	return time.Time{}, fmt.Errorf("a row has no value in the timestamp column(s) %s", strings.Join(q.tsNames, ", "))
}

// incrementingValue reads the incrementing column's value as an int64.
func incrementingValue(v any, col string) (int64, error) {
	switch n := v.(type) {
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case connect.Decimal:
		if n.Scale == 0 && n.Unscaled != nil && n.Unscaled.IsInt64() {
			return n.Unscaled.Int64(), nil
		}
		if d, err := n.Rescale(0); err == nil && d.Unscaled.IsInt64() {
			return d.Unscaled.Int64(), nil
		}
		return 0, fmt.Errorf("incrementing column %q holds %s, not an integer within 64 bits", col, n)
	case nil:
		return 0, fmt.Errorf("incrementing column %q is null in a row (set %s to a NOT NULL column)", col, IncrementingColumnNameConfig)
	}
	return 0, fmt.Errorf("incrementing column %q has values of type %T; want an integer column", col, v)
}

// fetch runs a query and decodes its rows: each row holds the struct's
// values (one per column) followed, in timestamp modes, by the raw
// timestamps (time.Time at full precision, or nil) of the timestamp
// columns.
func (t *SourceTask) fetch(ctx context.Context, q *querier, sql string, args []any) ([][]any, error) {
	qargs := append([]any{binaryOIDs}, args...)
	rows, err := t.pool.Query(ctx, sql, qargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// The descriptions belong to rows: copy them before closing it.
	desc := slices.Clone(rows.FieldDescriptions())
	if len(desc) == 0 {
		// pgx reports a query that failed to run (a lost connection, a
		// terminated session) through rows.Err, with no descriptions: that
		// is the failure, not a change of columns.
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if q.plan == nil || !sameFields(q.desc, desc) {
		rows.Close()
		// Columns changed (or first query): rebuild the schema, then run
		// the query again (the statement was re-prepared).
		if err := t.buildRowPlan(ctx, q, desc); err != nil {
			return nil, err
		}
		rows, err = t.pool.Query(ctx, sql, qargs...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		if !sameFields(q.desc, rows.FieldDescriptions()) {
			return nil, errors.New("the columns changed while reading them; will retry")
		}
	}
	var out [][]any
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]any, len(q.plan.cols)+len(q.tsIndexes))
		for i := range q.plan.cols {
			c := &q.plan.cols[i]
			if raw[i] == nil {
				continue
			}
			v, err := c.decode(t, raw[i])
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", c.name, err)
			}
			row[i] = v
		}
		for j, ci := range q.tsIndexes {
			if raw[ci] == nil {
				continue
			}
			ts, err := t.decodeInstant(q.plan.cols[ci].oid, raw[ci])
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", q.plan.cols[ci].name, err)
			}
			row[len(q.plan.cols)+j] = ts
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// sameFields reports whether two result descriptions have the same columns.
func sameFields(a, b []pgconn.FieldDescription) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].DataTypeOID != b[i].DataTypeOID || a[i].TypeModifier != b[i].TypeModifier {
			return false
		}
	}
	return true
}

// resolve looks q's table up (it may not exist yet: then ok is false and
// the table is looked up again later), finds its columns, reads its stored
// offset and builds its statements.
func (t *SourceTask) resolve(ctx context.Context, q *querier) (ok bool, err error) {
	quote := t.cfg.conn.quote
	if !q.isQuery {
		id, _ := parseTableID(q.name)
		var oid uint32
		var nsp, rel string
		err := t.pool.QueryRow(ctx, `SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, id.sql(quote)).Scan(&oid, &nsp, &rel)
		if errors.Is(err, pgx.ErrNoRows) {
			if !q.warned {
				t.log.Warn("table not found; looking again every poll.interval.ms", "table", q.name)
				q.warned = true
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
		q.tableOID = oid
		q.from = quoteIdent(nsp) + "." + quoteIdent(rel)
		q.topic = t.cfg.topicPrefix + rel
		q.structName = rel
		q.partition = map[string]any{ProtocolPartitionKey: ProtocolVersionOne, TablePartitionKey: nsp + "." + rel}
		if !t.cfg.conn.quote {
			q.from = id.sql(false)
		}
	}

	// Columns.
	q.hasInc, q.hasTS = t.cfg.usesIncrementing, t.cfg.usesTimestamp
	if q.hasInc {
		q.incName = t.cfg.incColumn
		if q.incName == "" {
			name, err := t.findIncrementing(ctx, q)
			if err != nil {
				return false, err
			}
			q.incName = name
		}
		q.incCol = ident(q.incName, quote)
	}
	if q.hasTS {
		q.tsNames = t.cfg.tsColumns
		quoted := make([]string, len(q.tsNames))
		for i, n := range q.tsNames {
			quoted[i] = ident(n, quote)
		}
		q.tsExpr = quoted[0]
		if len(quoted) > 1 {
			q.tsExpr = "COALESCE(" + strings.Join(quoted, ", ") + ")"
		}
	}
	if err := t.probe(ctx, q); err != nil {
		return false, err
	}
	if t.cfg.validateNonNull && !q.isQuery {
		if err := t.checkNotNull(ctx, q); err != nil {
			return false, err
		}
	}

	// Statements.
	limit := " LIMIT " + strconv.Itoa(t.cfg.batchMaxRows)
	bound := "CURRENT_TIMESTAMP - ($%d::bigint * interval '1 millisecond')"
	if q.tsOID == pgtype.TimestampOID {
		bound = "CAST(" + bound + " AS timestamp)"
	}
	switch {
	case q.hasInc && q.hasTS:
		q.mainSQL = "SELECT * FROM " + q.from + " WHERE " + q.tsExpr + " < " + fmt.Sprintf(bound, 3) +
			" AND ((" + q.tsExpr + " = $1 AND " + q.incCol + " > $2) OR " + q.tsExpr + " > $1)" +
			" ORDER BY " + q.tsExpr + ", " + q.incCol + limit
	case q.hasTS:
		q.mainSQL = "SELECT * FROM " + q.from + " WHERE " + q.tsExpr + " > $1 AND " + q.tsExpr + " < " + fmt.Sprintf(bound, 2) +
			" ORDER BY " + q.tsExpr + limit
		q.tieSQL = "SELECT * FROM " + q.from + " WHERE " + q.tsExpr + " = $1"
	default:
		q.mainSQL = "SELECT * FROM " + q.from + " WHERE " + q.incCol + " > $1 ORDER BY " + q.incCol + limit
	}

	// Offsets.
	if err := t.loadOffset(ctx, q); err != nil {
		return false, err
	}
	q.resolved = true
	t.log.Info("polling", "source", q.describe(), "topic", q.topic, "offset", connect.FormatMap(q.offsetMap(q.inc, q.ts)))
	return true, nil
}

// probe checks that the incrementing and timestamp columns exist in q's
// rows and have usable types.
func (t *SourceTask) probe(ctx context.Context, q *querier) error {
	var exprs []string
	if q.hasTS {
		exprs = append(exprs, q.tsExpr)
	}
	if q.hasInc {
		exprs = append(exprs, q.incCol)
	}
	rows, err := t.pool.Query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+q.from+" LIMIT 0")
	if err != nil {
		if c := pgCode(err); c == "42703" || c == "42804" || c == "42P18" {
			return fmt.Errorf("%s: checking the columns: %w", q.describe(), fmt.Errorf("%s: %w", strings.Join(exprs, ", "), err))
		}
		return err
	}
	fds := rows.FieldDescriptions()
	oids := make([]uint32, len(fds))
	for i, fd := range fds {
		oids[i] = fd.DataTypeOID
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	i := 0
	if q.hasTS {
		q.tsOID = oids[i]
		if q.tsOID != pgtype.TimestampOID && q.tsOID != pgtype.TimestamptzOID {
			return fmt.Errorf("%s: %s must be timestamp or timestamptz columns (%s)", q.describe(), TimestampColumnNameConfig, strings.Join(q.tsNames, ", "))
		}
		i++
	}
	if q.hasInc {
		switch oids[i] {
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID:
		default:
			return fmt.Errorf("%s: the incrementing column %q must be an integer column", q.describe(), q.incName)
		}
	}
	return nil
}

// findIncrementing returns the table's first identity or serial column.
func (t *SourceTask) findIncrementing(ctx context.Context, q *querier) (string, error) {
	if q.isQuery {
		return "", fmt.Errorf("%s: required with %s", IncrementingColumnNameConfig, QueryConfig)
	}
	var name string
	err := t.pool.QueryRow(ctx, `SELECT a.attname FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
		AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')
		ORDER BY a.attnum LIMIT 1`, q.tableOID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s has no identity or serial column to use as incrementing column; set %s", q.describe(), IncrementingColumnNameConfig)
	}
	return name, err
}

// checkNotNull enforces validate.non.null: the incrementing and timestamp
// columns must be NOT NULL (a null would stall or skip rows).
func (t *SourceTask) checkNotNull(ctx context.Context, q *querier) error {
	var cols []string
	if q.hasInc {
		cols = append(cols, q.incName)
	}
	cols = append(cols, q.tsNames...)
	rows, err := t.pool.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attname = ANY($2::text[]) AND NOT attnotnull`, q.tableOID, cols)
	if err != nil {
		return err
	}
	nullable, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(nullable) > 0 {
		return fmt.Errorf("%s: column(s) %s may be null; make them NOT NULL or set %s=false", q.describe(), strings.Join(nullable, ", "), ValidateNonNullConfig)
	}
	return nil
}

// loadOffset reads q's stored offset (protocol 1 partition first, then
// protocol 0, as the JDBC source) or sets the initial one: incrementing -1,
// timestamp the epoch or timestamp.initial.
func (t *SourceTask) loadOffset(ctx context.Context, q *querier) error {
	q.inc = -1
	q.ts = time.Unix(0, 0).UTC()
	if t.cfg.hasTSInitial {
		if t.cfg.tsInitial == timestampInitialCurrent {
			if err := t.pool.QueryRow(ctx, "SELECT CURRENT_TIMESTAMP").Scan(&q.ts); err != nil {
				return err
			}
		} else {
			q.ts = time.UnixMilli(t.cfg.tsInitial).UTC()
		}
	}
	reader := t.tc.Offsets()
	off, err := reader.Offset(ctx, q.partition)
	if err != nil {
		return fmt.Errorf("reading the stored offset: %w", err)
	}
	if off == nil && !q.isQuery {
		if _, rel, ok := strings.Cut(q.partition[TablePartitionKey].(string), "."); ok {
			if off, err = reader.Offset(ctx, map[string]any{TablePartitionKey: rel}); err != nil {
				return fmt.Errorf("reading the stored offset: %w", err)
			}
		}
	}
	if off == nil {
		return nil
	}
	if v, ok := off[IncrementingOffsetKey]; ok && v != nil {
		n, ok := asInt64(v)
		if !ok {
			return fmt.Errorf("stored offset %s: %q is not an integer", connect.FormatMap(off), IncrementingOffsetKey)
		}
		q.inc = n
	}
	if v, ok := off[TimestampOffsetKey]; ok && v != nil {
		ms, ok := asInt64(v)
		if !ok {
			return fmt.Errorf("stored offset %s: %q is not an integer", connect.FormatMap(off), TimestampOffsetKey)
		}
		sec := ms / 1000
		if ms%1000 < 0 {
			sec--
		}
		nanos := (ms - sec*1000) * int64(time.Millisecond)
		if v, ok := off[TimestampNanosKey]; ok && v != nil {
			n, ok := asInt64(v)
			if !ok || n < 0 || n >= int64(time.Second) {
				return fmt.Errorf("stored offset %s: %q is not a nanosecond count", connect.FormatMap(off), TimestampNanosKey)
			}
			nanos = n
		}
		q.ts = time.Unix(sec, nanos).UTC()
	}
	return nil
}

// asInt64 reads an offset value written as an integer (or a float holding
// one).
func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<63 {
			return int64(n), true
		}
	}
	return 0, false
}
