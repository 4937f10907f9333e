package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connect"
)

// allTypesSchema has a field of every type the sink maps, required and
// optional.
func allTypesSchema() *connect.Schema {
	return connect.StructBuilder().Name("all").
		Field("i8", connect.Int8Schema).
		Field("i16", connect.Int16Schema).
		Field("i32", connect.Int32Schema).
		Field("i64", connect.Int64Schema).
		Field("f32", connect.Float32Schema).
		Field("f64", connect.Float64Schema).
		Field("b", connect.BooleanSchema).
		Field("s", connect.StringSchema).
		Field("bin", connect.BytesSchema).
		Field("dec", connect.DecimalSchema(2)).
		Field("d", connect.DateSchema).
		Field("tm", connect.TimeSchema).
		Field("ts", connect.TimestampSchema).
		Field("opt_s", connect.OptionalStringSchema).
		Field("opt_dec", connect.DecimalBuilder(3).Optional().MustBuild()).
		Field("opt_ts", connect.TimestampBuilder().Optional().MustBuild()).
		MustBuild()
}

// TestSQLTypeMapping: every Connect type the sink supports has its column
// type, and ARRAY/MAP/STRUCT have none.
func TestSQLTypeMapping(t *testing.T) {
	want := map[string]string{
		"i8": "smallint", "i16": "smallint", "i32": "integer", "i64": "bigint",
		"f32": "real", "f64": "double precision", "b": "boolean", "s": "text",
		"bin": "bytea", "dec": "numeric", "d": "date", "tm": "time", "ts": "timestamptz",
		"opt_s": "text", "opt_dec": "numeric", "opt_ts": "timestamptz",
	}
	for _, f := range allTypesSchema().Fields {
		got, err := sqlType(f.Schema)
		if err != nil || got != want[f.Name] {
			t.Errorf("%s: sqlType = %q, %v; want %q", f.Name, got, err, want[f.Name])
		}
	}
	for _, s := range []*connect.Schema{
		connect.ArrayBuilder(connect.Int32Schema).MustBuild(),
		connect.MapBuilder(connect.StringSchema, connect.StringSchema).MustBuild(),
		connect.StructBuilder().Field("a", connect.Int32Schema).MustBuild(),
	} {
		if _, err := sqlType(s); err == nil {
			t.Errorf("sqlType(%s) succeeded", s)
		}
	}
	// A logical name on the wrong physical type is not that logical type.
	if got, _ := sqlType(&connect.Schema{Type: connect.TypeString, Name: connect.DecimalName}); got != "text" {
		t.Errorf("STRING named Decimal maps to %q", got)
	}
}

// TestCreateTableSQL: auto.create's DDL quotes names, marks required fields
// and keys NOT NULL and declares the primary key.
func TestCreateTableSQL(t *testing.T) {
	cfg := sinkConfig{pkMode: PKModeRecordKey, pkFields: []string{"id"}}
	cols, err := planColumns(&cfg, "t", connect.Int64Schema, allTypesSchema())
	if err != nil {
		t.Fatal(err)
	}
	got, err := createTableSQL(`"public"."My ""T"""`, cols, true)
	if err != nil {
		t.Fatal(err)
	}
	want := `CREATE TABLE "public"."My ""T""" (` +
		`"i8" smallint NOT NULL, "i16" smallint NOT NULL, "i32" integer NOT NULL, "i64" bigint NOT NULL, ` +
		`"f32" real NOT NULL, "f64" double precision NOT NULL, "b" boolean NOT NULL, "s" text NOT NULL, ` +
		`"bin" bytea NOT NULL, "dec" numeric NOT NULL, "d" date NOT NULL, "tm" time NOT NULL, ` +
		`"ts" timestamptz NOT NULL, "opt_s" text, "opt_dec" numeric, "opt_ts" timestamptz, ` +
		`"id" bigint NOT NULL, PRIMARY KEY ("id"))`
	if got != want {
		t.Errorf("createTableSQL:\n got %s\nwant %s", got, want)
	}
	add, err := addColumnSQL(`"t"`, column{name: "opt_s", schema: connect.OptionalStringSchema}, true)
	if err != nil || add != `ALTER TABLE "t" ADD COLUMN "opt_s" text` {
		t.Errorf("addColumnSQL = %q, %v", add, err)
	}
	if _, err := createTableSQL(`"t"`, []column{{name: "a", schema: connect.ArrayBuilder(connect.Int32Schema).MustBuild()}}, true); err == nil {
		t.Error("createTableSQL accepted an ARRAY column")
	}
}

