package sink

import "github.com/sluicehq/sluice/connect"

var _ connect.TopicTracker = (*Pipeline)(nil)

// ActiveTopics returns the topics whose records this pipeline's tasks have
// taken for delivery (converted; the transforms may then have dropped
// them or failed on them, as in Kafka Connect) since it was built or last
// reset (Kafka Connect's active topics, KIP-558; see
// [connect.TopicTracker]), in first-seen order; never nil.
// Safe for concurrent use, before, during and after Run.
func (p *Pipeline) ActiveTopics() []string { return p.topics.Topics() }

// ResetActiveTopics forgets the active topics; a topic a task sees
// afterwards is active again (from the task's next batch on). Safe for
// concurrent use.
func (p *Pipeline) ResetActiveTopics() { p.topics.Reset() }
