package postgres

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/offsets"
)

// sinkRecord builds a consumed record of topic partition 0 at offset off.
func sinkRecord(topic string, off int64, keySchema *connect.Schema, key any, valueSchema *connect.Schema, value any) connect.Record {
	return connect.Record{
		Topic: topic, Partition: 0, Offset: off,
		KeySchema: keySchema, Key: key, ValueSchema: valueSchema, Value: value,
		OriginalTopic: topic, OriginalPartition: 0, OriginalOffset: off,
	}
}

// allTypesValue is a value of allTypesSchema; nulls leaves the optional
// fields unset.
func allTypesValue(i int, nulls bool) *connect.Struct {
	st := connect.NewStruct(allTypesSchema()).
		MustPut("i8", int8(-8)).
		MustPut("i16", int16(-1600)).
		MustPut("i32", int32(320000+i)).
		MustPut("i64", int64(1)<<40).
		MustPut("f32", float32(1.5)).
		MustPut("f64", -2.25).
		MustPut("b", true).
		MustPut("s", fmt.Sprintf("héllo 'quoted' \"%d\"", i)).
		MustPut("bin", []byte{0, 1, 0xff}).
		MustPut("dec", connect.NewDecimal(-12345, 2)).
		MustPut("d", connect.DaysToDate(19000)).
		MustPut("tm", connect.MillisToTime(13*3600_000+5*60_000+7_008)).
		MustPut("ts", connect.MillisToTimestamp(1_700_000_000_123))
	if !nulls {
		st.MustPut("opt_s", "x").
			MustPut("opt_dec", connect.NewDecimal(5, 3)).
			MustPut("opt_ts", connect.MillisToTimestamp(0))
	}
	return st
}

