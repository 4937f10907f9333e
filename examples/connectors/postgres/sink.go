package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/sink"
)

// maxPlans bounds the write plans (one per table and key/value schema
// pair) and their aliases; each is emptied when full.
const maxPlans = 1024

// SinkTask is the PostgreSQL sink: it writes record values (Connect structs)
// as rows, one transaction per Put, and stores the consumed offsets in the
// same transaction (see the package documentation). It implements
// sink.Task, sink.PartitionOpener, sink.PartitionCloser and
// sink.PreCommitter. Create one per task; the zero value is ready (Logger
// optional).
type SinkTask struct {
	// Logger receives the task's logs (default slog.Default()).
	Logger *slog.Logger

	cfg       sinkConfig
	tc        sink.TaskContext
	log       *slog.Logger
	pool      *pgxpool.Pool
	connector string

	offInsert, offUpdate, offSelect string

	topicTables map[string]*tableState
	tables      map[string]*tableState // by SQL name
	// plans holds one plan per table and distinct schema pair; aliases
	// finds them by the Schema pointers records carry (converters reuse
	// their Schema values, so this is the usual path).
	plans   []*plan
	aliases map[planKey]*plan
	// committed mirrors the offsets table for the assigned partitions: the
	// next offset the last committed transaction (or Open) saw in it.
	committed map[connect.TopicPartition]int64
}

var (
	_ sink.Task            = (*SinkTask)(nil)
	_ sink.PartitionOpener = (*SinkTask)(nil)
	_ sink.PartitionCloser = (*SinkTask)(nil)
	_ sink.PreCommitter    = (*SinkTask)(nil)
)

// tableState is what the task knows of one destination table.
type tableState struct {
	id      tableID
	sqlName string
	exists  bool
	// columns maps column names to their types (format_type), once loaded.
	columns map[string]string
}

// planKey identifies a write plan: records of one table with one pair of
// schemas share it.
type planKey struct {
	table      string
	key, value *connect.Schema
}

// plan is how records of one table and schema pair are written: the SQL
// (built once; pgx prepares it once per connection) and where each
// parameter comes from.
type plan struct {
	table     *tableState
	keySchema *connect.Schema
	valSchema *connect.Schema
	cols      []column
	keyCols   []column
	writeSQL  string // insert, upsert or update
	deleteSQL string
	// deleteOnly plans (tombstones, no value schema) write nothing when the
	// table does not exist.
	deleteOnly bool
}

// op is one statement of a batch: the record at index idx of the Put.
type op struct {
	idx  int
	sql  string
	args []any
}

// Start parses the configuration, connects (connection.attempts tries,
// connection.backoff.ms apart) and creates the offsets table if missing.
func (t *SinkTask) Start(ctx context.Context, tc sink.TaskContext) error {
	cfg, err := parseSinkConfig(tc.Config())
	if err != nil {
		return err
	}
	t.cfg, t.tc, t.connector = cfg, tc, tc.ConnectorName()
	t.log = t.Logger
	if t.log == nil {
		t.log = slog.Default()
	}
	t.log = t.log.With("connector", t.connector, "task", tc.TaskID())
	t.topicTables = map[string]*tableState{}
	t.tables = map[string]*tableState{}
	t.plans = nil
	t.aliases = map[planKey]*plan{}
	t.committed = map[connect.TopicPartition]int64{}

	offID, err := parseTableID(cfg.offsetsTable)
	if err != nil {
		return fmt.Errorf("%s: %w", OffsetsTableNameConfig, err)
	}
	offTable := offID.sql(true)
	t.offInsert, t.offUpdate, t.offSelect = offsetsInsertSQL(offTable), offsetsUpdateSQL(offTable), offsetsSelectSQL(offTable)

	t.pool, err = openPool(ctx, cfg.conn, fmt.Sprintf("%s-%d", t.connector, tc.TaskID()), 2, t.log)
	if err != nil {
		return err
	}
	err = retryTransient(ctx, cfg.conn, t.log, "creating the offsets table", func(ctx context.Context) error {
		var exists bool
		if err := t.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", offTable).Scan(&exists); err != nil || exists {
			return err // existing: no CREATE privilege needed
		}
		_, err := t.pool.Exec(ctx, offsetsTableDDL(offTable))
		if c := pgCode(err); c == "42P07" || c == "23505" {
			return nil // created concurrently by another task
		}
		return err
	})
	if err != nil {
		t.pool.Close()
		t.pool = nil
		return fmt.Errorf("creating the offsets table %s: %w", cfg.offsetsTable, err)
	}
	return nil
}

