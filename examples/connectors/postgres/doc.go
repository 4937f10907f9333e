// Package postgres is Sluice's PostgreSQL port of Confluent's JDBC
// connectors (io.confluent.connect.jdbc.JdbcSinkConnector and
// JdbcSourceConnector), built on pgx: a sink that writes Connect structs as
// rows, exactly once, and a source that polls tables or a query for new and
// changed rows. They take the JDBC connectors' configuration keys, and the
// source uses their source partitions and offsets, so a configuration
// written for Kafka Connect works unchanged (a jdbc:postgresql:// URL
// included) and offsets move between the two.
//
// # Connection
//
// Both connectors read:
//
//	connection.url        postgres://user:pw@host:5432/db?sslmode=…, the JDBC form
//	                      jdbc:postgresql://host:5432/db?user=…&password=…, or a
//	                      libpq "host=… dbname=…" string (required)
//	connection.user       overrides the URL's user
//	connection.password   overrides the URL's password
//	connection.attempts   connection tries in Start (default 3)
//	connection.backoff.ms pause between them (default 10000)
//	db.timezone           zone of "timestamp without time zone" values and the
//	                      sessions' TimeZone (default UTC)
//	quote.sql.identifiers always (default): table and column names are quoted
//	                      as written; never: left to PostgreSQL's case folding
//
// Only transient failures are retried (lost or refused connections, server
// shutdown, too many connections, serialization failures, deadlocks); an
// authentication failure fails at once.
//
// # Sink
//
// [SinkTask] implements sink.Task, sink.PartitionOpener,
// sink.PartitionCloser and sink.PreCommitter. Keys, with the JDBC sink's
// meaning and defaults:
//
//	insert.mode       insert (default), upsert (INSERT … ON CONFLICT (pk) DO
//	                  UPDATE SET … = EXCLUDED.…) or update (UPDATE … WHERE pk)
//	pk.mode           none (default); kafka (columns __connect_topic,
//	                  __connect_partition, __connect_offset, or the three
//	                  names of pk.fields); record_key (the key's struct fields,
//	                  all or those of pk.fields; a primitive key needs exactly
//	                  one name in pk.fields); record_value (the value's fields,
//	                  all or those of pk.fields)
//	pk.fields         see pk.mode
//	fields.whitelist  value fields to write (default all)
//	auto.create       create missing tables from the record schema (default
//	                  false)
//	auto.evolve       add missing columns for optional fields (default false)
//	table.name.format table name; ${topic} is replaced by the record's topic
//	                  (default ${topic}); "schema.table" names a schema; names
//	                  are cut to PostgreSQL's 63 bytes
//	delete.enabled    a record with a null value deletes the row of its key
//	                  (needs pk.mode=record_key; default false)
//	batch.size        statements sent per round trip (default 3000)
//	offsets.table.name the offsets table (Sluice's; default __sluice_offsets)
//
// Values must be Connect structs with schemas (the JSON converter with
// schemas.enable=true, Avro, …) whose fields are primitive or one of the
// logical types. Columns are laid out as the JDBC sink does (Kafka
// coordinates, the value's fields in order, the remaining key fields by
// name) and created with these types:
//
//	INT8, INT16 → smallint    INT32 → integer    INT64 → bigint
//	FLOAT32 → real            FLOAT64 → double precision
//	BOOLEAN → boolean         STRING → text      BYTES → bytea
//	Decimal → numeric         Date → date        Time → time
//	Timestamp → timestamptz
//
// Required fields and key columns are NOT NULL; key columns form the primary
// key. Nulls of optional fields are written as NULL; a required field's
// default is used when its value is unset. Decimals are written exactly
// (binary numeric), timestamps as instants; into an existing "timestamp
// without time zone" column as the wall clock in db.timezone. A STRING may
// go to an existing json, jsonb, uuid or other column whose text form
// PostgreSQL parses.
//
// Exactly once. Each Put is one transaction: the batch's statements, in
// record order (so a later record for a key wins), are pipelined (prepared
// once per table and schema, then bound per record), and in the same
// transaction the offsets table (connector text, topic text, partition int,
// next_offset bigint; primary key (connector, topic, partition)) is set to
// the next offset of every partition in the batch. Open reads that table and
// makes the pipeline resume each partition from there (TaskContext.Offset),
// whatever the consumer group says; PreCommit returns those offsets, so the
// group's committed offsets follow the database's but never lead it. A crash
// at any point (killed process, a cancelled context, a failed Put) therefore
// neither loses a record nor writes one twice: the transaction either
// committed rows and offsets together, or neither. Records below the stored
// offset that are delivered again are skipped. The offset update is
// conditional on the value the task last saw, so a second task writing the
// same partition (a zombie after a lost group membership) fails with a fatal
// error instead of writing twice. Delivery is exactly once for the table
// rows; effects outside the transaction (dead-letter queue reports, logs)
// are at least once.
//
// Errors. A record that cannot be written (no schema, not a struct, a field
// of an unsupported type, a missing table without auto.create, a value the
// table rejects: class 22 data exceptions and class 23 constraint
// violations, a value pgx cannot encode) is handed to TaskContext.Report and
// left out of the transaction, which goes on with the rest; under
// errors.tolerance=none the report fails the task and nothing of the batch
// is written. A transient failure rolls back and returns a retriable error:
// the pipeline delivers the batch again (errors.retry.timeout).
//
// Where Sluice differs from the JDBC sink: Timestamp columns are created as
// timestamptz (JDBC: timestamp), and defaults are not written into created
// tables; ARRAY, MAP and STRUCT fields are refused (JDBC writes Postgres
// arrays); update mode does not check row counts; max.retries and
// retry.backoff.ms are not used (the pipeline's errors.retry.* apply); the
// offsets table and the exactly-once delivery are Sluice's (the JDBC sink is
// at least once).
//
// # Source
//
// [SourceTask] implements source.Task and [SourceConnector] source.Connector.
// Keys, with the JDBC source's meaning and defaults:
//
//	mode                     incrementing, timestamp or timestamp+incrementing
//	                         (required; bulk is not supported)
//	incrementing.column.name a strictly increasing integer column; for a table,
//	                         empty selects its first identity or serial column
//	timestamp.column.name    timestamp or timestamptz columns (several: the first
//	                         non-null, COALESCE)
//	timestamp.delay.interval.ms  only rows older than now minus this are read
//	                         (default 0)
//	timestamp.initial        start at this time (ms since the epoch; -1: now)
//	                         instead of the epoch when there is no offset
//	table.whitelist          tables to poll ("table" or "schema.table")
//	query                    a query to poll instead of tables
//	poll.interval.ms         pause between polls of a table that returned fewer
//	                         than batch.max.rows rows (default 5000)
//	batch.max.rows           rows per poll and record batch (default 100)
//	topic.prefix             topic = prefix + table name; for a query, the topic
//	validate.non.null        the tables' incrementing and timestamp columns must
//	                         be NOT NULL (default true)
//
// Each table is polled with SELECT * … WHERE … ORDER BY … LIMIT
// batch.max.rows, on its own schedule: again at once after a full batch,
// poll.interval.ms later otherwise. The conditions are the JDBC source's:
// incrementing "id > last"; timestamp "ts > last AND ts < now - delay";
// timestamp+incrementing "ts < now - delay AND ((ts = last AND id > lastId)
// OR ts > last)". A query is polled the same way, wrapped as SELECT * FROM
// (query) AS sluice_query WHERE …, so it may have its own WHERE, joins or
// ORDER BY (JDBC appends the WHERE to the query's text). In timestamp mode
// rows sharing the last timestamp of a full batch are never split across
// batches. A whitelisted table that does not exist yet is looked for again
// every poll.interval.ms.
//
// Records have no key, the row as value (a struct named after the table,
// none for a query) and no timestamp. The source partition is {"protocol":
// "1", "table": "<schema>.<table>"} for a table (a stored protocol-0
// partition {"table": "<table>"} is read too) and {"query": "query"} for a
// query; the offset is {"incrementing": <last id>} and/or {"timestamp": <ms
// since the epoch>, "timestamp_nanos": <nanoseconds within the second>} —
// the timestamp at full precision, so a restart resumes exactly. Column
// types map to:
//
//	smallint → INT16   integer → INT32   bigint → INT64
//	real → FLOAT32     double precision → FLOAT64   boolean → BOOLEAN
//	numeric(p,s) → Decimal of scale s (unconstrained numeric: scale 127, as
//	               the JDBC source), with connect.decimal.precision = p
//	timestamp, timestamptz → Timestamp (milliseconds; a timestamp without time
//	               zone is read in db.timezone)
//	date → Date    time → Time    bytea → BYTES
//	text, varchar, char, json, jsonb, uuid and any other type → STRING (the
//	               value's text form)
//
// A table's NOT NULL columns give required fields, all others (and every
// column of a query) optional ones. NaN or infinite numerics and infinite
// timestamps or dates fail the poll.
//
// Delivery is at least once, with the JDBC source's edges: after a crash
// (as opposed to a stop) rows since the last committed offset are sent
// again. Rows are missed when they become visible behind the offset: in
// incrementing mode a row whose id was taken before, but committed after, a
// larger id was read, and any update; in the timestamp modes a row whose
// transaction commits after rows with later timestamps were read (its
// timestamp, set when the transaction ran, is then behind the offset). Set
// timestamp.delay.interval.ms above the longest writing transaction to
// close that window; in timestamp mode alone, rows that share a timestamp
// with the stored offset and commit after it are missed as well.
//
// Exactly-once delivery (KIP-618: the worker's
// exactly.once.source.support=enabled, the connector's
// exactly.once.support=required) is declared by
// [SourceConnector.ExactlyOnceSupport] per mode: supported for incrementing
// and timestamp+incrementing, whose stored offset (the last id, or the last
// timestamp and id) makes the query after a crash return exactly the rows
// after those committed with it, so none is sent twice; unsupported for
// timestamp alone (its offset does not tell rows sharing the last timestamp
// apart) and bulk. The records and their offsets then commit in one Kafka
// transaction; the edges above (rows becoming visible behind the offset)
// remain. The connector does not define transaction boundaries
// (transaction.boundary=connector is refused).
//
// [SourceConnector] divides table.whitelist into at most tasks.max
// contiguous groups, handed to the tasks as "tables"; a query runs in one
// task. Not supported: bulk mode, table.blacklist, schema.pattern,
// table.types, numeric.mapping other than none, query.suffix.
//
// # Class names
//
// [SinkClass] and [SourceClass] are the JDBC connectors' class names,
// [PostgresSink] and [PostgresSource] Confluent Cloud's names for its
// PostgreSQL connectors, and [SinkAliases] and [SourceAliases] the other
// names connector.class may use, for registries mapping connector.class to
// task constructors.
//
// # Tests
//
// The integration tests read the database URL from SLUICE_POSTGRES_URL
// (scripts/postgres/start.sh starts a server and prints it); without it they
// are skipped, except under CI=true, where they fail.
package postgres
