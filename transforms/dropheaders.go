package transforms

import (
	"context"
	"slices"

	"github.com/sluicehq/sluice/connect"
)

// DropHeadersConfig configures DropHeaders (Kafka Connect's
// org.apache.kafka.connect.transforms.DropHeaders).
type DropHeadersConfig struct {
	// Headers (property "headers", required, non-empty) lists the header keys
	// to remove.
	Headers []string
}

// Validate checks that Headers is non-empty.
func (c DropHeadersConfig) Validate() error {
	if len(c.Headers) == 0 {
		return configErr("headers", "empty list")
	}
	return nil
}

// DropHeaders removes every header whose key is listed. Records without such
// headers pass through without allocation; otherwise the record gets a new
// header slice (the original is not modified). It is safe for concurrent use.
type DropHeaders struct {
	names []string
}

// NewDropHeaders returns a DropHeaders, or the config's validation error.
func NewDropHeaders(cfg DropHeadersConfig) (*DropHeaders, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &DropHeaders{names: slices.Clone(cfg.Headers)}, nil
}

func dropHeadersFactory(m map[string]string) (Transformation, error) {
	p := newProps(m)
	cfg := DropHeadersConfig{Headers: p.validList("headers", p.requiredList("headers", true))}
	if err := p.err(); err != nil {
		return nil, err
	}
	return NewDropHeaders(cfg)
}

// Apply removes the headers.
func (t *DropHeaders) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	first := slices.IndexFunc(rec.Headers, func(h connect.Header) bool { return slices.Contains(t.names, h.Key) })
	if first < 0 {
		return rec, nil
	}
	out := make(connect.Headers, first, len(rec.Headers)-1)
	copy(out, rec.Headers[:first])
	for _, h := range rec.Headers[first+1:] {
		if !slices.Contains(t.names, h.Key) {
			out = append(out, h)
		}
	}
	rec.Headers = out
	return rec, nil
}
