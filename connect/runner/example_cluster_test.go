package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// Run several replicas of a service as one cluster: every replica declares
// the same connectors with AddPipeline and the same ClusterConfig; the
// connectors run once in the cluster and their tasks spread over the
// replicas (a replica that stops or dies has its tasks moved to the
// others). The pipelines must implement connect.TaskAssignable, as
// source.New and sink.New's do. With Kafka Connect's distributed worker
// properties, ClusterConfigFromProperties (or runner.New itself, when
// the Worker properties hold config.storage.topic) builds the same.
func ExampleClusterConfig() {
	build := func(ctx context.Context) (connect.Pipeline, error) {
		// return source.New(source.Config{Name: "orders", Connector: …,
		//	TasksMax: 6, OffsetStorage: offsets.Storage{Topic: "orders-connect-offsets"}, …})
		return nil, fmt.Errorf("build the orders pipeline here")
	}
	r, err := runner.New(runner.Config{
		Logger: slog.New(slog.DiscardHandler),
		Cluster: &runner.ClusterConfig{
			GroupID:       "orders-service",
			ConfigTopic:   "orders-connect-configs",
			OffsetTopic:   "orders-connect-offsets",
			StatusTopic:   "orders-connect-status",
			Brokers:       []string{"kafka-1:9092", "kafka-2:9092"},
			AdvertisedURL: "http://10.0.0.7:8083", // where this replica serves r.Handler()
			// A crashed replica's tasks wait this long for it to come back.
			ScheduledRebalanceMaxDelay: 30 * time.Second,
		},
	})
	if err != nil {
		panic(err)
	}
	if err := r.AddPipeline("orders", map[string]string{"tasks.max": "6"}, build); err != nil {
		panic(err)
	}
	fmt.Println(r.WorkerID())
	// go r.Run(ctx): joins the group; r.Status("orders") lists every task
	// of the cluster with the worker_id of the replica running it, and
	// r.ClusterStatus() this replica's membership.

	// Output: 10.0.0.7:8083
}
