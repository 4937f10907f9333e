package errors

// The dead-letter queue context headers, as Kafka Connect names them, plus
// Sluice's two for source records. With errors.deadletterqueue.context.headers.enable
// (Config.DLQContextHeaders) every record written to the dead-letter queue
// carries them, with UTF-8 string values: the original topic, partition and
// offset (for consumed records), the connector name, task id and stage, the
// failing component's Go type (class name), the error's Go type, message and
// cause chain ("stack trace", one "Caused by:" line per wrapped error), and
// for source records the source partition and offset as JSON.
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
)
