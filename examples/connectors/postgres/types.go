package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connect"
)

// DecimalPrecisionParameter is the Decimal schema parameter holding a
// numeric column's precision, as the JDBC source sets it.
const DecimalPrecisionParameter = "connect.decimal.precision"

// binaryOIDs are the column types the source reads in binary form and
// decodes itself; every other type is read as text and becomes a STRING.
var binaryOIDs = pgx.QueryResultFormatsByOID{
	pgtype.Int2OID:        pgx.BinaryFormatCode,
	pgtype.Int4OID:        pgx.BinaryFormatCode,
	pgtype.Int8OID:        pgx.BinaryFormatCode,
	pgtype.Float4OID:      pgx.BinaryFormatCode,
	pgtype.Float8OID:      pgx.BinaryFormatCode,
	pgtype.BoolOID:        pgx.BinaryFormatCode,
	pgtype.NumericOID:     pgx.BinaryFormatCode,
	pgtype.TimestampOID:   pgx.BinaryFormatCode,
	pgtype.TimestamptzOID: pgx.BinaryFormatCode,
	pgtype.DateOID:        pgx.BinaryFormatCode,
	pgtype.TimeOID:        pgx.BinaryFormatCode,
	pgtype.ByteaOID:       pgx.BinaryFormatCode,
}

// rowPlan maps a result's columns to a Connect struct.
type rowPlan struct {
	schema *connect.Schema
	cols   []srcColumn
}

// srcColumn is one result column: its type and decoder (from the binary
// form, or the text form for STRING columns).
type srcColumn struct {
	name   string
	oid    uint32
	decode func(t *SourceTask, raw []byte) (any, error)
}

// pgEpoch is PostgreSQL's epoch for timestamps and dates.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// columnSchema returns the Connect schema and decoder of a column type:
//
//	smallint → INT16          integer → INT32          bigint → INT64
//	real → FLOAT32            double precision → FLOAT64
//	boolean → BOOLEAN         bytea → BYTES
//	numeric(p,s) → Decimal with scale s (127 when unconstrained, as the
//	               JDBC source)
//	timestamp, timestamptz → Timestamp (milliseconds; a timestamp without
//	               time zone is read in db.timezone)
//	date → Date               time → Time (milliseconds)
//	anything else (text, varchar, char, json, jsonb, uuid, …) → STRING, the
//	               value's text form
//
// Fields are optional unless the column is NOT NULL.
func columnSchema(oid uint32, typmod int32, optional bool) (*connect.Schema, func(*SourceTask, []byte) (any, error)) {
	opt := func(b *connect.SchemaBuilder) *connect.Schema {
		if optional {
			b.Optional()
		}
		return b.MustBuild()
	}
	prim := func(t connect.Type) *connect.Schema { return opt(connect.NewSchemaBuilder(t)) }
	switch oid {
	case pgtype.Int2OID:
		return prim(connect.TypeInt16), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 2 {
				return nil, errBadLength
			}
			return int16(binary.BigEndian.Uint16(b)), nil
		}
	case pgtype.Int4OID:
		return prim(connect.TypeInt32), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 4 {
				return nil, errBadLength
			}
			return int32(binary.BigEndian.Uint32(b)), nil
		}
	case pgtype.Int8OID:
		return prim(connect.TypeInt64), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 8 {
				return nil, errBadLength
			}
			return int64(binary.BigEndian.Uint64(b)), nil
		}
	case pgtype.Float4OID:
		return prim(connect.TypeFloat32), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 4 {
				return nil, errBadLength
			}
			return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
		}
	case pgtype.Float8OID:
		return prim(connect.TypeFloat64), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 8 {
				return nil, errBadLength
			}
			return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
		}
	case pgtype.BoolOID:
		return prim(connect.TypeBoolean), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 1 {
				return nil, errBadLength
			}
			return b[0] != 0, nil
		}
	case pgtype.ByteaOID:
		return prim(connect.TypeBytes), func(_ *SourceTask, b []byte) (any, error) {
			return slices.Clone(b), nil
		}
	case pgtype.NumericOID:
		scale, precision := numericScale(typmod)
		b := connect.DecimalBuilder(scale)
		if precision > 0 {
			b.Parameter(DecimalPrecisionParameter, strconv.Itoa(int(precision)))
		}
		return opt(b), func(t *SourceTask, raw []byte) (any, error) {
			var n pgtype.Numeric
			if err := t.typeMap.Scan(pgtype.NumericOID, pgx.BinaryFormatCode, raw, &n); err != nil {
				return nil, err
			}
			return numericToDecimal(n, scale)
		}
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		return opt(connect.TimestampBuilder()), func(t *SourceTask, b []byte) (any, error) {
			ts, err := t.decodeInstant(oid, b)
			if err != nil {
				return nil, err
			}
			return ts.Truncate(time.Millisecond), nil
		}
	case pgtype.DateOID:
		return opt(connect.DateBuilder()), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 4 {
				return nil, errBadLength
			}
			days := int32(binary.BigEndian.Uint32(b))
			if days == math.MaxInt32 || days == math.MinInt32 {
				return nil, errors.New("infinite dates have no Connect Date value")
			}
			return pgEpoch.AddDate(0, 0, int(days)), nil
		}
	case pgtype.TimeOID:
		return opt(connect.TimeBuilder()), func(_ *SourceTask, b []byte) (any, error) {
			if len(b) != 8 {
				return nil, errBadLength
			}
			us := int64(binary.BigEndian.Uint64(b))
			return time.UnixMilli(us / 1000).UTC(), nil
		}
	}
	return prim(connect.TypeString), func(_ *SourceTask, b []byte) (any, error) {
		return string(b), nil
	}
}

