package converters

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/connect"
)

// boundedMap is a concurrent map with at most max entries. Reads are
// lock-free (sync.Map); when a store makes it exceed max, arbitrary entries
// are evicted until it fits again. (Kafka Connect uses an LRU; for schema
// caches, where the working set is normally far below the bound, the
// difference does not matter and lock-free reads do.)
type boundedMap[K comparable, V any] struct {
	m   sync.Map
	n   atomic.Int64
	max int64
	mu  sync.Mutex // serialises evictions
}

func newBoundedMap[K comparable, V any](max int) *boundedMap[K, V] {
	if max < 1 {
		max = 1
	}
	return &boundedMap[K, V]{max: int64(max)}
}

func (c *boundedMap[K, V]) load(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

func (c *boundedMap[K, V]) store(k K, v V) {
	if _, loaded := c.m.Swap(k, v); loaded {
		return
	}
	if c.n.Add(1) <= c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Range(func(key, _ any) bool {
		if c.n.Load() <= c.max {
			return false
		}
		if key.(K) == k {
			return true // keep the entry just stored
		}
		if _, deleted := c.m.LoadAndDelete(key); deleted {
			c.n.Add(-1)
		}
		return true
	})
}

func (c *boundedMap[K, V]) len() int { return int(c.n.Load()) }

// schemaTextCache maps the JSON text of an envelope's schema to the parsed
// schema. It is keyed by a hash of the text, so a lookup does not allocate;
// each entry keeps the text to rule out hash collisions.
type schemaTextCache struct {
	seed maphash.Seed
	m    *boundedMap[uint64, *schemaText]
}

type schemaText struct {
	text   string
	schema *connect.Schema
}

func newSchemaTextCache(max int) *schemaTextCache {
	return &schemaTextCache{seed: maphash.MakeSeed(), m: newBoundedMap[uint64, *schemaText](max)}
}

func (c *schemaTextCache) load(text []byte) (*schemaText, bool) {
	e, ok := c.m.load(maphash.Bytes(c.seed, text))
	if !ok || e.text != string(text) {
		return nil, false
	}
	return e, true
}

func (c *schemaTextCache) store(text []byte, s *connect.Schema) *schemaText {
	e := &schemaText{text: string(text), schema: s}
	c.m.store(maphash.Bytes(c.seed, text), e)
	return e
}
