package topicset

import (
	"slices"
	"sync"
	"testing"
)

func TestSetAddResetOrder(t *testing.T) {
	var s Set
	if got := s.Topics(); got == nil || len(got) != 0 {
		t.Fatalf("empty set: Topics() = %#v, want empty non-nil", got)
	}
	if !s.Add("b") || !s.Add("a") || s.Add("b") {
		t.Fatal("Add reports new topics wrongly")
	}
	s.AddAll([]string{"a", "c"})
	if got := s.Topics(); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Fatalf("Topics() = %v, want [b a c] (first-seen order)", got)
	}
	s.Reset()
	if got := s.Topics(); len(got) != 0 {
		t.Fatalf("after Reset: %v", got)
	}
}

func TestRecorderSeesResetAtNextBatch(t *testing.T) {
	var s Set
	var r Recorder
	r.Record("ignored") // before Begin: no set
	r.Begin(&s)
	r.Record("t1")
	r.Record("t1")
	r.Record("t2")
	if got := s.Topics(); !slices.Equal(got, []string{"t1", "t2"}) {
		t.Fatalf("Topics() = %v", got)
	}
	s.Reset()
	r.Begin(&s)
	r.Record("t2") // the memo must not hide it after the reset
	if got := s.Topics(); !slices.Equal(got, []string{"t2"}) {
		t.Fatalf("after reset: Topics() = %v, want [t2]", got)
	}
	var other Set
	r.Begin(&other)
	r.Record("t2") // bound to another set: the memo must not hide it
	if got := other.Topics(); !slices.Equal(got, []string{"t2"}) {
		t.Fatalf("other set: %v", got)
	}
	r.Begin(nil)
	r.Record("t3")
	if got := other.Topics(); !slices.Equal(got, []string{"t2"}) {
		t.Fatalf("nil set recorded: %v", got)
	}
}

func TestConcurrentRecorders(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			var r Recorder
			for j := range 100 {
				r.Begin(&s)
				r.Record([]string{"a", "b", "c"}[(i+j)%3])
				if j%10 == 0 {
					_ = s.Topics()
				}
			}
		})
	}
	wg.Wait()
	got := s.Topics()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Topics() = %v", got)
	}
}

func BenchmarkRecordSameTopic(b *testing.B) {
	var s Set
	var r Recorder
	r.Begin(&s)
	topic := "orders"
	for b.Loop() {
		r.Record(topic)
	}
}
