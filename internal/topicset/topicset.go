// Package topicset keeps a pipeline's active topics (Kafka Connect's
// KIP-558): the topics a connector's tasks have seen records of since the
// set was last reset.
//
// A Set is shared by the tasks of one pipeline; each task records through
// its own Recorder, whose last-topic memo keeps the per-record cost to one
// string comparison (no lock, no map lookup) while a task keeps seeing the
// same topic.
package topicset

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Set is a set of topic names, in first-seen order. Its zero value is an
// empty set ready to use; it must not be copied after first use. Safe for
// concurrent use.
type Set struct {
	// gen is bumped by Reset, so that Recorders drop their memo.
	gen    atomic.Uint64
	mu     sync.Mutex
	topics []string // small: a connector sees few topics
}

// Add adds topic and reports whether it was new.
func (s *Set) Add(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.topics, topic) {
		return false
	}
	s.topics = append(s.topics, topic)
	return true
}

// AddAll adds every topic of topics.
func (s *Set) AddAll(topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range topics {
		if !slices.Contains(s.topics, t) {
			s.topics = append(s.topics, t)
		}
	}
}

// Topics returns a copy of the topics, in first-seen order; never nil.
func (s *Set) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.topics))
	copy(out, s.topics)
	return out
}

// Reset empties the set. A Recorder sees the reset at its next Begin: a
// topic it records after that is added again.
func (s *Set) Reset() {
	s.mu.Lock()
	s.topics = nil
	s.gen.Add(1)
	s.mu.Unlock()
}

// Recorder records one task's topics into a Set. It is not safe for
// concurrent use: each task has its own. Its zero value records nothing
// until Begin names the set.
type Recorder struct {
	set   *Set
	gen   uint64
	last  string
	valid bool // last is in set (as of generation gen)
}

// Begin starts a batch: it binds the Recorder to set (nil records
// nothing) and forgets its memo when set was reset since. Call it once
// per batch, before Record.
func (r *Recorder) Begin(set *Set) {
	if set == nil {
		r.set, r.valid = nil, false
		return
	}
	if g := set.gen.Load(); r.set != set || g != r.gen {
		r.set, r.gen, r.valid = set, g, false
	}
}

// Record records that the task saw a record of topic. While the topic is
// the one recorded last it costs one string comparison.
func (r *Recorder) Record(topic string) {
	if r.valid && topic == r.last {
		return
	}
	if r.set == nil {
		return
	}
	r.set.Add(topic)
	r.last, r.valid = topic, true
}
