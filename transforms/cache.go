package transforms

import (
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/connect"
)

// schemaCacheSize bounds a schemaCache, as Kafka Connect's SMTs bound theirs
// (LRUCache of 16 entries).
const schemaCacheSize = 16

// schemaCache maps input schemas to the output schemas a transformation
// derived from them, so that records of the same schema share one output
// schema and no schema is built per record. Lookups are lock-free and do not
// allocate: the entries live in an immutable slice replaced on insert. An
// input schema pointer not yet seen is also matched by Equal against the
// cached inputs, so converters that rebuild equal schemas per record do not
// defeat the cache. When full, the oldest entry is evicted.
type schemaCache struct {
	entries atomic.Pointer[[]cacheEntry]
	mu      sync.Mutex
	next    int
	builds  atomic.Int64 // schemas built, for tests
}

type cacheEntry struct{ in, out *connect.Schema }

// get returns the output schema for in, building it with build on a miss.
// build must be deterministic: concurrent misses may call it more than once,
// but only one result is kept.
func (c *schemaCache) get(in *connect.Schema, build func(*connect.Schema) (*connect.Schema, error)) (*connect.Schema, error) {
	if es := c.entries.Load(); es != nil {
		for _, e := range *es {
			if e.in == in {
				return e.out, nil
			}
		}
	}
	return c.miss(in, build)
}

func (c *schemaCache) miss(in *connect.Schema, build func(*connect.Schema) (*connect.Schema, error)) (*connect.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cur []cacheEntry
	if es := c.entries.Load(); es != nil {
		cur = *es
	}
	var out *connect.Schema
	for _, e := range cur {
		if e.in == in {
			return e.out, nil
		}
		if out == nil && e.in.Equal(in) {
			out = e.out
		}
	}
	if out == nil {
		var err error
		c.builds.Add(1)
		if out, err = build(in); err != nil {
			return nil, err
		}
	}
	next := make([]cacheEntry, len(cur), schemaCacheSize)
	copy(next, cur)
	if len(next) < schemaCacheSize {
		next = append(next, cacheEntry{in, out})
	} else {
		next[c.next] = cacheEntry{in, out}
		c.next = (c.next + 1) % schemaCacheSize
	}
	c.entries.Store(&next)
	return out, nil
}