// TestSinkTypes: auto.create makes the table with the documented column
// types, and every Connect type is written exactly (upsert by a primitive
// record key), nulls included.
func TestSinkTypes(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "types")
	dropTable(t, db, quoteIdent(table))
	name := uniqueName(t, "sink")
	dropOffsets(t, db, name)
	task, _ := startSink(t, name, map[string]string{
		"auto.create": "true", "insert.mode": "upsert", "pk.mode": "record_key", "pk.fields": "id",
	})
	ctx := context.Background()
	recs := []connect.Record{
		sinkRecord(table, 0, connect.Int64Schema, int64(1), allTypesSchema(), allTypesValue(1, false)),
		sinkRecord(table, 1, connect.Int64Schema, int64(2), allTypesSchema(), allTypesValue(2, true)),
	}
	if err := task.Put(ctx, recs); err != nil {
		t.Fatalf("Put: %v", err)
	}

	types := collectRows(t, db, `SELECT column_name::text AS c, data_type::text AS t, is_nullable::text AS n FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, table)
	var got []string
	for _, r := range types {
		got = append(got, fmt.Sprintf("%s %s %s", r["c"], r["t"], r["n"]))
	}
	want := []string{
		"i8 smallint NO", "i16 smallint NO", "i32 integer NO", "i64 bigint NO", "f32 real NO",
		"f64 double precision NO", "b boolean NO", "s text NO", "bin bytea NO", "dec numeric NO",
		"d date NO", "tm time without time zone NO", "ts timestamp with time zone NO",
		"opt_s text YES", "opt_dec numeric YES", "opt_ts timestamp with time zone YES", "id bigint NO",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := queryInt(t, db, `SELECT count(*) FROM information_schema.table_constraints WHERE table_name = $1 AND constraint_type = 'PRIMARY KEY'`, table); n != 1 {
		t.Errorf("%d primary keys", n)
	}

	rows := collectRows(t, db, `SELECT id, i8::text, i16::text, i32::text, i64::text, f32::text, f64::text, b::text, s, encode(bin, 'hex') AS bin,
		dec::text, d::text, tm::text, ts::text, opt_s, opt_dec::text, opt_ts::text FROM `+quoteIdent(table)+` ORDER BY id`)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	check := func(row map[string]any, col string, want any) {
		t.Helper()
		if fmt.Sprint(row[col]) != fmt.Sprint(want) {
			t.Errorf("row %v column %s = %v, want %v", row["id"], col, row[col], want)
		}
	}
	for i, row := range rows {
		check(row, "i8", "-8")
		check(row, "i16", "-1600")
		check(row, "i32", 320001+i)
		check(row, "i64", int64(1)<<40)
		check(row, "f32", "1.5")
		check(row, "f64", "-2.25")
		check(row, "b", "true")
		check(row, "s", fmt.Sprintf("héllo 'quoted' \"%d\"", i+1))
		check(row, "bin", "0001ff")
		check(row, "dec", "-123.45")
		check(row, "d", "2022-01-08")
		check(row, "tm", "13:05:07.008")
		check(row, "ts", "2023-11-14 22:13:20.123+00")
	}
	check(rows[0], "opt_s", "x")
	check(rows[0], "opt_dec", "0.005")
	check(rows[0], "opt_ts", "1970-01-01 00:00:00+00")
	for _, c := range []string{"opt_s", "opt_dec", "opt_ts"} {
		check(rows[1], c, "<nil>")
	}

	// Upsert: later versions of key 1 replace the row; within one batch the
	// last one wins.
	err := task.Put(ctx, []connect.Record{
		sinkRecord(table, 2, connect.Int64Schema, int64(1), allTypesSchema(), allTypesValue(1, false).MustPut("s", "first")),
		sinkRecord(table, 3, connect.Int64Schema, int64(1), allTypesSchema(), allTypesValue(1, true).MustPut("s", "updated")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM `+quoteIdent(table)+` WHERE id = 1 AND s = 'updated' AND opt_s IS NULL`); n != 1 {
		t.Error("the upsert did not replace row 1")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM `+quoteIdent(table)); n != 2 {
		t.Errorf("%d rows after the upsert, want 2", n)
	}
	// Every record carried its own (equal) Schema value: one plan served all.
	if len(task.plans) != 1 || len(task.aliases) != 4 {
		t.Errorf("%d plans and %d aliases, want 1 and 4", len(task.plans), len(task.aliases))
	}
}

// TestSinkDeletesEvolvesAndWhitelists: tombstones delete rows
// (delete.enabled), a field added to the schema adds a column
// (auto.evolve), fields.whitelist keeps other fields out, a struct key
// gives a composite primary key, and table.name.format names the table.
func TestSinkDeletesEvolvesAndWhitelists(t *testing.T) {
	db := testDB(t)
	topic := uniqueName(t, "ev")
	table := "tbl_" + topic
	dropTable(t, db, quoteIdent(table))
	name := uniqueName(t, "sink")
	dropOffsets(t, db, name)
	task, _ := startSink(t, name, map[string]string{
		"auto.create": "true", "auto.evolve": "true", "insert.mode": "upsert", "pk.mode": "record_key",
		"delete.enabled": "true", "fields.whitelist": "v,extra", "table.name.format": "tbl_${topic}",
	})
	ctx := context.Background()
	keyS := connect.StructBuilder().Field("a", connect.StringSchema).Field("b", connect.Int32Schema).MustBuild()
	key := func(a string, b int32) *connect.Struct {
		return connect.NewStruct(keyS).MustPut("a", a).MustPut("b", b)
	}
	v1 := connect.StructBuilder().Field("v", connect.Int32Schema).Field("ignored", connect.StringSchema).MustBuild()
	val1 := func(v int32) *connect.Struct { return connect.NewStruct(v1).MustPut("v", v).MustPut("ignored", "x") }
	err := task.Put(ctx, []connect.Record{
		sinkRecord(topic, 0, keyS, key("x", 1), v1, val1(10)),
		sinkRecord(topic, 1, keyS, key("x", 2), v1, val1(20)),
		sinkRecord(topic, 2, keyS, key("y", 1), v1, val1(30)),
		sinkRecord(topic, 3, keyS, key("x", 2), nil, nil), // delete
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := collectRows(t, db, `SELECT a || b::text || '=' || v::text AS r FROM `+quoteIdent(table)+` ORDER BY a, b`)
	if fmt.Sprint(rows) != "[map[r:x1=10] map[r:y1=30]]" {
		t.Errorf("rows %v", rows)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = 'ignored'`, table); n != 0 {
		t.Error("a field outside fields.whitelist became a column")
	}

	v2 := connect.StructBuilder().Field("v", connect.Int32Schema).Field("extra", connect.OptionalStringSchema).MustBuild()
	err = task.Put(ctx, []connect.Record{
		sinkRecord(topic, 4, keyS, key("z", 9), v2, connect.NewStruct(v2).MustPut("v", int32(90)).MustPut("extra", "new")),
		sinkRecord(topic, 5, keyS, key("y", 1), nil, nil),
		sinkRecord(topic, 6, keyS, key("q", 0), nil, nil), // deleting a missing row is fine
	})
	if err != nil {
		t.Fatal(err)
	}
	rows = collectRows(t, db, `SELECT a || b::text || '=' || v::text || '/' || coalesce(extra, '-') AS r FROM `+quoteIdent(table)+` ORDER BY a, b`)
	if fmt.Sprint(rows) != "[map[r:x1=10/-] map[r:z9=90/new]]" {
		t.Errorf("rows after evolution %v", rows)
	}

	// A field outside fields.whitelist never needs a column.
	v3s := connect.StructBuilder().Field("v", connect.Int32Schema).Field("extra", connect.StringSchema).Field("req", connect.StringSchema).MustBuild()
	tc := task.tc.(*sluicetest.SinkTaskContext)
	err = task.Put(ctx, []connect.Record{
		sinkRecord(topic, 7, keyS, key("w", 1), v3s, connect.NewStruct(v3s).MustPut("v", int32(1)).MustPut("extra", "e").MustPut("req", "r")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Reports()) != 0 {
		t.Errorf("fields.whitelist should keep req out: reported %d", len(tc.Reports()))
	}
}

// TestSinkReportsRejectedRecords: a record the database rejects (a duplicate
// key in insert mode, a value out of range) is handed to Report and left out
// while the rest of the batch is written; when Report fails
// (errors.tolerance=none), Put fails and nothing of the batch is written.
func TestSinkReportsRejectedRecords(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "rej")
	dropTable(t, db, quoteIdent(table))
	mustExec(t, db, `CREATE TABLE `+quoteIdent(table)+` (id bigint PRIMARY KEY, small smallint NOT NULL)`)
	name := uniqueName(t, "sink")
	dropOffsets(t, db, name)
	task, tc := startSink(t, name, map[string]string{"pk.mode": "record_value", "pk.fields": "id"})
	s := connect.StructBuilder().Field("id", connect.Int64Schema).Field("small", connect.Int32Schema).MustBuild()
	rec := func(off int64, id int64, small int32) connect.Record {
		return sinkRecord(table, off, nil, nil, s, connect.NewStruct(s).MustPut("id", id).MustPut("small", small))
	}
	ctx := context.Background()
	err := task.Put(ctx, []connect.Record{
		rec(0, 1, 1), rec(1, 2, 2), rec(2, 1, 3) /* duplicate */, rec(3, 3, 70000) /* out of range */, rec(4, 4, 4),
		sinkRecord(table, 5, nil, nil, nil, map[string]any{"id": 5}), // schemaless
	})
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for _, r := range tc.Reports() {
		offs = append(offs, r.Record.OriginalOffset)
	}
	if fmt.Sprint(offs) != "[5 2 3]" {
		t.Errorf("reported offsets %v, want [5 2 3]", offs)
	}
	if got := collectRows(t, db, `SELECT string_agg(id::text || ':' || small::text, ',' ORDER BY id) AS r FROM `+quoteIdent(table)); fmt.Sprint(got) != "[map[r:1:1,2:2,4:4]]" {
		t.Errorf("rows %v", got)
	}
	if n := queryInt(t, db, `SELECT next_offset FROM __sluice_offsets WHERE connector = $1 AND topic = $2 AND partition = 0`, name, table); n != 6 {
		t.Errorf("stored offset %d, want 6", n)
	}

	tc.SetReportError(fmt.Errorf("tolerance none"))
	if err := task.Put(ctx, []connect.Record{rec(6, 10, 10), rec(7, 1, 1)}); err == nil {
		t.Fatal("Put succeeded although Report failed")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM `+quoteIdent(table)+` WHERE id = 10`); n != 0 {
		t.Error("a batch that failed wrote a row")
	}
	if n := queryInt(t, db, `SELECT next_offset FROM __sluice_offsets WHERE connector = $1 AND topic = $2 AND partition = 0`, name, table); n != 6 {
		t.Errorf("stored offset moved to %d after a failed batch", n)
	}
}

// TestSinkOffsetsInDatabase: Open seeks to the stored offsets, PreCommit
// reports them, records below them are not written again, and a second
// writer of the same partition is fenced off.
func TestSinkOffsetsInDatabase(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "offs")
	dropTable(t, db, quoteIdent(table))
	name := uniqueName(t, "sink")
	dropOffsets(t, db, name)
	cfg := func() map[string]string {
		return map[string]string{"auto.create": "true", "pk.mode": "kafka"}
	}
	s := connect.StructBuilder().Field("v", connect.Int32Schema).MustBuild()
	rec := func(part int32, off int64) connect.Record {
		r := sinkRecord(table, off, nil, nil, s, connect.NewStruct(s).MustPut("v", int32(off)))
		r.Partition, r.OriginalPartition = part, part
		return r
	}
	tp0, tp1, tp2 := connect.TopicPartition{Topic: table, Partition: 0}, connect.TopicPartition{Topic: table, Partition: 1}, connect.TopicPartition{Topic: table, Partition: 2}
	ctx := context.Background()

	a, tcA := startSink(t, name, cfg())
	if err := a.Open(ctx, []connect.TopicPartition{tp0, tp1}); err != nil {
		t.Fatal(err)
	}
	if len(tcA.Seeks()) != 0 {
		t.Errorf("seeks without stored offsets: %v", tcA.Seeks())
	}
	if err := a.Put(ctx, []connect.Record{rec(0, 0), rec(0, 1), rec(1, 5), rec(0, 2)}); err != nil {
		t.Fatal(err)
	}
	pc, _ := a.PreCommit(ctx, map[connect.TopicPartition]int64{tp0: 3, tp1: 6, tp2: 9})
	if fmt.Sprint(pc) != fmt.Sprint(map[connect.TopicPartition]int64{tp0: 3, tp1: 6}) {
		t.Errorf("PreCommit = %v", pc)
	}

	// A second task taking the partitions over resumes from the database.
	b, tcB := startSink(t, name, cfg())
	if err := b.Open(ctx, []connect.TopicPartition{tp0, tp1, tp2}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tcB.Seeks()) != fmt.Sprint(map[connect.TopicPartition]int64{tp0: 3, tp1: 6}) {
		t.Errorf("Open seeks %v, want %s-0 → 3, %s-1 → 6", tcB.Seeks(), table, table)
	}
	// Redelivered records (below the stored offset) are skipped.
	if err := b.Put(ctx, []connect.Record{rec(0, 1), rec(0, 2), rec(0, 3)}); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM `+quoteIdent(table)); n != 5 {
		t.Errorf("%d rows, want 5 (0, 1, 2, 3 of partition 0 and 5 of partition 1)", n)
	}

	// The first task still believes partition 0 is at 3: it is fenced.
	err := a.Put(ctx, []connect.Record{rec(0, 3), rec(0, 4)})
	if err == nil || !connect.IsFatal(err) || !strings.Contains(err.Error(), "changed by another writer") {
		t.Fatalf("zombie Put: %v", err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM `+quoteIdent(table)); n != 5 {
		t.Errorf("the fenced Put wrote rows: %d", n)
	}
	if err := a.Close(ctx, []connect.TopicPartition{tp0, tp1}); err != nil {
		t.Fatal(err)
	}
	if pc, _ := a.PreCommit(ctx, map[connect.TopicPartition]int64{tp0: 3}); len(pc) != 0 {
		t.Errorf("PreCommit after Close = %v", pc)
	}
}

// TestSinkMissingTable: without auto.create a missing table is reported
// per record (errors.tolerance decides), and a table with columns missing
// is refused without auto.evolve.
func TestSinkMissingTable(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "miss")
	dropTable(t, db, quoteIdent(table))
	name := uniqueName(t, "sink")
	dropOffsets(t, db, name)
	task, tc := startSink(t, name, map[string]string{})
	s := connect.StructBuilder().Field("v", connect.Int32Schema).Field("w", connect.OptionalStringSchema).MustBuild()
	r := sinkRecord(table, 0, nil, nil, s, connect.NewStruct(s).MustPut("v", int32(1)))
	if err := task.Put(context.Background(), []connect.Record{r}); err != nil {
		t.Fatal(err)
	}
	if len(tc.Reports()) != 1 {
		t.Fatalf("reported %d records, want 1", len(tc.Reports()))
	}
	mustExec(t, db, `CREATE TABLE `+quoteIdent(table)+` (v integer)`)
	r.OriginalOffset = 1
	tc.SetReportError(fmt.Errorf("tolerance none"))
	err := task.Put(context.Background(), []connect.Record{r})
	if err == nil || !strings.Contains(err.Error(), "tolerance none") {
		t.Fatalf("Put = %v", err)
	}
	if len(tc.Reports()) != 2 {
		t.Fatalf("reported %d records, want 2", len(tc.Reports()))
	}
}

// TestSourceTypes: the source's schema and values for PostgreSQL column
// types: integers, numeric (constrained and not), text, boolean,
// timestamps with and without time zone, date, time, bytea, json/jsonb (as
// strings), other types as text, NOT NULL columns required and nullable
// ones optional.
func TestSourceTypes(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "src_types")
	dropTable(t, db, table)
	mustExec(t, db, `CREATE TABLE `+table+` (
		id bigserial PRIMARY KEY, i2 smallint, i4 integer NOT NULL, f4 real, f8 double precision,
		n numeric(10,3), nu numeric, t text, vc varchar(10), b boolean, ts timestamp, tstz timestamptz,
		d date, tm time, by bytea, j json, jb jsonb, u uuid, arr int[])`)
	mustExec(t, db, `INSERT INTO `+table+` (i2, i4, f4, f8, n, nu, t, vc, b, ts, tstz, d, tm, by, j, jb, u, arr) VALUES
		(-2, 4, 1.5, -2.25, 1234567.891, 0.000123456789, 'héllo', 'vc', true, '2024-02-29 12:34:56.789123', '2024-02-29 12:34:56.789+02',
		 '2024-02-29', '23:59:59.999', '\x00ff', '{"a": [1, 2]}', '{"b": true}', '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '{1,2}')`)
	mustExec(t, db, `INSERT INTO `+table+` (i4) VALUES (5)`)

	task := startSource(t, "types", map[string]string{"mode": "incrementing", "table.whitelist": table,
		"topic.prefix": "pg-", "poll.interval.ms": "10"}, nil)
	recs := pollAll(t, task)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Topic != "pg-"+table || r.Key != nil || r.KeySchema != nil {
		t.Errorf("topic %s key %v", r.Topic, r.Key)
	}
	if fmt.Sprint(r.SourcePartition) != fmt.Sprint(map[string]any{"protocol": "1", "table": "public." + table}) ||
		fmt.Sprint(r.SourceOffset) != fmt.Sprint(map[string]any{"incrementing": int64(1)}) {
		t.Errorf("partition %v offset %v", r.SourcePartition, r.SourceOffset)
	}
	s := r.ValueSchema
	if s.Name != table || s.Type != connect.TypeStruct {
		t.Errorf("schema %s", s)
	}
	wantSchema := map[string]string{
		"id": "INT64", "i2": "INT16,optional", "i4": "INT32", "f4": "FLOAT32,optional", "f8": "FLOAT64,optional",
		"n": connect.DecimalName + ":BYTES,optional scale=3", "nu": connect.DecimalName + ":BYTES,optional scale=127",
		"t": "STRING,optional", "vc": "STRING,optional", "b": "BOOLEAN,optional",
		"ts": connect.TimestampName + ":INT64,optional", "tstz": connect.TimestampName + ":INT64,optional",
		"d": connect.DateName + ":INT32,optional", "tm": connect.TimeName + ":INT32,optional", "by": "BYTES,optional",
		"j": "STRING,optional", "jb": "STRING,optional", "u": "STRING,optional", "arr": "STRING,optional",
	}
	for _, f := range s.Fields {
		got := strings.TrimSuffix(strings.TrimPrefix(f.Schema.String(), "Schema{"), "}")
		if sc, ok := f.Schema.Parameters.Get(connect.DecimalScale); ok {
			got += " scale=" + sc
		}
		if got != wantSchema[f.Name] {
			t.Errorf("field %s: %s, want %s", f.Name, got, wantSchema[f.Name])
		}
	}
	st := r.Value.(*connect.Struct)
	want := map[string]any{
		"id": int64(1), "i2": int16(-2), "i4": int32(4), "f4": float32(1.5), "f8": -2.25,
		"n": connect.NewDecimal(1234567891, 3), "t": "héllo", "vc": "vc", "b": true,
		"ts":   time.Date(2024, 2, 29, 12, 34, 56, 789_000_000, time.UTC),
		"tstz": time.Date(2024, 2, 29, 10, 34, 56, 789_000_000, time.UTC),
		"d":    time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "tm": connect.MillisToTime(86399999),
		"by": []byte{0, 0xff}, "j": `{"a": [1, 2]}`, "jb": `{"b": true}`, "u": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "arr": "{1,2}",
	}
	for k, w := range want {
		if got, _ := st.Get(k); !connect.ValuesEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	nu, _ := st.Get("nu")
	if d := nu.(connect.Decimal); d.Scale != 127 || d.Rat().RatString() != "123456789/1000000000000" {
		t.Errorf("unconstrained numeric = %s", d)
	}
	st2 := recs[1].Value.(*connect.Struct)
	if err := st2.Validate(); err != nil {
		t.Errorf("row of nulls: %v", err)
	}
	if v, _ := st2.Get("t"); v != nil {
		t.Errorf("null text = %#v", v)
	}
	if recs[1].ValueSchema != s {
		t.Error("the rows of one result do not share their schema")
	}
}

// TestSourceQueryAndTimestampTies: query mode wraps the query; in
// timestamp mode rows that share a timestamp are never split across
// batches (the next query asks for later timestamps only), even when
// batch.max.rows is smaller than their number.
func TestSourceQueryAndTimestampTies(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "ties")
	dropTable(t, db, table)
	mustExec(t, db, `CREATE TABLE `+table+` (id int NOT NULL, ts timestamptz NOT NULL)`)
	// 3 rows at t1, 5 at t2, 1 at t3.
	mustExec(t, db, `INSERT INTO `+table+` SELECT g, CASE WHEN g <= 3 THEN '2024-01-01 00:00:01+00'::timestamptz
		WHEN g <= 8 THEN '2024-01-01 00:00:02+00' ELSE '2024-01-01 00:00:03+00' END FROM generate_series(1, 9) g`)
	task := startSource(t, "ties", map[string]string{"mode": "timestamp", "timestamp.column.name": "ts",
		"query": "SELECT id, ts, 'q' AS kind FROM " + table, "topic.prefix": "ties", "batch.max.rows": "2", "poll.interval.ms": "10"}, nil)
	var batches []string
	for {
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		var ids []int
		for _, r := range recs {
			id, _ := r.Value.(*connect.Struct).Get("id")
			ids = append(ids, int(id.(int32)))
			if r.Topic != "ties" || fmt.Sprint(r.SourcePartition) != "map[query:query]" {
				t.Errorf("topic %s partition %v", r.Topic, r.SourcePartition)
			}
		}
		slices.Sort(ids)
		batches = append(batches, strings.Trim(fmt.Sprint(ids), "[]"))
	}
	// The first query returns 2 rows, both at t1: the batch would end in
	// the middle of t1, so all three rows of t1 go together; likewise the
	// five rows of t2; then t3.
	got := strings.Join(batches, " | ")
	if got != "1 2 3 | 4 5 6 7 8 | 9" {
		t.Errorf("batches %s", got)
	}
}

// TestConnectionUserPassword: connection.user and connection.password
// supply the credentials a URL without them lacks; a wrong password fails
// Start at once (authentication failures are not retried).
func TestConnectionUserPassword(t *testing.T) {
	u, err := url.Parse(dbURL(t))
	if err != nil || u.User == nil {
		t.Skipf("%s has no user in it to move into connection.user", envURL)
	}
	user := u.User.Username()
	pw, _ := u.User.Password()
	u.User = nil
	start := func(password string) error {
		task := &SinkTask{Logger: testLogger()}
		defer task.Stop(context.Background())
		return task.Start(context.Background(), sluicetest.NewSinkTaskContext(map[string]string{
			"connection.url": u.String(), "connection.user": user, "connection.password": password,
			"connection.backoff.ms": "5000",
		}).WithName(uniqueName(t, "auth")))
	}
	if err := start(pw); err != nil {
		t.Fatalf("Start with connection.user/password: %v", err)
	}
	t0 := time.Now()
	err = start(pw + "-wrong")
	if err == nil {
		t.Fatal("Start with a wrong password succeeded")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("a wrong password took %s to fail: retried?", d)
	}
	if strings.Contains(err.Error(), pw+"-wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// TestSourceWaitsForTable: a whitelisted table that does not exist yet is
// polled once it is created; auto-detection finds its identity column.
func TestSourceWaitsForTable(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "later")
	dropTable(t, db, table)
	task := startSource(t, "later", map[string]string{"mode": "incrementing", "table.whitelist": table,
		"poll.interval.ms": "10"}, nil)
	if recs := pollAll(t, task); len(recs) != 0 {
		t.Fatalf("%d records from a missing table", len(recs))
	}
	mustExec(t, db, `CREATE TABLE `+table+` (id int GENERATED ALWAYS AS IDENTITY, v text)`)
	mustExec(t, db, `INSERT INTO `+table+` (v) VALUES ('a'), ('b')`)
	time.Sleep(20 * time.Millisecond)
	recs := pollAll(t, task)
	if len(recs) != 2 || recs[1].Topic != table || fmt.Sprint(recs[1].SourceOffset) != "map[incrementing:2]" {
		t.Fatalf("records %v", recs)
	}
}

// TestSourceValidatesColumns: validate.non.null refuses nullable offset
// columns, and a timestamp column must be a timestamp.
func TestSourceValidatesColumns(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "val")
	dropTable(t, db, table)
	mustExec(t, db, `CREATE TABLE `+table+` (id int, ts timestamptz NOT NULL, n int NOT NULL)`)
	for _, tc := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"mode": "incrementing", "incrementing.column.name": "id"}, "may be null"},
		{map[string]string{"mode": "timestamp", "timestamp.column.name": "n"}, "must be timestamp or timestamptz"},
		{map[string]string{"mode": "incrementing", "incrementing.column.name": "nope"}, "nope"},
		{map[string]string{"mode": "incrementing"}, "no identity or serial column"},
	} {
		tc.cfg["table.whitelist"] = table
		task := startSource(t, "val", tc.cfg, nil)
		_, err := task.Poll(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) || connect.IsRetriable(err) {
			t.Errorf("%v: Poll = %v, want a fatal error containing %q", tc.cfg, err, tc.want)
		}
	}
	task := startSource(t, "val", map[string]string{"mode": "timestamp", "timestamp.column.name": "ts",
		"table.whitelist": table, "validate.non.null": "false", "poll.interval.ms": "10"}, nil)
	if _, err := task.Poll(context.Background()); err != nil {
		t.Errorf("timestamp mode on a NOT NULL timestamptz: %v", err)
	}
}

