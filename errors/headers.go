package errors

// The dead-letter queue context headers, as Kafka Connect names them, plus
// Sluice's own. With errors.deadletterqueue.context.headers.enable
// (Config.DLQContextHeaders) every record written to the dead-letter queue
// carries them, with UTF-8 string values, in this order: Kafka Connect's ten
// (DeadLetterQueueReporter.populateContextHeaders) — the original topic,
// partition and offset (for consumed records), the connector name, task id
// and stage, the failing component's class name, the error's class name,
// message and cause chain ("stack trace", one "Caused by:" line per wrapped
// error) — then, for source records, the source partition and offset as
// JSON, then Sluice's Go details.
//
// Class names and the message are Kafka Connect's where the component or
// error has a Kafka Connect counterpart (connect.ClassName,
// connect.JavaClassNamer, connect.JavaMessager): a built-in converter's or
// SMT's Java class, org.apache.kafka.connect.sink.SinkTask for an errant
// record (TASK_PUT), org.apache.kafka.connect.errors.DataException and
// Kafka Connect's message for a converter's data failure, RetriableException
// for a retriable error, ConnectException for Sluice's other record errors;
// otherwise the Go types and the error text. The Go types and the full Go
// error text are always in the __sluice.errors.* headers.
const (
	HeaderTopic               = "__connect.errors.topic"
	HeaderPartition           = "__connect.errors.partition"
	HeaderOffset              = "__connect.errors.offset"
	HeaderConnectorName       = "__connect.errors.connector.name"
	HeaderTaskID              = "__connect.errors.task.id"
	HeaderStage               = "__connect.errors.stage"
	HeaderClassName           = "__connect.errors.class.name"
	HeaderExceptionClassName  = "__connect.errors.exception.class.name"
	HeaderExceptionMessage    = "__connect.errors.exception.message"
	HeaderExceptionStacktrace = "__connect.errors.exception.stacktrace"
	HeaderSourcePartition     = "__connect.errors.source.partition"
	HeaderSourceOffset        = "__connect.errors.source.offset"

	// HeaderGoClassName is the failing component's Go type
	// ("*converters.JSON"), present when the failure names a component.
	HeaderGoClassName = "__sluice.errors.class.name"
	// HeaderGoExceptionClassName is the error's Go type: the first type in
	// its chain that is not a standard-library wrapper
	// ("*converters.DataError").
	HeaderGoExceptionClassName = "__sluice.errors.exception.class.name"
	// HeaderGoExceptionMessage is the error's full Go text, which
	// HeaderExceptionMessage, holding Kafka Connect's message, may not
	// show.
	HeaderGoExceptionMessage = "__sluice.errors.exception.message"
)