var errBadLength = errors.New("unexpected binary value length")

// decodeInstant decodes a binary timestamp or timestamptz at full
// (microsecond) precision; a timestamp without time zone is read as a wall
// clock in db.timezone.
func (t *SourceTask) decodeInstant(oid uint32, b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, errBadLength
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, errors.New("infinite timestamps have no Connect Timestamp value")
	}
	ts := pgEpoch.Add(time.Duration(us/1_000_000) * time.Second).Add(time.Duration(us%1_000_000) * time.Microsecond)
	if oid == pgtype.TimestampOID && t.cfg.conn.loc != time.UTC {
		ts = time.Date(ts.Year(), ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), t.cfg.conn.loc)
	}
	return ts.UTC(), nil
}

// numericScale returns the scale and precision of a numeric type modifier;
// an unconstrained numeric (-1) has scale 127 and precision 0 (unknown).
func numericScale(typmod int32) (scale, precision int32) {
	if typmod < 4 {
		return unconstrainedNumericScale, 0
	}
	m := typmod - 4
	// PostgreSQL 15 stores the scale in 11 signed bits (it may be
	// negative); earlier versions' non-negative scales decode the same.
	return ((m & 0x7ff) ^ 1024) - 1024, (m >> 16) & 0xffff
}

// numericToDecimal converts a numeric value to a Decimal of the column's
// scale. NaN and infinities have no Decimal value; a value that would need
// rounding (more fractional digits than the scale, possible only for an
// unconstrained numeric beyond 127 digits) is an error.
func numericToDecimal(n pgtype.Numeric, scale int32) (connect.Decimal, error) {
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		return connect.Decimal{}, errors.New("NaN and infinite numeric values have no Connect Decimal value")
	}
	if n.Int == nil {
		return connect.Decimal{Unscaled: new(big.Int), Scale: scale}, nil
	}
	d := connect.Decimal{Unscaled: n.Int, Scale: -n.Exp}
	out, err := d.Rescale(scale)
	if err != nil {
		return connect.Decimal{}, fmt.Errorf("numeric value %s does not fit scale %d: %w", d, scale, err)
	}
	return out, nil
}

// buildRowPlan builds the struct schema and decoders for a result, and finds
// the incrementing and timestamp columns in it.
func (t *SourceTask) buildRowPlan(ctx context.Context, q *querier, desc []pgconn.FieldDescription) error {
	notNull := map[uint16]bool{}
	if !q.isQuery {
		var attnums []int16
		for _, fd := range desc {
			if fd.TableOID == q.tableOID && fd.TableAttributeNumber > 0 {
				attnums = append(attnums, int16(fd.TableAttributeNumber))
			}
		}
		if len(attnums) > 0 {
			rows, err := t.pool.Query(ctx, "SELECT attnum FROM pg_attribute WHERE attrelid = $1 AND attnum = ANY($2::int2[]) AND attnotnull", q.tableOID, attnums)
			if err != nil {
				return err
			}
			nums, err := pgx.CollectRows(rows, pgx.RowTo[int16])
			if err != nil {
				return err
			}
			for _, n := range nums {
				notNull[uint16(n)] = true
			}
		}
	}
	sb := connect.StructBuilder()
	if q.structName != "" {
		sb.Name(q.structName)
	}
	plan := &rowPlan{cols: make([]srcColumn, len(desc))}
	q.incIndex, q.tsIndexes = -1, make([]int, len(q.tsNames))
	for i := range q.tsIndexes {
		q.tsIndexes[i] = -1
	}
	for i, fd := range desc {
		optional := q.isQuery || fd.TableOID != q.tableOID || !notNull[fd.TableAttributeNumber]
		s, dec := columnSchema(fd.DataTypeOID, fd.TypeModifier, optional)
		sb.Field(fd.Name, s)
		plan.cols[i] = srcColumn{name: fd.Name, oid: fd.DataTypeOID, decode: dec}
		if q.hasInc && q.incIndex < 0 && fd.Name == q.incName {
			q.incIndex = i
		}
		for j, n := range q.tsNames {
			if q.tsIndexes[j] < 0 && fd.Name == n {
				q.tsIndexes[j] = i
			}
		}
	}
	schema, err := sb.Build()
	if err != nil {
		return fmt.Errorf("the result's columns make no valid struct (duplicate column names?): %w", err)
	}
	if q.hasInc && q.incIndex < 0 {
		return fmt.Errorf("the rows have no column %q (%s)", q.incName, IncrementingColumnNameConfig)
	}
	for j, i := range q.tsIndexes {
		if i < 0 {
			return fmt.Errorf("the rows have no column %q (%s)", q.tsNames[j], TimestampColumnNameConfig)
		}
	}
	plan.schema = schema
	q.plan = plan
	q.desc = slices.Clone(desc)
	return nil
}