// openPool opens a pool of at most maxConns connections and checks that the
// database answers, trying connection.attempts times.
func openPool(ctx context.Context, c connConfig, appName string, maxConns int32, log *slog.Logger) (*pgxpool.Pool, error) {
	pcfg, err := c.poolConfig(appName)
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = maxConns
	pcfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if err := retryTransient(ctx, c, log, "connecting to PostgreSQL", pool.Ping); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL at %s:%d: %w", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// retryTransient runs fn up to connection.attempts times while it fails
// with a transient error, connection.backoff.ms apart.
func retryTransient(ctx context.Context, c connConfig, log *slog.Logger, what string, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !isTransient(err) || attempt >= c.attempts || ctx.Err() != nil {
			return err
		}
		log.Warn(what+" failed; retrying", "attempt", attempt, "of", c.attempts, "backoff", c.backoff, "error", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(c.backoff):
		}
	}
}

// Stop closes the connections.
func (t *SinkTask) Stop(context.Context) error {
	if t.pool != nil {
		t.pool.Close()
		t.pool = nil
	}
	return nil
}

// Open reads the stored offsets of the newly assigned partitions and makes
// the pipeline resume each partition that has one from there
// (TaskContext.Offset): the database, not the consumer group, is the truth.
// Partitions without a stored offset start where the consumer group says.
func (t *SinkTask) Open(ctx context.Context, partitions []connect.TopicPartition) error {
	if len(partitions) == 0 {
		return nil
	}
	want := make(map[connect.TopicPartition]bool, len(partitions))
	var topics []string
	for _, tp := range partitions {
		want[tp] = true
		delete(t.committed, tp)
		if !slices.Contains(topics, tp.Topic) {
			topics = append(topics, tp.Topic)
		}
	}
	found := map[connect.TopicPartition]int64{}
	err := retryTransient(ctx, t.cfg.conn, t.log, "reading stored offsets", func(ctx context.Context) error {
		clear(found)
		rows, err := t.pool.Query(ctx, t.offSelect, t.connector, topics)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var topic string
			var partition int32
			var next int64
			if err := rows.Scan(&topic, &partition, &next); err != nil {
				return err
			}
			if tp := (connect.TopicPartition{Topic: topic, Partition: partition}); want[tp] {
				found[tp] = next
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("reading stored offsets from %s: %w", t.cfg.offsetsTable, err)
	}
	for tp, next := range found {
		t.committed[tp] = next
		t.tc.Offset(tp, next)
	}
	if len(found) > 0 {
		t.log.Info("resuming from the offsets stored in PostgreSQL", "offsets", formatOffsets(found))
	}
	return nil
}

// Close forgets the revoked partitions' offsets.
func (t *SinkTask) Close(_ context.Context, partitions []connect.TopicPartition) error {
	for _, tp := range partitions {
		delete(t.committed, tp)
	}
	return nil
}

// PreCommit returns the offsets the database holds for the partitions asked
// about, so that the consumer group's committed offsets follow the
// database's (which stay the truth; they are what Open seeks to).
func (t *SinkTask) PreCommit(_ context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	out := make(map[connect.TopicPartition]int64, len(offsets))
	for tp, pos := range offsets {
		if next, ok := t.committed[tp]; ok && next <= pos {
			out[tp] = next
		}
	}
	return out, nil
}

// Put writes records in one transaction together with the next offset of
// every partition in the batch. Records are applied in order, so a later
// record for a key wins. A record that cannot be written (no schema, a value
// the table rejects, …) is handed to TaskContext.Report and left out; under
// errors.tolerance=none that fails the task with nothing written. A lost
// connection or a serialization failure rolls the transaction back and
// returns a retriable error: the batch is delivered again.
func (t *SinkTask) Put(ctx context.Context, records []connect.Record) error {
	if len(records) == 0 {
		return nil
	}
	next := map[connect.TopicPartition]int64{}
	ops := make([]op, 0, len(records))
	for i := range records {
		r := &records[i]
		tp := r.OriginalTopicPartition()
		if stored, ok := t.committed[tp]; ok && r.OriginalOffset < stored {
			// Already written by an earlier transaction: the database
			// holds a later offset. Skipping keeps delivery exactly once
			// even if the pipeline delivers a record twice.
			continue
		}
		if n, ok := next[tp]; !ok || r.OriginalOffset+1 > n {
			next[tp] = r.OriginalOffset + 1
		}
		o, skip, err := t.prepare(ctx, i, r)
		if err != nil {
			if isTransient(err) {
				return connect.Retriable(err)
			}
			if rerr := t.report(ctx, r, err); rerr != nil {
				return rerr
			}
			continue
		}
		if !skip {
			ops = append(ops, o)
		}
	}
	if len(next) == 0 {
		return nil // every record was written before
	}
	oneByOne := false
	for {
		failed, err := t.write(ctx, ops, next, oneByOne)
		if err == nil {
			break
		}
		if failed < 0 {
			if !oneByOne && !isTransient(err) && !connect.IsFatal(err) {
				// The batch failed as a whole (pgx could not encode a
				// parameter, say): run the statements one at a time to
				// find the record at fault.
				oneByOne = true
				continue
			}
			return classify(err)
		}
		if rerr := t.report(ctx, &records[ops[failed].idx], err); rerr != nil {
			return rerr
		}
		ops = slices.Delete(ops, failed, failed+1)
	}
	maps.Copy(t.committed, next)
	return nil
}

// report hands a record that cannot be written to the error handler.
func (t *SinkTask) report(ctx context.Context, r *connect.Record, err error) error {
	err = fmt.Errorf("writing %s to PostgreSQL: %w", r.Coordinates(), err)
	t.log.Warn("record not written", "error", err)
	return t.tc.Report(ctx, r, err)
}

// write runs ops and the offset updates in one transaction, sending the
// statements in pipelined batches of batch.size (or, with oneByOne, one at a
// time). On failure it returns the index of the op whose data was rejected,
// or -1 when the failure is not one record's.
func (t *SinkTask) write(ctx context.Context, ops []op, next map[connect.TopicPartition]int64, oneByOne bool) (int, error) {
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if oneByOne {
		for j, o := range ops {
			if _, err := tx.Exec(ctx, o.sql, o.args...); err != nil {
				if isDataError(err) || (pgCode(err) == "" && !isTransient(err)) {
					return j, err // rejected data, or a value pgx cannot encode
				}
				return -1, err
			}
		}
		ops = nil
	}

	tps := slices.SortedFunc(maps.Keys(next), func(a, b connect.TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	for start := 0; start < len(ops) || start == 0; start += t.cfg.batchSize {
		end := min(start+t.cfg.batchSize, len(ops))
		last := end == len(ops)
		b := &pgx.Batch{}
		for _, o := range ops[start:end] {
			b.Queue(o.sql, o.args...)
		}
		if last {
			for _, tp := range tps {
				if prev, ok := t.committed[tp]; ok {
					b.Queue(t.offUpdate, t.connector, tp.Topic, tp.Partition, next[tp], prev)
				} else {
					b.Queue(t.offInsert, t.connector, tp.Topic, tp.Partition, next[tp])
				}
			}
		}
		br := tx.SendBatch(ctx, b)
		for j := start; j < end; j++ {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				if isDataError(err) {
					return j, err
				}
				return -1, err
			}
		}
		if last {
			for _, tp := range tps {
				ct, err := br.Exec()
				if err != nil {
					_ = br.Close()
					return -1, err
				}
				if ct.RowsAffected() != 1 {
					_ = br.Close()
					prev, ok := t.committed[tp]
					expected := "no stored offset"
					if ok {
						expected = fmt.Sprintf("stored offset %d", prev)
					}
					return -1, connect.Fatal(fmt.Errorf("the offset of %s in %s was changed by another writer (this task expected %s): is another task writing the partition? Restart the task to resume from the stored offset", tp, t.cfg.offsetsTable, expected))
				}
			}
		}
		if err := br.Close(); err != nil {
			return -1, err
		}
		if last {
			break
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return -1, err
	}
	return -1, nil
}

// prepare turns record i into a statement. skip is set for a tombstone of
// a table that does not exist (nothing to delete).
func (t *SinkTask) prepare(ctx context.Context, i int, r *connect.Record) (op, bool, error) {
	tombstone := r.Value == nil
	if tombstone && !t.cfg.deleteEnabled {
		return op{}, false, fmt.Errorf("the record has a null value, but %s=false: records need a non-null Struct value (set %s=true with %s=%s to delete rows on tombstones)",
			DeleteEnabledConfig, DeleteEnabledConfig, PKModeConfig, PKModeRecordKey)
	}
	if !tombstone && r.ValueSchema == nil {
		return op{}, false, errors.New("the record value has no schema: the PostgreSQL sink needs Struct values with schemas (e.g. the JSON converter with schemas.enable=true, or Avro)")
	}
	if !tombstone {
		if _, ok := r.Value.(*connect.Struct); !ok {
			return op{}, false, fmt.Errorf("the record value is a %T (schema %s), want a Struct", r.Value, r.ValueSchema)
		}
	}
	valueSchema := r.ValueSchema
	if tombstone {
		valueSchema = nil
	}
	p, err := t.planFor(ctx, r.Topic, r.KeySchema, valueSchema)
	if err != nil {
		return op{}, false, err
	}
	if tombstone {
		if p.deleteOnly && !p.table.exists {
			return op{}, true, nil
		}
		args, err := t.bind(r, p.keyCols, p.table)
		if err != nil {
			return op{}, false, err
		}
		return op{idx: i, sql: p.deleteSQL, args: args}, false, nil
	}
	args, err := t.bind(r, p.cols, p.table)
	if err != nil {
		return op{}, false, err
	}
	return op{idx: i, sql: p.writeSQL, args: args}, false, nil
}

// tableFor returns the destination table of topic (table.name.format).
func (t *SinkTask) tableFor(topic string) (*tableState, error) {
	if ts := t.topicTables[topic]; ts != nil {
		return ts, nil
	}
	name := strings.ReplaceAll(t.cfg.tableFormat, "${topic}", topic)
	id, err := parseTableID(name)
	if err != nil {
		return nil, fmt.Errorf("%s %q for topic %s: %w", TableNameFormatConfig, t.cfg.tableFormat, topic, err)
	}
	sqlName := id.sql(t.cfg.conn.quote)
	ts := t.tables[sqlName]
	if ts == nil {
		ts = &tableState{id: id, sqlName: sqlName}
		t.tables[sqlName] = ts
	}
	t.topicTables[topic] = ts
	return ts, nil
}

// planFor returns the plan for records of topic with these schemas, building
// it (and creating or evolving the table) the first time.
func (t *SinkTask) planFor(ctx context.Context, topic string, keySchema, valueSchema *connect.Schema) (*plan, error) {
	ts, err := t.tableFor(topic)
	if err != nil {
		return nil, err
	}
	k := planKey{table: ts.sqlName, key: keySchema, value: valueSchema}
	if p := t.aliases[k]; p != nil {
		return p, nil
	}
	if len(t.aliases) >= maxPlans {
		clear(t.aliases)
	}
	// Equal schemas in other Schema values share the plan.
	for _, p := range t.plans {
		if p.table == ts && p.keySchema.Equal(keySchema) && p.valSchema.Equal(valueSchema) {
			t.aliases[k] = p
			return p, nil
		}
	}
	p, err := t.buildPlan(ctx, ts, keySchema, valueSchema)
	if err != nil {
		return nil, err
	}
	if len(t.plans) >= maxPlans {
		t.plans = nil
		clear(t.aliases)
	}
	t.plans = append(t.plans, p)
	t.aliases[k] = p
	return p, nil
}

// buildPlan lays out the columns, makes sure the table has them (auto.create,
// auto.evolve) and builds the statements.
func (t *SinkTask) buildPlan(ctx context.Context, ts *tableState, keySchema, valueSchema *connect.Schema) (*plan, error) {
	cols, err := planColumns(&t.cfg, ts.id.String(), keySchema, valueSchema)
	if err != nil {
		return nil, err
	}
	quote := t.cfg.conn.quote
	p := &plan{table: ts, keySchema: keySchema, valSchema: valueSchema, cols: cols, deleteOnly: valueSchema == nil}
	for _, c := range cols {
		if c.key {
			p.keyCols = append(p.keyCols, c)
		}
	}
	if t.cfg.deleteEnabled {
		if len(p.keyCols) == 0 {
			return nil, fmt.Errorf("table %s: deletes need primary key columns", ts.id)
		}
		p.deleteSQL = deleteSQL(ts.sqlName, p.keyCols, quote)
	}
	if p.deleteOnly {
		if err := t.loadTable(ctx, ts); err != nil {
			return nil, err
		}
		return p, nil
	}
	if err := t.ensureTable(ctx, ts, cols); err != nil {
		return nil, err
	}
	for i := range cols {
		cols[i].pgType = ts.columns[cols[i].name]
	}
	switch t.cfg.insertMode {
	case InsertModeInsert:
		p.writeSQL = insertSQL(ts.sqlName, cols, quote)
	case InsertModeUpsert:
		if len(p.keyCols) == 0 {
			return nil, fmt.Errorf("table %s: %s=upsert needs primary key columns; check %s and %s", ts.id, InsertModeConfig, PKModeConfig, PKFieldsConfig)
		}
		p.writeSQL = upsertSQL(ts.sqlName, cols, quote)
	case InsertModeUpdate:
		if len(p.keyCols) == 0 || len(p.keyCols) == len(cols) {
			return nil, fmt.Errorf("table %s: %s=update needs primary key columns and at least one other column", ts.id, InsertModeConfig)
		}
		p.writeSQL = updateSQL(ts.sqlName, cols, quote)
	}
	t.log.Debug("write plan", "table", ts.id.String(), "sql", p.writeSQL)
	return p, nil
}

// planColumns lays out the columns for records with these schemas, as the
// JDBC sink does: the primary key columns from pk.mode and pk.fields, then
// the value's fields (those in fields.whitelist when it is set). Columns are
// ordered as the JDBC sink orders them: the Kafka coordinates, the value's
// fields in order, then the remaining key fields by name.
func planColumns(cfg *sinkConfig, table string, keySchema, valueSchema *connect.Schema) ([]column, error) {
	if valueSchema != nil && valueSchema.Type != connect.TypeStruct {
		return nil, fmt.Errorf("the value schema must be a Struct, got %s", valueSchema)
	}
	var keys []column
	switch cfg.pkMode {
	case PKModeKafka:
		keys = []column{
			{name: cfg.pkFields[0], schema: connect.StringSchema, key: true, from: fromKafkaTopic},
			{name: cfg.pkFields[1], schema: connect.Int32Schema, key: true, from: fromKafkaPartition},
			{name: cfg.pkFields[2], schema: connect.Int64Schema, key: true, from: fromKafkaOffset},
		}
	case PKModeRecordKey:
		switch {
		case keySchema == nil:
			return nil, fmt.Errorf("table %s: %s=%s, but the record key has no schema", table, PKModeConfig, PKModeRecordKey)
		case keySchema.Type.IsPrimitive():
			if len(cfg.pkFields) != 1 {
				return nil, fmt.Errorf("table %s: the record key is a primitive (%s), so %s must name exactly one column, got %q", table, keySchema, PKFieldsConfig, cfg.pkFields)
			}
			keys = []column{{name: cfg.pkFields[0], schema: keySchema, key: true, from: fromKeyPrimitive}}
		case keySchema.Type == connect.TypeStruct:
			names := cfg.pkFields
			if len(names) == 0 {
				for _, f := range keySchema.Fields {
					names = append(names, f.Name)
				}
			}
			for _, n := range names {
				f := keySchema.Field(n)
				if f == nil {
					return nil, fmt.Errorf("table %s: %s=%s with %s %q, but the key schema has no field %q", table, PKModeConfig, PKModeRecordKey, PKFieldsConfig, cfg.pkFields, n)
				}
				keys = append(keys, column{name: n, schema: f.Schema, key: true, from: fromKeyField, index: f.Index})
			}
		default:
			return nil, fmt.Errorf("table %s: the key schema must be a primitive or a Struct, got %s", table, keySchema)
		}
	case PKModeRecordValue:
		if valueSchema == nil {
			return nil, fmt.Errorf("table %s: %s=%s, but the record value has no schema", table, PKModeConfig, PKModeRecordValue)
		}
		names := cfg.pkFields
		if len(names) == 0 {
			for _, f := range valueSchema.Fields {
				names = append(names, f.Name)
			}
		}
		for _, n := range names {
			f := valueSchema.Field(n)
			if f == nil {
				return nil, fmt.Errorf("table %s: %s=%s with %s %q, but the value schema has no field %q", table, PKModeConfig, PKModeRecordValue, PKFieldsConfig, cfg.pkFields, n)
			}
			keys = append(keys, column{name: n, schema: f.Schema, key: true, from: fromValueField, index: f.Index})
		}
	}
	isKey := make(map[string]int, len(keys))
	for i, k := range keys {
		isKey[k.name] = i
	}
	var cols []column
	used := make(map[string]bool, len(keys))
	for _, name := range defaultKafkaPKNames {
		if i, ok := isKey[name]; ok {
			cols = append(cols, keys[i])
			used[name] = true
		}
	}
	if cfg.pkMode == PKModeKafka {
		for _, k := range keys {
			if !used[k.name] {
				cols = append(cols, k)
				used[k.name] = true
			}
		}
	}
	if valueSchema != nil {
		for _, f := range valueSchema.Fields {
			if i, ok := isKey[f.Name]; ok {
				if !used[f.Name] {
					cols = append(cols, keys[i])
					used[f.Name] = true
				}
				continue
			}
			if cfg.fieldsWhitelist != nil && !cfg.fieldsWhitelist[f.Name] {
				continue
			}
			cols = append(cols, column{name: f.Name, schema: f.Schema, from: fromValueField, index: f.Index})
			used[f.Name] = true
		}
	}
	var rest []column
	for _, k := range keys {
		if !used[k.name] {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(rest, func(a, b column) int { return strings.Compare(a.name, b.name) })
	cols = append(cols, rest...)
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s: no columns: the key and value schemas give no field to write", table)
	}
	for _, c := range cols {
		if _, err := sqlType(c.schema); err != nil {
			return nil, fmt.Errorf("table %s: field %q: %w", table, c.name, err)
		}
	}
	return cols, nil
}

// loadTable reads whether ts exists and its columns.
func (t *SinkTask) loadTable(ctx context.Context, ts *tableState) error {
	var oid *uint32
	if err := t.pool.QueryRow(ctx, "SELECT to_regclass($1)::oid", ts.sqlName).Scan(&oid); err != nil {
		return err
	}
	ts.exists = oid != nil
	ts.columns = map[string]string{}
	if !ts.exists {
		return nil
	}
	rows, err := t.pool.Query(ctx, "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped", *oid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return err
		}
		ts.columns[name] = typ
	}
	return rows.Err()
}

// ensureTable makes sure ts exists with cols: it creates the table
// (auto.create) or adds missing columns (auto.evolve), or fails naming what
// is missing.
func (t *SinkTask) ensureTable(ctx context.Context, ts *tableState, cols []column) error {
	if err := t.loadTable(ctx, ts); err != nil {
		return err
	}
	quote := t.cfg.conn.quote
	if !ts.exists {
		if !t.cfg.autoCreate {
			return fmt.Errorf("table %s does not exist and %s=false", ts.id, AutoCreateConfig)
		}
		ddl, err := createTableSQL(ts.sqlName, cols, quote)
		if err != nil {
			return fmt.Errorf("creating table %s: %w", ts.id, err)
		}
		t.log.Info("creating table", "table", ts.id.String(), "sql", ddl)
		if _, err := t.pool.Exec(ctx, ddl); err != nil {
			if c := pgCode(err); c != "42P07" && c != "23505" { // not a concurrent create
				return fmt.Errorf("creating table %s: %w", ts.id, err)
			}
		}
		if err := t.loadTable(ctx, ts); err != nil {
			return err
		}
	}
	var missing []column
	for _, c := range cols {
		if _, ok := ts.columns[c.name]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, c := range missing {
		names[i] = c.name
	}
	if !t.cfg.autoEvolve {
		return fmt.Errorf("table %s has no column %s and %s=false", ts.id, strings.Join(names, ", "), AutoEvolveConfig)
	}
	for _, c := range missing {
		if !c.schema.Optional && c.schema.Default == nil {
			return fmt.Errorf("table %s: cannot add column %q: the field is neither optional nor has a default value", ts.id, c.name)
		}
		ddl, err := addColumnSQL(ts.sqlName, c, quote)
		if err != nil {
			return err
		}
		t.log.Info("adding column", "table", ts.id.String(), "sql", ddl)
		if _, err := t.pool.Exec(ctx, ddl); err != nil && pgCode(err) != "42701" { // 42701: added concurrently
			return fmt.Errorf("adding column %q to %s: %w", c.name, ts.id, err)
		}
	}
	return t.loadTable(ctx, ts)
}

// bind returns the statement parameters of r for cols.
func (t *SinkTask) bind(r *connect.Record, cols []column, ts *tableState) ([]any, error) {
	args := make([]any, len(cols))
	for i := range cols {
		c := &cols[i]
		var v any
		switch c.from {
		case fromValueField, fromKeyField:
			src, what := r.Value, "value"
			if c.from == fromKeyField {
				src, what = r.Key, "key"
			}
			st, ok := src.(*connect.Struct)
			if !ok {
				return nil, fmt.Errorf("the record %s is a %T, want a Struct", what, src)
			}
			if c.index >= len(st.Schema().Fields) {
				return nil, fmt.Errorf("the record %s does not match its schema", what)
			}
			v = st.At(c.index)
			if v == nil {
				v = c.schema.Default
			}
		case fromKeyPrimitive:
			v = r.Key
		case fromKafkaTopic:
			v = r.Topic
		case fromKafkaPartition:
			v = r.Partition
		case fromKafkaOffset:
			v = r.Offset
		}
		if v == nil {
			if c.key {
				return nil, fmt.Errorf("primary key column %q of %s is null", c.name, ts.id)
			}
			args[i] = nil
			continue
		}
		p, err := toParam(c.schema, v, c.pgType, t.cfg.conn.loc)
		if err != nil {
			return nil, fmt.Errorf("column %q of %s: %w", c.name, ts.id, err)
		}
		args[i] = p
	}
	return args, nil
}

// toParam converts a Connect value to a pgx parameter: Decimal to numeric
// (exact), Time to a time of day, Timestamp to an instant (or, for a
// "timestamp without time zone" column, the wall clock in db.timezone),
// INT8 to a smallint. Other values are passed as they are.
func toParam(s *connect.Schema, v any, pgType string, loc *time.Location) (any, error) {
	switch s.Name {
	case connect.DecimalName:
		d, ok := v.(connect.Decimal)
		if !ok {
			return nil, fmt.Errorf("%T value for a Decimal schema", v)
		}
		u := new(big.Int)
		if d.Unscaled != nil {
			u.Set(d.Unscaled)
		}
		return pgtype.Numeric{Int: u, Exp: -d.Scale, Valid: true}, nil
	case connect.DateName:
		tm, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("%T value for a Date schema", v)
		}
		return tm.UTC(), nil
	case connect.TimeName:
		tm, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("%T value for a Time schema", v)
		}
		u := tm.UTC()
		us := (int64(u.Hour())*3600+int64(u.Minute())*60+int64(u.Second()))*1_000_000 + int64(u.Nanosecond()/1000)
		return pgtype.Time{Microseconds: us, Valid: true}, nil
	case connect.TimestampName:
		tm, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("%T value for a Timestamp schema", v)
		}
		if pgType == "timestamp without time zone" {
			return tm.In(loc), nil
		}
		return tm, nil
	}
	if i8, ok := v.(int8); ok {
		return int16(i8), nil
	}
	return v, nil
}

// formatOffsets renders offsets for logs, sorted.
func formatOffsets(m map[connect.TopicPartition]int64) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b connect.TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	var b strings.Builder
	for i, tp := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%d", tp, m[tp])
	}
	return b.String()
}
