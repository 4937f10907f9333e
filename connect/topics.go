package connect

// TopicTracker is implemented by pipelines that track their connector's
// active topics (Kafka Connect's KIP-558): the topics whose records the
// tasks have seen since the last reset. A sink records a topic when a task
// takes one of its records for delivery (converted, before the
// transforms); a source when a task hands a (transformed and converted)
// record for it to the producer. source.Pipeline and sink.Pipeline
// implement it; the Runner serves it as GET /connectors/{name}/topics and
// keeps the topics across the pipeline's restarts.
//
// Both methods are safe for concurrent use, before, during and after Run.
type TopicTracker interface {
	// ActiveTopics returns the topics seen since the pipeline was built or
	// last reset, in first-seen order; never nil.
	ActiveTopics() []string
	// ResetActiveTopics forgets them; a topic seen afterwards is active
	// again.
	ResetActiveTopics()
}
