// Package converters turns Connect data (schema and value) into the bytes
// stored in Kafka and back: the Converter and HeaderConverter contracts and
// Kafka Connect's converters (JSON with and without the schema envelope,
// String, ByteArray, the numeric converters, SimpleHeaderConverter), plus a
// registry that builds them from Kafka Connect property maps
// (key.converter=org.apache.kafka.connect.json.JsonConverter, …).
package converters
