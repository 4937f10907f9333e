// Package converters turns Connect data (schema and value) into the bytes
// stored in Kafka and back: the Converter and HeaderConverter contracts and
// Kafka Connect's converters (JSON with and without the schema envelope,
// String, ByteArray, the numeric converters, SimpleHeaderConverter, and
// Confluent's Avro converter with Schema Registry), plus a
// registry that builds them from Kafka Connect property maps
// (key.converter=org.apache.kafka.connect.json.JsonConverter, …).
//
// # Compatibility
//
// The converters read and write the same bytes as Kafka Connect's, so topics
// can be shared with Kafka Connect workers: JSON writes the envelope byte for
// byte as Kafka Connect's JsonConverter (schema member order, compact
// output, Java's number formatting), the numeric converters use Kafka's
// serializer layouts, and SimpleHeader renders values as Kafka Connect's
// Values class. Where Kafka Connect loses data or is nondeterministic,
// Sluice differs and says so in the type's documentation; the main cases:
//
//   - Map entries are written sorted by key (Kafka Connect: HashMap order).
//   - Integers that overflow their schema type are an error when reading
//     JSON (Kafka Connect truncates them silently); schemaless integers
//     beyond int64 are an error too.
//   - A nil value with an optional schema is a tombstone (nil bytes), as the
//     Converter contract requires; Kafka Connect's JsonConverter writes an
//     envelope with a null payload.
//   - SimpleHeader infers FLOAT32 only when float32 holds the text exactly
//     and parses a documented subset of Values.parseString.
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
