package transforms

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// Filter drops every record it is applied to (Kafka Connect's
// org.apache.kafka.connect.transforms.Filter). Gate it with a predicate to
// drop some records only. It has no configuration and is safe for concurrent
// use.
type Filter struct{}

// NewFilter returns a Filter.
func NewFilter() Filter { return Filter{} }

// Apply returns nil: the record is dropped.
func (Filter) Apply(context.Context, *connect.Record) (*connect.Record, error) { return nil, nil }

func filterFactory(map[string]string) (Transformation, error) { return Filter{}, nil }
