package sink_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/sink"
)

// TestStopDuringHeldJoin: the coordinator holds the member's JoinGroup (as
// it does for up to the rebalance timeout, max.poll.interval.ms, while it
// waits for a member that died). Stopping the pipeline still returns within
// its shutdown timeout instead of waiting for the join: the member's
// connections are closed and the group drops it as after a crash.
func TestStopDuringHeldJoin(t *testing.T) {
	const topic = "held-join"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	brokers := c.ListenAddrs()
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(func() { unblock(); c.Close() })
	var joins atomic.Int32
	c.ControlKey(kmsg.JoinGroup.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		joins.Add(1)
		// Hold this request (without blocking the cluster) until the test
		// ends; the member waits for an answer.
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})

	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return newRecTask() })
	cfg.ShutdownTimeout = time.Second
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, 60*time.Second, "the member's JoinGroup", func() bool { return joins.Load() > 0 })
	time.Sleep(200 * time.Millisecond) // the join is now waiting for its answer
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		// The group client's read timeout is max.poll.interval.ms + 5 s
		// (305 s): without closing its connections, Close waits that long.
		unblock()
		<-done
		t.Fatal("Run did not return within 30 s of cancellation (shutdown timeout 1 s): held by the join")
	}
}