// TestWriteSQL: the insert, upsert (ON CONFLICT … DO UPDATE / DO NOTHING),
// update and delete statements, with parameters in column order.
func TestWriteSQL(t *testing.T) {
	cols := []column{
		{name: "id", key: true, schema: connect.Int64Schema},
		{name: "v", schema: connect.StringSchema},
		{name: "k2", key: true, schema: connect.Int32Schema},
	}
	for _, tc := range []struct{ got, want string }{
		{insertSQL(`"t"`, cols, true), `INSERT INTO "t" ("id", "v", "k2") VALUES ($1, $2, $3)`},
		{upsertSQL(`"t"`, cols, true), `INSERT INTO "t" ("id", "v", "k2") VALUES ($1, $2, $3) ON CONFLICT ("id", "k2") DO UPDATE SET "v" = EXCLUDED."v"`},
		{upsertSQL(`"t"`, []column{cols[0], cols[2]}, true), `INSERT INTO "t" ("id", "k2") VALUES ($1, $2) ON CONFLICT ("id", "k2") DO NOTHING`},
		{updateSQL(`"t"`, cols, true), `UPDATE "t" SET "v" = $2 WHERE "id" = $1 AND "k2" = $3`},
		{deleteSQL(`"t"`, []column{cols[0], cols[2]}, true), `DELETE FROM "t" WHERE "id" = $1 AND "k2" = $2`},
		{insertSQL("t", cols, false), `INSERT INTO t (id, v, k2) VALUES ($1, $2, $3)`},
		{offsetsTableDDL(`"__sluice_offsets"`), `CREATE TABLE IF NOT EXISTS "__sluice_offsets" (connector text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL, PRIMARY KEY (connector, topic, partition))`},
	} {
		if tc.got != tc.want {
			t.Errorf("\n got %s\nwant %s", tc.got, tc.want)
		}
	}
}

