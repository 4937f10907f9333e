// Package transforms holds single-message transforms (SMTs): the
// Transformation and Predicate contracts, the Chain that applies them in order
// (each optionally gated by a predicate and negate), Kafka Connect's built-in
// SMTs and predicates, and the parsing of transforms=… / predicates=…
// properties.
//
// # Configuring by properties
//
// A Kafka Connect transforms block works unchanged with Registry.ParseChain:
//
//	transforms=route,addTopic
//	transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//	transforms.route.regex=orders-(.*)
//	transforms.route.replacement=sales-$1
//	transforms.addTopic.type=InsertField$Value
//	transforms.addTopic.topic.field=source_topic
//	transforms.addTopic.predicate=isAudit
//	transforms.addTopic.negate=true
//	predicates=isAudit
//	predicates.isAudit.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
//	predicates.isAudit.pattern=audit-.*
//
// Type names are Kafka Connect's class names or their short forms
// (InsertField$Value); custom SMTs are added with
// Registry.RegisterTransformation. Configuration errors are *ConfigError
// values naming the full property key.
//
// # Configuring in Go
//
// Every SMT has a typed config with Validate and a constructor taking the
// record part where Kafka Connect has $Key/$Value variants:
//
//	ins, err := transforms.NewInsertField(transforms.InsertFieldConfig{TopicField: "source_topic"}, transforms.Value)
//	chain, err := transforms.NewChain(transforms.Stage{Alias: "ins", Transformation: ins})
//
// # Built-ins
//
// Cast, DropHeaders, ExtractField, Filter, Flatten, HeaderFrom, HoistField,
// InsertField, InsertHeader, MaskField, RegexRouter, ReplaceField,
// SetSchemaMetadata, TimestampConverter, TimestampRouter and ValueToKey, with
// Kafka Connect's config keys and defaults (including
// replace.null.with.default, exposed in Go as PreserveNulls = its negation),
// read as Kafka Connect's ConfigDef reads them: values trimmed with Java's
// String.trim, lists split on commas with Java's whitespace, duplicate
// entries of fields/headers/exclude/include lists dropped, empty values kept
// where Kafka Connect keeps them (delimiter=, topic.format=, field=), and
// unknown keys ignored;
// predicates TopicNameMatches, HasHeaderKey and RecordIsTombstone. Each
// works on schema'd values (*connect.Struct) and schemaless ones
// (map[string]any, or map[any]any for a map with other keys: Kafka
// Connect's SMTs take any Map, and Flatten and ReplaceField, which iterate
// it as a Map<String, Object>, fail on a key that is neither a string nor
// null) as Kafka Connect does; output schemas are cached per input
// schema (16 entries, as Kafka Connect), so records of one schema share one
// output schema and no schema is built per record.
//
// Where Sluice differs from Kafka Connect:
//
//   - Regular expressions (RegexRouter, TopicNameMatches) use Go's RE2
//     syntax (Java's POSIX classes \p{Lower} … are translated); Java-only
//     constructs (look-around, back-references, possessive quantifiers) are
//     rejected at configuration time. Replacements use Java's syntax ($1,
//     ${name}, \$); a replacement with a bad group reference is accepted, as
//     in Kafka Connect, and fails only the records whose topic matches.
//   - SimpleDateFormat patterns (TimestampConverter, TimestampRouter) format
//     as Kafka Connect's JVM does (Julian calendar before 1582-10-15, the
//     21-day October 1582 included; week fields Y w W F of the en locale:
//     weeks start on Sunday) and parse as it does, except that W and F, and
//     w mixed with month or day fields without Y, do not parse (a string
//     input then fails the record), nor do zone names other than UTC, UT and
//     GMT (Kafka Connect resolves PST, CET, … through its JVM's zone data and
//     then formats every later record of that SMT in that zone). A number
//     beyond Java's int range, NaN or ∞ where the pattern has a number, or a
//     date beyond the range of epoch milliseconds fails the record (Kafka
//     Connect silently truncates, reads NaN as 0, and overflows). Kafka
//     Connect's default JVM zone and locale are taken to be UTC and en.
//   - A record is a sink record (Kafka Connect's SinkRecord, needed by
//     InsertField's offset.field) when its OriginalTopic is set, which the
//     runtime does for every consumed record. A record timestamp of
//     0001-01-01T00:00:00Z (-62135596800000 ms) is Go's zero time, which
//     means "no timestamp": InsertField's timestamp.field is then null
//     (schemaless: not inserted) and TimestampRouter fails the record.
//   - MaskField masks a Decimal Struct field to zero (or the replacement)
//     at the field's scale (Kafka Connect: BigDecimal.ZERO at scale 0, or
//     the replacement at its literal's scale, a value whose scale
//     contradicts the schema, which its converters refuse); a replacement
//     that cannot take the field's scale exactly fails the record.
//   - Cast does not carry a logical type's name, version, doc or parameters
//     onto a whole-value cast (Kafka Connect does, and then refuses a
//     default), and writes floats as text in the shortest round-trip form
//     (Java 17 sometimes writes one more digit).
//   - InsertHeader types value.literal exactly as Kafka Connect's
//     Values.parseString does (arrays and maps included), in UTC (Kafka
//     Connect uses the JVM's default zone), except that a map literal with
//     array or map keys ({[1]:2}), which a Go map cannot hold, stays a
//     string.
//   - Where two fields of a schemaless map end up under one name (ReplaceField
//     renaming onto another kept field, Flatten joining "a.b" and {"a":
//     {"b": …}}), Kafka Connect keeps the one its Map iterates last; Sluice
//     keeps the one a java.util.HashMap (as JsonConverter builds) iterates
//     last, by hash bucket; for two keys in one bucket (ordered by insertion
//     in Java, unknown in a Go map) the renamed one, or the greater key.
//     Where ReplaceField reads a kept Struct field's value from another
//     field through the inverted renames, a Decimal of another scale than
//     the field's schema fails the record (Kafka Connect writes it, and its
//     converters then refuse it).
//   - Schemaless values must use Connect's Go types (see package connect):
//     int32, int64, float64, string, map[string]any, map[any]any, []any, …;
//     a Go int is not a Connect value.
//
// # Errors
//
// A failing SMT returns an error; Chain.Apply wraps it in a *ChainError that
// names the transformation alias, the predicate alias when the predicate
// failed, and the component's type, for the runtime to report as a
// TRANSFORMATION stage failure under errors.tolerance.
package transforms
