package sluicetest_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/sink"
)

// A sink connector's acceptance test: one call, with a driver that makes a
// fresh destination per check, says which records to send and reads back
// what the task wrote. Here the destination is a slice; a real one would be
// a file or a table.
func ExampleTestSinkTask() {
	var (
		mu      sync.Mutex
		written = map[string][]string{} // destination name → values
	)
	testMySink := func(t *testing.T) { // func TestMySink(t *testing.T) in a _test.go file
		sluicetest.TestSinkTask(t, sluicetest.SinkFeatures{}, sluicetest.SinkDriver{
			NewTask: func() sink.Task { return &sliceSink{mu: &mu, dest: written} },
			Config: func(t *testing.T) map[string]string {
				return map[string]string{"name": sluicetest.Topic(t)}
			},
			Record: func(i int) connect.Record {
				return connect.Record{ValueSchema: connect.StringSchema, Value: "v" + strconv.Itoa(i)}
			},
			Written: func(t *testing.T, config map[string]string) []int {
				mu.Lock()
				defer mu.Unlock()
				var is []int
				for _, v := range written[config["name"]] {
					i, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
					is = append(is, i)
				}
				return is
			},
		})
	}
	_ = testMySink
}

// sliceSink appends record values to dest[config "name"].
type sliceSink struct {
	mu   *sync.Mutex
	dest map[string][]string
	name string
}

func (s *sliceSink) Start(_ context.Context, tc sink.TaskContext) error {
	s.name = tc.Config()["name"]
	return nil
}

func (s *sliceSink) Put(_ context.Context, recs []connect.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.dest[s.name] = append(s.dest[s.name], r.Value.(string))
	}
	return nil
}

func (s *sliceSink) Stop(context.Context) error { return nil }