// TestSourceTimestampWithoutTimeZone: in timestamp mode over a "timestamp
// without time zone" column holding Tokyo wall clocks (db.timezone), rows
// just written are read (the upper bound is Tokyo's now), their values are
// the right instants, and a restart from the stored offset repeats nothing.
func TestSourceTimestampWithoutTimeZone(t *testing.T) {
	db := testDB(t)
	table := uniqueName(t, "tokyo")
	dropTable(t, db, table)
	mustExec(t, db, `CREATE TABLE `+table+` (id int NOT NULL, ts timestamp(6) NOT NULL)`)
	var base time.Time
	if err := db.QueryRow(context.Background(), `SELECT date_trunc('millisecond', now()) - interval '2 seconds'`).Scan(&base); err != nil {
		t.Fatal(err)
	}
	// Wall clocks in Tokyo: 2 s ago, and 1 s ago plus 1 µs.
	mustExec(t, db, `INSERT INTO `+table+` VALUES (1, ($1::timestamptz) AT TIME ZONE 'Asia/Tokyo'),
		(2, ($1::timestamptz + interval '1.000001 second') AT TIME ZONE 'Asia/Tokyo')`, base)
	store := offsets.NewMemoryStore()
	cfg := func() map[string]string {
		return map[string]string{"mode": "timestamp", "timestamp.column.name": "ts", "table.whitelist": table,
			"db.timezone": "Asia/Tokyo", "poll.interval.ms": "10"}
	}
	task := startSource(t, "tokyo", cfg(), store)
	recs := pollAll(t, task)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (is the upper bound in db.timezone?)", len(recs))
	}
	for i, r := range recs {
		ts, _ := r.Value.(*connect.Struct).Get("ts")
		if want := base.Add(time.Duration(i) * time.Second); !ts.(time.Time).Equal(want) {
			t.Errorf("row %d: ts %v, want %v", i+1, ts, want)
		}
	}
	last := base.Add(time.Second + time.Microsecond)
	if want := fmt.Sprint(map[string]any{"timestamp": last.UnixMilli(), "timestamp_nanos": int64(last.Nanosecond())}); fmt.Sprint(recs[1].SourceOffset) != want {
		t.Errorf("offset %v, want %s", recs[1].SourceOffset, want)
	}
	// Commit the offsets as the pipeline would and start again.
	var entries []connect.OffsetEntry
	for _, r := range recs {
		entries = append(entries, connect.OffsetEntry{Partition: r.SourcePartition, Offset: r.SourceOffset})
	}
	if err := store.Write(context.Background(), "tokyo", entries); err != nil {
		t.Fatal(err)
	}
	again := startSource(t, "tokyo", cfg(), store)
	if recs := pollAll(t, again); len(recs) != 0 {
		t.Errorf("the restarted source repeated %d rows", len(recs))
	}
}
