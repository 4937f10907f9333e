package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
)

// tableID is a table name, optionally qualified by its schema.
type tableID struct {
	schema string // "" = the search_path's
	name   string
}

// parseTableID splits "schema.table" at the first dot, as the JDBC
// connectors do: a topic "a.b" maps to table b in schema a. The table name
// is cut to PostgreSQL's 63 bytes (the server would cut it anyway, and the
// table must be found under the name it really has).
func parseTableID(s string) (tableID, error) {
	var id tableID
	if schema, name, ok := strings.Cut(s, "."); ok {
		id = tableID{schema: schema, name: name}
	} else {
		id = tableID{name: s}
	}
	if id.name == "" || (strings.Contains(s, ".") && id.schema == "") {
		return tableID{}, fmt.Errorf("invalid table name %q", s)
	}
	id.name = truncateIdent(id.name)
	return id, nil
}

// String returns the name unquoted, qualified when a schema is set.
func (t tableID) String() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
}

// sql returns the name for SQL text, quoted when quote is set.
func (t tableID) sql(quote bool) string {
	if t.schema == "" {
		return ident(t.name, quote)
	}
	return ident(t.schema, quote) + "." + ident(t.name, quote)
}

// truncateIdent cuts s to at most 63 bytes on a UTF-8 boundary.
func truncateIdent(s string) string {
	if len(s) <= maxIdentifierBytes {
		return s
	}
	n := maxIdentifierBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// quoteIdent quotes s as a PostgreSQL identifier: "s" with inner quotes
// doubled.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ident returns s quoted (quote.sql.identifiers=always) or as it is
// (never).
func ident(s string, quote bool) string {
	if quote {
		return quoteIdent(s)
	}
	return s
}

// sqlType returns the PostgreSQL column type for a Connect schema, for
// auto.create and auto.evolve:
//
//	INT8, INT16 → smallint    INT32 → integer    INT64 → bigint
//	FLOAT32 → real            FLOAT64 → double precision
//	BOOLEAN → boolean         STRING → text      BYTES → bytea
//	Decimal → numeric         Date → date        Time → time
//	Timestamp → timestamptz
//
// Other types (ARRAY, MAP, STRUCT) have no column type.
func sqlType(s *connect.Schema) (string, error) {
	switch s.Name {
	case connect.DecimalName:
		if s.Type == connect.TypeBytes {
			return "numeric", nil
		}
	case connect.DateName:
		if s.Type == connect.TypeInt32 {
			return "date", nil
		}
	case connect.TimeName:
		if s.Type == connect.TypeInt32 {
			return "time", nil
		}
	case connect.TimestampName:
		if s.Type == connect.TypeInt64 {
			return "timestamptz", nil
		}
	}
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16:
		return "smallint", nil
	case connect.TypeInt32:
		return "integer", nil
	case connect.TypeInt64:
		return "bigint", nil
	case connect.TypeFloat32:
		return "real", nil
	case connect.TypeFloat64:
		return "double precision", nil
	case connect.TypeBoolean:
		return "boolean", nil
	case connect.TypeString:
		return "text", nil
	case connect.TypeBytes:
		return "bytea", nil
	}
	return "", fmt.Errorf("schema type %s has no PostgreSQL column type (fields must be primitive or a Decimal, Date, Time or Timestamp)", s.Type)
}

// column is one column a sink plan writes.
type column struct {
	name   string
	schema *connect.Schema
	key    bool
	// from says where the value comes from.
	from   valueSource
	index  int    // field index in the key or value struct
	pgType string // the existing column's type (format_type), once known
}

// valueSource is where a column's value comes from.
type valueSource uint8

const (
	fromValueField valueSource = iota
	fromKeyField
	fromKeyPrimitive
	fromKafkaTopic
	fromKafkaPartition
	fromKafkaOffset
)

