package sink

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// fakeTSAdmin answers DescribeConfigs for message.timestamp.type: "lat"
// has LogAppendTime, topics starting with "denied" fail authorization,
// others have CreateTime. Each call waits for release (when set).
type fakeTSAdmin struct {
	sarama.ClusterAdmin
	release chan struct{}
	calls   atomic.Int64
	mu      sync.Mutex
	asked   []string
}

func (a *fakeTSAdmin) DescribeConfigs(res []*sarama.ConfigResource, _ sarama.DescribeConfigsOptions) ([]*sarama.ConfigResourceResult, error) {
	a.calls.Add(1)
	if a.release != nil {
		<-a.release
	}
	var out []*sarama.ConfigResourceResult
	for _, r := range res {
		a.mu.Lock()
		a.asked = append(a.asked, r.Name)
		a.mu.Unlock()
		rr := &sarama.ConfigResourceResult{Name: r.Name, Type: sarama.TopicResource}
		switch {
		case strings.HasPrefix(r.Name, "denied"):
			rr.ErrorCode, rr.ErrorMsg = sarama.ErrTopicAuthorizationFailed, "denied"
		case r.Name == "lat":
			rr.Configs = []sarama.ConfigEntry{{Name: "message.timestamp.type", Value: "LogAppendTime"}}
		default:
			rr.Configs = []sarama.ConfigEntry{{Name: "message.timestamp.type", Value: "CreateTime"}}
		}
		out = append(out, rr)
	}
	return out, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func closedWithin(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(30 * time.Second):
		return false
	}
}

// TestTimestampTypeLookupNeverBlocksClaims: asking for a topic's timestamp
// type returns at once while a lookup is in flight at the brokers (claims
// are neither blocked nor serialized by it), the answer arrives
// asynchronously (LogAppendTime topics end up in logAppendTopics), an
// authorization failure is remembered (not asked again) and logged once
// per task, and stopping the lookup goroutine releases every waiter.
func TestTimestampTypeLookupNeverBlocksClaims(t *testing.T) {
	logs := &syncBuffer{}
	p := &Pipeline{cfg: Config{Name: "ts", Logger: slog.New(slog.NewTextHandler(logs, nil))}}
	r := newTaskRunner(p, 0, nil)
	admin := &fakeTSAdmin{release: make(chan struct{})}
	r.tsAdmin = admin
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.timestampTypeLoop(ctx) }()

	lat := r.requestTimestampType("lat")
	for admin.calls.Load() == 0 { // the lookup is in flight, held by the fake broker
		time.Sleep(time.Millisecond)
	}
	// Another claim asking meanwhile is not blocked.
	asked := make(chan (<-chan struct{}), 1)
	go func() { asked <- r.requestTimestampType("plain") }()
	var plain <-chan struct{}
	select {
	case plain = <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("requestTimestampType blocked while a lookup was in flight")
	}
	select {
	case <-lat:
		t.Fatal("lat answered before the broker did")
	default:
	}
	close(admin.release)
	if !closedWithin(lat) || !closedWithin(plain) {
		t.Fatal("lookups not answered")
	}
	if got := r.logAppendTopics.Load(); got == nil || !slices.Equal(*got, []string{"lat"}) {
		t.Fatalf("logAppendTopics = %v, want [lat]", got)
	}
	// Known topics are not asked again.
	n := admin.calls.Load()
	if !closedWithin(r.requestTimestampType("lat")) || admin.calls.Load() != n {
		t.Fatal("a known topic was looked up again")
	}

	// Authorization failures: remembered, logged once.
	for _, topic := range []string{"denied-a", "denied-b", "denied-a"} {
		if !closedWithin(r.requestTimestampType(topic)) {
			t.Fatalf("%s not answered", topic)
		}
	}
	admin.mu.Lock()
	deniedAsks := 0
	for _, a := range admin.asked {
		if strings.HasPrefix(a, "denied") {
			deniedAsks++
		}
	}
	admin.mu.Unlock()
	if deniedAsks != 2 {
		t.Fatalf("denied topics described %d times, want 2 (once each)", deniedAsks)
	}
	if c := strings.Count(logs.String(), "not authorized"); c != 1 {
		t.Fatalf("authorization failure logged %d times, want once:\n%s", c, logs)
	}

	// Stopping releases waiters; later requests do not wait.
	cancel()
	<-done
	if !closedWithin(r.requestTimestampType("after-stop")) {
		t.Fatal("a request after the loop stopped waits")
	}
}
