// Package boundedmap provides the size-bounded concurrent map the
// converters use for their schema caches.
package boundedmap

import (
	"sync"
	"sync/atomic"
)

// Map is a concurrent map with at most max entries. Reads are
// lock-free (sync.Map); when a store makes it exceed max, arbitrary entries
// are evicted until it fits again. (Kafka Connect uses an LRU; for schema
// caches, where the working set is normally far below the bound, the
// difference does not matter and lock-free reads do.)
type Map[K comparable, V any] struct {
	m   sync.Map
	n   atomic.Int64
	max int64
	mu  sync.Mutex // serialises evictions
}

// New returns an empty map holding at most max entries (at least 1).
func New[K comparable, V any](max int) *Map[K, V] {
	if max < 1 {
		max = 1
	}
	return &Map[K, V]{max: int64(max)}
}

// Load returns the value stored under k, if any.
func (c *Map[K, V]) Load(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Store stores v under k, evicting other entries when the map is full.
func (c *Map[K, V]) Store(k K, v V) {
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

// Len returns the number of entries.
func (c *Map[K, V]) Len() int { return int(c.n.Load()) }