// createTableSQL returns CREATE TABLE for cols with their primary key.
func createTableSQL(table string, cols []column, quote bool) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(table)
	b.WriteString(" (")
	var pk []string
	for i, c := range cols {
		t, err := sqlType(c.schema)
		if err != nil {
			return "", fmt.Errorf("column %q: %w", c.name, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ident(c.name, quote))
		b.WriteByte(' ')
		b.WriteString(t)
		if c.key || !c.schema.Optional {
			b.WriteString(" NOT NULL")
		}
		if c.key {
			pk = append(pk, ident(c.name, quote))
		}
	}
	if len(pk) > 0 {
		b.WriteString(", PRIMARY KEY (")
		b.WriteString(strings.Join(pk, ", "))
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String(), nil
}

// addColumnSQL returns ALTER TABLE … ADD COLUMN for an auto.evolve'd
// column; the column is nullable (rows already there have no value).
func addColumnSQL(table string, c column, quote bool) (string, error) {
	t, err := sqlType(c.schema)
	if err != nil {
		return "", fmt.Errorf("column %q: %w", c.name, err)
	}
	return "ALTER TABLE " + table + " ADD COLUMN " + ident(c.name, quote) + " " + t, nil
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// columnList returns the columns' names, comma-separated.
func columnList(cols []column, quote bool) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = ident(c.name, quote)
	}
	return strings.Join(names, ", ")
}

// insertSQL returns INSERT INTO table (cols) VALUES ($1, …).
func insertSQL(table string, cols []column, quote bool) string {
	return "INSERT INTO " + table + " (" + columnList(cols, quote) + ") VALUES (" + placeholders(1, len(cols)) + ")"
}

// upsertSQL returns INSERT … ON CONFLICT (keys) DO UPDATE SET col =
// EXCLUDED.col, … (DO NOTHING when every column is a key), as the JDBC
// sink's PostgreSQL dialect.
func upsertSQL(table string, cols []column, quote bool) string {
	var keys, sets []string
	for _, c := range cols {
		q := ident(c.name, quote)
		if c.key {
			keys = append(keys, q)
		} else {
			sets = append(sets, q+" = EXCLUDED."+q)
		}
	}
	s := insertSQL(table, cols, quote) + " ON CONFLICT (" + strings.Join(keys, ", ") + ")"
	if len(sets) == 0 {
		return s + " DO NOTHING"
	}
	return s + " DO UPDATE SET " + strings.Join(sets, ", ")
}

// updateSQL returns UPDATE table SET nonkey = $i, … WHERE key = $j AND …;
// the parameters follow the columns' order in cols.
func updateSQL(table string, cols []column, quote bool) string {
	var sets, where []string
	for i, c := range cols {
		e := ident(c.name, quote) + " = $" + strconv.Itoa(i+1)
		if c.key {
			where = append(where, e)
		} else {
			sets = append(sets, e)
		}
	}
	return "UPDATE " + table + " SET " + strings.Join(sets, ", ") + " WHERE " + strings.Join(where, " AND ")
}

// deleteSQL returns DELETE FROM table WHERE key = $1 AND …, for the key
// columns in order.
func deleteSQL(table string, keys []column, quote bool) string {
	where := make([]string, len(keys))
	for i, c := range keys {
		where[i] = ident(c.name, quote) + " = $" + strconv.Itoa(i+1)
	}
	return "DELETE FROM " + table + " WHERE " + strings.Join(where, " AND ")
}

// offsetsTableDDL creates the offsets table. It holds, per connector and
// consumed topic-partition, the next offset to read; the sink writes it in
// the transaction of each batch.
func offsetsTableDDL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + " (" +
		"connector text NOT NULL, topic text NOT NULL, partition integer NOT NULL, " +
		"next_offset bigint NOT NULL, PRIMARY KEY (connector, topic, partition))"
}

// offsetsSelectSQL reads a connector's stored offsets of some topics.
func offsetsSelectSQL(table string) string {
	return "SELECT topic, partition, next_offset FROM " + table +
		" WHERE connector = $1 AND topic = ANY($2::text[])"
}

// offsetsInsertSQL inserts a partition's first offset; it affects no row
// when another writer created it meanwhile.
func offsetsInsertSQL(table string) string {
	return "INSERT INTO " + table + " (connector, topic, partition, next_offset) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
}

// offsetsUpdateSQL moves a partition's offset from $5 to $4; it affects no
// row when another writer moved it meanwhile (fencing a zombie task).
func offsetsUpdateSQL(table string) string {
	return "UPDATE " + table + " SET next_offset = $4 WHERE connector = $1 AND topic = $2 AND partition = $3 AND next_offset = $5"
}
