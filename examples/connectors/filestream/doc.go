// Package filestream is Sluice's port of Kafka Connect's FileStream
// connectors (org.apache.kafka.connect.file.FileStreamSourceConnector and
// FileStreamSinkConnector): a source that turns the lines of a file (or of
// standard input) into records, and a sink that appends record values to a
// file (or standard output) as lines.
//
// They take the same configuration keys as Kafka's and, for the source, use
// the same source partition and offset, so a Sluice pipeline given the
// connector name and an offset store holding what Kafka Connect committed
// resumes where Kafka Connect stopped, and the other way round.
//
// # Source
//
// [SourceTask] implements source.Task and [SourceConnector] source.Connector
// (it always returns exactly one task configuration: one input stream cannot
// be shared). Keys:
//
//	file        the file to read; empty or absent reads standard input
//	topic       the topic to publish to (required)
//	batch.size  the maximum number of lines per Poll (default 2000)
//
// Each line becomes a record with a nil key and schema, the line (without its
// terminator) as value with connect.StringSchema, and the time it was read
// as timestamp. Lines end at "\n", "\r\n" or a lone "\r", as in Kafka; a
// final "\r" is held back until the next byte shows whether it starts a
// "\r\n", and a last line without terminator is not sent until its
// terminator is written (the file is being tailed).
//
// The source partition is {"filename": <file exactly as configured>} and the
// offset {"position": <int64>}, the position in the file just after the
// line's terminator: in the offsets topic, key ["<connector>",{"filename":
// "a.txt"}] and value {"position":30}. On start the task reads that offset
// and continues from the position (Kafka's skip). Kafka counts the position
// in UTF-16 characters of the decoded text but seeks in bytes on restart;
// Sluice counts and seeks in bytes. For ASCII files both are identical; for
// other files Sluice's offsets are the ones Kafka's own seek reads
// correctly, and an offset Kafka wrote is interpreted as Kafka interprets it
// (bytes). A position that is not an integer fails the task, as in Kafka; a
// negative one too (Kafka would silently mis-count).
//
// Other behaviours follow Kafka's task:
//   - a file that does not exist (or cannot be opened) is retried on every
//     Poll, about once a second, so a file created later is picked up;
//   - when no data is available Poll waits about a second (returning at once
//     when its context is done) and returns nil; data appended to the file is
//     read on the next Poll, so the file is tailed;
//   - a committed position beyond the end of the file (the file was
//     truncated or replaced) is used as it is: nothing is read until the file
//     grows past it. Sluice logs a warning (Kafka does not);
//   - truncation, rotation or replacement of the file while it is read is not
//     detected;
//   - standard input has no offsets. Kafka sends {"filename":null} /
//     {"position":null}; Sluice leaves SourcePartition and SourceOffset nil,
//     so nothing is committed.
//
// Where Sluice differs: line bytes are kept as they are (Kafka decodes UTF-8
// and replaces invalid bytes with U+FFFD), so a file copied through the
// StringConverter arrives byte for byte; batch.size must be an integer >= 1
// (Kafka accepts any int); topic is trimmed of surrounding spaces.
//
// For exactly-once delivery (KIP-618) the connector declares, as Kafka's,
// source.ExactlyOnceSupported when file is set and
// source.ExactlyOnceUnsupported for standard input (see
// SourceConnector.ExactlyOnceSupport), so exactly.once.support=required is
// accepted for a file only; it cannot define its own transaction
// boundaries, so transaction.boundary=connector is refused.
//
// # Sink
//
// [SinkTask] implements sink.Task and sink.Flusher. The only key is file,
// the file to append to (created if missing, mode 0666 before umask); empty
// or absent writes to standard output. Kafka uses standard output only when
// the key is absent and fails on an empty name. As Kafka, the name is trimmed
// of surrounding spaces.
//
// Each record's value is written followed by "\n" (Kafka: the JVM's line
// separator, "\n" on Unix): a string as it is, []byte as it is (Kafka would
// print "[B@…"), nil as "null" (as Kafka's println), and any other value as
// Java's toString renders it (see converters.String: numbers, decimals,
// lists, maps, structs). Writes are buffered, 64 KiB of whole lines at a
// time; Flush, called before each offset commit, writes the buffer and
// syncs the file to disk (Kafka only flushes), so committed records are
// durable. A write error fails the task (Kafka's PrintStream ignores it):
// a partly written buffer is truncated away when possible, and the task
// writes nothing more. Stop flushes, syncs and closes the file.
//
// After any crash the file holds only whole lines. The sink writes whole
// lines only, but a crash can still cut a write short (SIGKILL during a
// large write(2), a full disk, a power cut), so on start, if the file does
// not end with "\n", the sink truncates it after its last "\n" and logs a
// warning with the number of bytes removed (Kafka does not: its file can be
// left with a torn line, and the next line is appended to it). The record
// of the removed line was not committed, so it is written again. A file
// that some other program left without a final newline loses that last
// partial line the same way.
//
// Delivery is at least once: after a crash the records since the last commit
// are written again. Every sink task appends to the same file, so use
// tasks.max=1 (Kafka's connector creates tasks.max tasks all the same).
// Kafka's FileStreamSinkConnector has no other keys; sink.Pipeline has no
// connector hook, so there is no SinkConnector here.
//
// # Class names
//
// [SourceClass] and [SinkClass] are Kafka's class names; [SourceAliases] and
// [SinkAliases] the short names Kafka Connect also accepts, for registries
// mapping connector.class to task constructors.
package filestream
