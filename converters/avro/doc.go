// Package avro is Confluent's AvroConverter
// (io.confluent.connect.avro.AvroConverter) for Sluice: Connect data as Avro
// in the Confluent wire format, with schemas kept in a Confluent Schema
// Registry, byte-compatible with Kafka Connect workers running Confluent's
// converter.
//
// Build one with New from a Config, or from Kafka Connect properties
// (schema.registry.url, auto.register.schemas, value.subject.name.strategy,
// …) through ConfigFromProps. Register adds it to a converters.Registry
// under its class name and the short names AvroConverter and avro; the
// source and sink property parsers (ConfigFromProperties) use a default
// registry that has it.
//
// It lives apart from package converters because it talks HTTP to the
// Schema Registry: converters, which SMT and converter authors import,
// links no net/http.
package avro