// colNames renders columns as "a,b*" (* marks key columns).
func colNames(cols []column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.name)
		if c.key {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// TestPlanColumns follows the JDBC sink's FieldsMetadata: which columns each
// pk.mode yields, in which order, and which configurations it refuses.
func TestPlanColumns(t *testing.T) {
	value := connect.StructBuilder().
		Field("b", connect.StringSchema).
		Field("id", connect.Int64Schema).
		Field("a", connect.OptionalInt32Schema).
		MustBuild()
	keyStruct := connect.StructBuilder().
		Field("z", connect.Int32Schema).
		Field("id", connect.Int64Schema).
		MustBuild()
	for _, tc := range []struct {
		name      string
		cfg       sinkConfig
		key, val  *connect.Schema
		want, err string
	}{
		{name: "none", cfg: sinkConfig{pkMode: PKModeNone}, val: value, want: "b,id,a"},
		{name: "whitelist", cfg: sinkConfig{pkMode: PKModeNone, fieldsWhitelist: map[string]bool{"a": true}}, val: value, want: "a"},
		{name: "kafka", cfg: sinkConfig{pkMode: PKModeKafka, pkFields: defaultKafkaPKNames}, val: value,
			want: "__connect_topic*,__connect_partition*,__connect_offset*,b,id,a"},
		{name: "kafka named", cfg: sinkConfig{pkMode: PKModeKafka, pkFields: []string{"t", "p", "o"}}, val: value, want: "t*,p*,o*,b,id,a"},
		{name: "record_key primitive", cfg: sinkConfig{pkMode: PKModeRecordKey, pkFields: []string{"k"}},
			key: connect.StringSchema, val: value, want: "b,id,a,k*"},
		{name: "record_key primitive named like a value field", cfg: sinkConfig{pkMode: PKModeRecordKey, pkFields: []string{"id"}},
			key: connect.Int64Schema, val: value, want: "b,id*,a"},
		{name: "record_key primitive without pk.fields", cfg: sinkConfig{pkMode: PKModeRecordKey},
			key: connect.StringSchema, val: value, err: "exactly one column"},
		{name: "record_key struct", cfg: sinkConfig{pkMode: PKModeRecordKey}, key: keyStruct, val: value, want: "b,id*,a,z*"},
		{name: "record_key struct selected", cfg: sinkConfig{pkMode: PKModeRecordKey, pkFields: []string{"z"}}, key: keyStruct, val: value, want: "b,id,a,z*"},
		{name: "record_key struct unknown field", cfg: sinkConfig{pkMode: PKModeRecordKey, pkFields: []string{"nope"}}, key: keyStruct, val: value, err: `no field "nope"`},
		{name: "record_key no key schema", cfg: sinkConfig{pkMode: PKModeRecordKey, pkFields: []string{"k"}}, val: value, err: "no schema"},
		{name: "record_key tombstone", cfg: sinkConfig{pkMode: PKModeRecordKey}, key: keyStruct, want: "id*,z*"},
		{name: "record_value all", cfg: sinkConfig{pkMode: PKModeRecordValue}, val: value, want: "b*,id*,a*"},
		{name: "record_value selected", cfg: sinkConfig{pkMode: PKModeRecordValue, pkFields: []string{"id"}}, val: value, want: "b,id*,a"},
		{name: "record_value missing", cfg: sinkConfig{pkMode: PKModeRecordValue, pkFields: []string{"x"}}, val: value, err: `no field "x"`},
		{name: "value not a struct", cfg: sinkConfig{pkMode: PKModeNone}, val: connect.StringSchema, err: "must be a Struct"},
		{name: "nested field", cfg: sinkConfig{pkMode: PKModeNone},
			val: connect.StructBuilder().Field("n", keyStruct).MustBuild(), err: `field "n"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cols, err := planColumns(&tc.cfg, "t", tc.key, tc.val)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := colNames(cols); got != tc.want {
				t.Errorf("columns %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSinkConfig: defaults and the checks that name the key.
func TestSinkConfig(t *testing.T) {
	c, err := parseSinkConfig(map[string]string{"connection.url": "postgres://u:p@h:5/db"})
	if err != nil {
		t.Fatal(err)
	}
	if c.insertMode != "insert" || c.pkMode != "none" || c.autoCreate || c.tableFormat != "${topic}" ||
		c.offsetsTable != "__sluice_offsets" || c.batchSize != 3000 || !c.conn.quote || c.conn.loc != time.UTC {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseSinkConfig(map[string]string{"connection.url": "jdbc:postgresql://h:5/db", "insert.mode": "UPSERT",
		"pk.mode": "record_value", "pk.fields": " a , b ", "auto.create": "true", "db.timezone": "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	if c.insertMode != "upsert" || !reflect.DeepEqual(c.pkFields, []string{"a", "b"}) || !c.autoCreate || c.conn.loc.String() != "Europe/Paris" {
		t.Errorf("parsed: %+v", c)
	}
	for _, tc := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{}, "connection.url: required"},
		{map[string]string{"connection.url": "postgres://h/db", "insert.mode": "merge"}, "insert.mode: want one of"},
		{map[string]string{"connection.url": "postgres://h/db", "insert.mode": "upsert"}, "needs primary key columns"},
		{map[string]string{"connection.url": "postgres://h/db", "delete.enabled": "true"}, "delete.enabled: deletes need pk.mode=record_key"},
		{map[string]string{"connection.url": "postgres://h/db", "auto.create": "yes"}, "auto.create: want true or false"},
		{map[string]string{"connection.url": "postgres://h/db", "pk.mode": "kafka", "pk.fields": "a,b"}, "exactly 3"},
		{map[string]string{"connection.url": "postgres://h/db", "db.timezone": "Mars/Olympus"}, "db.timezone: unknown time zone"},
		{map[string]string{"connection.url": "postgres://h:notaport/db"}, "connection.url: cannot parse"},
	} {
		if err := ValidateSinkConfig(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestConnectionOverrides: connection.user and connection.password replace
// the URL's, a jdbc: URL is accepted, and the session runs in db.timezone.
func TestConnectionOverrides(t *testing.T) {
	p := &props{m: map[string]string{"connection.url": "jdbc:postgresql://h:6543/db?user=a&password=b",
		"connection.user": "u", "connection.password": "pw", "db.timezone": "Asia/Tokyo"}}
	c := p.parseConn()
	if err := p.err(); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.poolConfig("conn-0")
	if err != nil {
		t.Fatal(err)
	}
	cc := cfg.ConnConfig
	if cc.Host != "h" || cc.Port != 6543 || cc.Database != "db" || cc.User != "u" || cc.Password != "pw" ||
		cc.RuntimeParams["timezone"] != "Asia/Tokyo" || cc.RuntimeParams["application_name"] != "sluice-conn-0" {
		t.Errorf("config: host %s port %d db %s user %s password %s params %v", cc.Host, cc.Port, cc.Database, cc.User, cc.Password, cc.RuntimeParams)
	}
}

// TestSourceConfig: modes, required columns and the table/query choice.
func TestSourceConfig(t *testing.T) {
	c, err := parseSourceConfig(map[string]string{"connection.url": "postgres://h/db", "mode": "timestamp+incrementing",
		"timestamp.column.name": "a, b", "table.whitelist": "t1, s.t2"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.usesIncrementing || !c.usesTimestamp || !reflect.DeepEqual(c.tsColumns, []string{"a", "b"}) ||
		!reflect.DeepEqual(c.tables, []string{"t1", "s.t2"}) || c.pollInterval != 5*time.Second || c.batchMaxRows != 100 {
		t.Errorf("parsed: %+v", c)
	}
	c, _ = parseSourceConfig(map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing",
		"table.whitelist": "a,b,c", "tables": "b"})
	if !reflect.DeepEqual(c.tables, []string{"b"}) {
		t.Errorf("tables: %q, want the task's share [b]", c.tables)
	}
	for _, tc := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"connection.url": "postgres://h/db", "table.whitelist": "t"}, "mode: required"},
		{map[string]string{"connection.url": "postgres://h/db", "table.whitelist": "t", "mode": "bulk"}, "bulk is not supported"},
		{map[string]string{"connection.url": "postgres://h/db", "table.whitelist": "t", "mode": "timestamp"}, "timestamp.column.name: required"},
		{map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing"}, "one of them is required"},
		{map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing", "table.whitelist": "t", "query": "SELECT 1"}, "only one of them"},
		{map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing", "query": "SELECT 1", "topic.prefix": "x"}, "incrementing.column.name: required"},
		{map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing", "query": "SELECT 1", "incrementing.column.name": "id"}, "topic.prefix: required"},
		{map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing", "table.whitelist": "t", "poll.interval.ms": "0"}, "poll.interval.ms"},
	} {
		if err := ValidateSourceConfig(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestSourceConnectorSplitsTables: table.whitelist is split into contiguous
// groups over at most tasks.max tasks; a query gets one task.
func TestSourceConnectorSplitsTables(t *testing.T) {
	base := map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing", "table.whitelist": "a,b,c,d,e"}
	for _, tc := range []struct {
		max  int
		want []string
	}{
		{1, []string{"a,b,c,d,e"}},
		{2, []string{"a,b,c", "d,e"}},
		{3, []string{"a,b", "c,d", "e"}},
		{10, []string{"a", "b", "c", "d", "e"}},
	} {
		cfgs, err := SourceConnector{}.TaskConfigs(context.Background(), base, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cfgs {
			got = append(got, c[TablesConfig])
			if c["table.whitelist"] != base["table.whitelist"] {
				t.Errorf("task config lost table.whitelist: %v", c)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tasks.max=%d: %q, want %q", tc.max, got, tc.want)
		}
	}
	q := map[string]string{"connection.url": "postgres://h/db", "mode": "incrementing", "query": "SELECT * FROM t",
		"incrementing.column.name": "id", "topic.prefix": "q"}
	if cfgs, err := (SourceConnector{}).TaskConfigs(context.Background(), q, 4); err != nil || len(cfgs) != 1 {
		t.Errorf("query: %d configs, %v", len(cfgs), err)
	}
	if _, err := (SourceConnector{}).TaskConfigs(context.Background(), map[string]string{}, 1); err == nil {
		t.Error("an invalid configuration was split")
	}
}

// TestTableIDs: schema qualification, quoting and PostgreSQL's 63-byte
// identifier limit.
func TestTableIDs(t *testing.T) {
	id, err := parseTableID("sales.Orders")
	if err != nil || id.schema != "sales" || id.name != "Orders" || id.sql(true) != `"sales"."Orders"` || id.sql(false) != "sales.Orders" {
		t.Errorf("parseTableID = %+v, %v", id, err)
	}
	long := strings.Repeat("é", 40) // 80 bytes
	id, _ = parseTableID(long)
	if len(id.name) != 62 || !strings.HasPrefix(long, id.name) {
		t.Errorf("truncated to %d bytes %q", len(id.name), id.name)
	}
	for _, bad := range []string{"", ".t", "s."} {
		if _, err := parseTableID(bad); err == nil {
			t.Errorf("parseTableID(%q) succeeded", bad)
		}
	}
	if got := quoteIdent(`a"b`); got != `"a""b"` {
		t.Errorf("quoteIdent = %s", got)
	}
}

// TestToParam: Connect values become exact pgx parameters.
func TestToParam(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	d := connect.NewDecimal(-12345, 2)
	got, err := toParam(connect.DecimalSchema(2), d, "numeric", time.UTC)
	if n, ok := got.(pgtype.Numeric); err != nil || !ok || n.Int.Int64() != -12345 || n.Exp != -2 || !n.Valid {
		t.Errorf("Decimal → %#v, %v", got, err)
	}
	tm := connect.MillisToTime(13*3600_000 + 5*60_000 + 7_008)
	got, _ = toParam(connect.TimeSchema, tm, "time without time zone", time.UTC)
	if v, ok := got.(pgtype.Time); !ok || v.Microseconds != (13*3600+5*60+7)*1_000_000+8_000 {
		t.Errorf("Time → %#v", got)
	}
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	got, _ = toParam(connect.TimestampSchema, ts, "timestamp without time zone", paris)
	if v := got.(time.Time); v.Hour() != 13 || !v.Equal(ts) {
		t.Errorf("Timestamp for a timestamp column → %v, want the Paris wall clock 13:00", v)
	}
	got, _ = toParam(connect.TimestampSchema, ts, "timestamp with time zone", paris)
	if v := got.(time.Time); v.Hour() != 12 {
		t.Errorf("Timestamp for timestamptz → %v", v)
	}
	if got, _ := toParam(connect.Int8Schema, int8(-3), "smallint", time.UTC); got != int16(-3) {
		t.Errorf("INT8 → %#v", got)
	}
	if _, err := toParam(connect.DecimalSchema(2), "1.5", "numeric", time.UTC); err == nil {
		t.Error("a string for a Decimal was accepted")
	}
}

// TestNumericScale decodes numeric type modifiers, including PostgreSQL
// 15's negative scales.
func TestNumericScale(t *testing.T) {
	for _, tc := range []struct {
		typmod           int32
		scale, precision int32
	}{
		{-1, 127, 0},
		{(10<<16 | 2) + 4, 2, 10},
		{5<<16 + 4, 0, 5},
		{(5<<16 | (-3 & 0x7ff)) + 4, -3, 5},
	} {
		s, p := numericScale(tc.typmod)
		if s != tc.scale || p != tc.precision {
			t.Errorf("numericScale(%d) = %d, %d; want %d, %d", tc.typmod, s, p, tc.scale, tc.precision)
		}
	}
	dec, err := numericToDecimal(pgtype.Numeric{Int: big.NewInt(15), Exp: -1, Valid: true}, 3)
	if err != nil || dec.String() != "1.500" {
		t.Errorf("1.5 at scale 3 = %s, %v", dec, err)
	}
	if _, err := numericToDecimal(pgtype.Numeric{Int: big.NewInt(15), Exp: -3, Valid: true}, 2); err == nil {
		t.Error("0.015 at scale 2 did not fail")
	}
	if _, err := numericToDecimal(pgtype.Numeric{NaN: true, Valid: true}, 2); err == nil {
		t.Error("NaN did not fail")
	}
}

// TestColumnSchemas: each column type's Connect schema and binary decoding.
func TestColumnSchemas(t *testing.T) {
	task := &SourceTask{typeMap: pgtype.NewMap(), cfg: sourceConfig{conn: connConfig{loc: time.UTC}}}
	be := func(n int, v uint64) []byte {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, v)
		return b[8-n:]
	}
	tsMicros := int64(24*3600+1)*1_000_000 + 2_345 // 2000-01-02T00:00:01.002345
	num, _ := pgtype.NewMap().Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, pgtype.Numeric{Int: big.NewInt(-12345), Exp: -2, Valid: true}, nil)
	for _, tc := range []struct {
		oid    uint32
		typmod int32
		raw    []byte
		schema string
		want   any
	}{
		{pgtype.Int2OID, -1, be(2, uint64(math.MaxUint16)), "INT16", int16(-1)},
		{pgtype.Int4OID, -1, be(4, 7), "INT32", int32(7)},
		{pgtype.Int8OID, -1, be(8, 1<<40), "INT64", int64(1 << 40)},
		{pgtype.Float4OID, -1, be(4, uint64(math.Float32bits(1.5))), "FLOAT32", float32(1.5)},
		{pgtype.Float8OID, -1, be(8, math.Float64bits(-2.25)), "FLOAT64", -2.25},
		{pgtype.BoolOID, -1, []byte{1}, "BOOLEAN", true},
		{pgtype.ByteaOID, -1, []byte{0, 1, 2}, "BYTES", []byte{0, 1, 2}},
		{pgtype.TextOID, -1, []byte("héllo"), "STRING", "héllo"},
		{pgtype.JSONBOID, -1, []byte(`{"a": 1}`), "STRING", `{"a": 1}`},
		{pgtype.UUIDOID, -1, []byte("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "STRING", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{pgtype.NumericOID, (10<<16 | 3) + 4, num, connect.DecimalName, connect.NewDecimal(-123450, 3)},
		{pgtype.TimestampOID, -1, be(8, uint64(tsMicros)), connect.TimestampName, time.Date(2000, 1, 2, 0, 0, 1, 2_000_000, time.UTC)},
		{pgtype.TimestamptzOID, -1, be(8, uint64(tsMicros)), connect.TimestampName, time.Date(2000, 1, 2, 0, 0, 1, 2_000_000, time.UTC)},
		{pgtype.DateOID, -1, be(4, uint64(uint32(0xffffffff))), connect.DateName, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{pgtype.TimeOID, -1, be(8, uint64(3_723_004_999)), connect.TimeName, connect.MillisToTime(3_723_004)},
	} {
		s, dec := columnSchema(tc.oid, tc.typmod, true)
		name := s.Name
		if name == "" {
			name = s.Type.String()
		}
		if name != tc.schema || !s.Optional {
			t.Errorf("oid %d: schema %s, want optional %s", tc.oid, s, tc.schema)
		}
		got, err := dec(task, tc.raw)
		if err != nil {
			t.Errorf("oid %d: decode: %v", tc.oid, err)
			continue
		}
		if !connect.ValuesEqual(got, tc.want) {
			t.Errorf("oid %d: decoded %#v, want %#v", tc.oid, got, tc.want)
		}
	}
	if s, _ := columnSchema(pgtype.NumericOID, (10<<16|3)+4, false); s.Optional || s.Parameters[1] != (connect.Parameter{Key: DecimalPrecisionParameter, Value: "10"}) {
		t.Errorf("numeric(10,3) NOT NULL: %s %v", s, s.Parameters)
	}
	if _, dec := columnSchema(pgtype.TimestamptzOID, -1, true); func() error { _, err := dec(task, be(8, math.MaxInt64)); return err }() == nil {
		t.Error("infinity did not fail")
	}
	// A timestamp without time zone is a wall clock in db.timezone.
	paris, _ := time.LoadLocation("Europe/Paris")
	task.cfg.conn.loc = paris
	got, _ := task.decodeInstant(pgtype.TimestampOID, be(8, uint64(tsMicros)))
	if want := time.Date(2000, 1, 2, 0, 0, 1, 2_345_000, paris); !got.Equal(want) {
		t.Errorf("timestamp in Paris = %v, want %v", got, want)
	}
}

// TestErrorClasses: which server and client errors are retried, and which
// belong to a record.
func TestErrorClasses(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code}) }
	for _, tc := range []struct {
		err             error
		transient, data bool
	}{
		{pg("08006"), true, false},
		{pg("40001"), true, false},
		{pg("40P01"), true, false},
		{pg("57P01"), true, false},
		{pg("53300"), true, false},
		{pg("23505"), false, true},
		{pg("22003"), false, true},
		{pg("42P01"), false, false},
		{pg("42601"), false, false},
		{context.DeadlineExceeded, true, false},
		{errors.New("boom"), false, false},
	} {
		if got := isTransient(tc.err); got != tc.transient {
			t.Errorf("isTransient(%v) = %v", tc.err, got)
		}
		if got := isDataError(tc.err); got != tc.data {
			t.Errorf("isDataError(%v) = %v", tc.err, got)
		}
	}
	if !connect.IsRetriable(classify(pg("08006"))) || connect.IsRetriable(classify(pg("23505"))) {
		t.Error("classify marks the wrong errors retriable")
	}
}

// TestAsInt64 reads offsets stored as integers or integral floats.
func TestAsInt64(t *testing.T) {
	for _, v := range []any{int64(5), 5, int32(5), float64(5)} {
		if n, ok := asInt64(v); !ok || n != 5 {
			t.Errorf("asInt64(%T) = %d, %v", v, n, ok)
		}
	}
	for _, v := range []any{"5", 5.5, nil} {
		if _, ok := asInt64(v); ok {
			t.Errorf("asInt64(%#v) succeeded", v)
		}
	}
}
