// Package converters turns Connect data (schema and value) into the bytes
// stored in Kafka and back: the Converter and HeaderConverter contracts and
// Kafka Connect's converters (JSON with and without the schema envelope,
// String, ByteArray, the numeric converters and SimpleHeaderConverter),
// plus a registry that builds them from Kafka Connect property maps
// (key.converter=org.apache.kafka.connect.json.JsonConverter, …).
// Confluent's Avro converter with Schema Registry is in package
// converters/avro, so that this package links no net/http.
//
// # Compatibility
//
// The converters read and write the same bytes as Kafka Connect's, so topics
// can be shared with Kafka Connect workers: JSON writes the envelope byte for
// byte as Kafka Connect's JsonConverter (schema member order, compact
// output, Java's number formatting, Jackson's string escapes), the numeric
// converters use Kafka's serializer layouts, String renders values as Java's
// toString (a time.Time as java.util.Date.toString in UTC), and SimpleHeader
// renders values as Kafka Connect's Values class and reads them with a port
// of Values.parseString (arrays, maps, lenient and Julian dates included).
// The golden tests were produced by Kafka Connect 4.3.1's own classes.
// Where Kafka Connect loses data, is nondeterministic, or holds values Go
// cannot, Sluice differs and says so in the type's documentation; the main
// cases:
//
//   - Map entries are written sorted by key (Kafka Connect: HashMap order).
//   - Reading JSON, integers that overflow their schema type, fractions for
//     integer types, numbers beyond the float range and values of the wrong
//     JSON type are errors (Kafka Connect truncates, reads Infinity, 0 or
//     false silently), as is data after the first JSON value (Kafka Connect
//     ignores it). Without a schema, numbers beyond int64 or float64 read as
//     exact Decimals (Kafka Connect: a truncated long, Infinity).
//   - A NUMERIC JSON Decimal is rescaled to its schema's scale (Kafka
//     Connect keeps the number's own scale); one that would need rounding is
//     an error.
//   - A schema name or doc of "" and a version of 0 are unset in
//     connect.Schema, so JSON does not write them (Kafka Connect does).
//   - A nil value with an optional schema is a tombstone (nil bytes), as the
//     Converter contract requires; Kafka Connect's JsonConverter writes an
//     envelope with a null payload.
//   - Header data that is not valid UTF-8 reads as BYTES (Kafka Connect
//     decodes it lossily); a SimpleHeader map literal with a list or map key
//     is read as text; an unpaired surrogate escape in JSON ("\uD800")
//     becomes U+FFFD (a Go string cannot hold it). JSON in UTF-16 or UTF-32
//     is read as Jackson detects it (byte order mark or zero bytes first).
//   - Java's output that depends on the JVM (the default time zone in
//     String's dates, UTC in Sluice) or is useless (String of a []byte,
//     "[B@1b6d3586"; Sluice writes the bytes) is not reproduced.
//
// # Errors
//
// Conversion failures are *DataError values, naming the converter and the
// path of the offending field ("customer.address.zip", "items[3]",
// "tags{k}"); they are permanent for that record and the runtime handles
// them under errors.tolerance. Invalid properties are *ConfigError values
// naming the property.
//
// # Concurrency
//
// Every converter in this package is safe for concurrent use by multiple
// goroutines. The JSON converter caches schema translations (bounded by
// schemas.cache.size) with lock-free reads.
package converters
