package transforms_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/transforms"
)

// A Kafka Connect transforms block works unchanged: drop tombstones, then
// add the topic to every value except on audit topics.
func ExampleRegistry_ParseChain() {
	props := map[string]string{
		"name":       "orders-sink", // unrelated keys are ignored
		"transforms": "dropTombstones,addTopic",

		"transforms.dropTombstones.type":      "org.apache.kafka.connect.transforms.Filter",
		"transforms.dropTombstones.predicate": "isTombstone",

		"transforms.addTopic.type":        "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.addTopic.topic.field": "source_topic",
		"transforms.addTopic.predicate":   "isAudit",
		"transforms.addTopic.negate":      "true",

		"predicates":                  "isTombstone,isAudit",
		"predicates.isTombstone.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
		"predicates.isAudit.type":     "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
		"predicates.isAudit.pattern":  "audit-.*",
	}
	chain, err := transforms.NewRegistry().ParseChain(props)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer chain.Close()

	for _, rec := range []*connect.Record{
		{Topic: "orders", Value: map[string]any{"id": 1}},
		{Topic: "audit-log", Value: map[string]any{"id": 2}},
		{Topic: "orders", Value: nil},
	} {
		out, err := chain.Apply(context.Background(), rec)
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case out == nil:
			fmt.Println("dropped")
		default:
			fmt.Println(out.Topic, out.Value)
		}
	}
	// Output:
	// orders map[id:1 source_topic:orders]
	// audit-log map[id:2]
	// dropped
}

// Configuration errors name the property.
func ExampleRegistry_ParseChain_errors() {
	_, err := transforms.NewRegistry().ParseChain(map[string]string{
		"transforms":             "route",
		"transforms.route.type":  "RegexRouter",
		"transforms.route.regex": "orders-(.*)",
	})
	fmt.Println(err)
	// Output:
	// transforms.route.replacement: missing required configuration "replacement" which has no default value
}
