package sluicetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// envBroken names the contract violation the fake tasks commit, in the
// child processes of TestKitCatchesBrokenTasks, or, for the *-retry-in-*
// modes, the valid behaviour variant they take; empty for the default
// well-behaved tasks.
const envBroken = "SLUICETEST_BROKEN"

func broken(mode string) bool { return os.Getenv(envBroken) == mode }

// memLog is the fake source's input: an append-only list of values.
type memLog struct {
	mu      sync.Mutex
	values  []string
	outage  bool
	changed chan struct{} // closed and replaced on every change
}

var (
	registryMu sync.Mutex
	logs       = map[string]*memLog{}
	dests      = map[string]*memDest{}
	seqN       int
)

func newName(prefix string) string {
	registryMu.Lock()
	defer registryMu.Unlock()
	seqN++
	return fmt.Sprintf("%s-%d", prefix, seqN)
}

func logOf(name string) *memLog {
	registryMu.Lock()
	defer registryMu.Unlock()
	l := logs[name]
	if l == nil {
		l = &memLog{changed: make(chan struct{})}
		logs[name] = l
	}
	return l
}

func (l *memLog) update(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
	close(l.changed)
	l.changed = make(chan struct{})
}

// memSource is a source task reading a memLog: partition {"log": name},
// offset {"seq": n} (the number of values read).
type memSource struct {
	log   *memLog
	name  string
	topic string
	pos   int
	stop  chan struct{}
	hang  chan struct{} // for the leak mode: never closed
}

func (s *memSource) Start(ctx context.Context, tc source.TaskContext) error {
	s.name, s.topic = tc.Config()["log"], tc.Config()["topic"]
	s.log = logOf(s.name)
	s.stop = make(chan struct{})
	if !broken("source-no-resume") {
		off, err := tc.Offsets().Offset(ctx, map[string]any{"log": s.name})
		if err != nil {
			return connect.Retriable(err)
		}
		if n, ok := off["seq"].(int64); ok {
			s.pos = int(n)
		}
	}
	if broken("source-leak") {
		s.hang = make(chan struct{})
		go func() { <-s.hang }()
	}
	return nil
}

func (s *memSource) Poll(ctx context.Context) ([]connect.Record, error) {
	s.log.mu.Lock()
	values, outage, changed := s.log.values, s.log.outage, s.log.changed
	s.log.mu.Unlock()
	if outage && broken("source-retry-in-poll") {
		if err := s.log.awaitAvailable(ctx); err != nil {
			return nil, err
		}
		s.log.mu.Lock()
		values = s.log.values
		s.log.mu.Unlock()
	} else if outage {
		if broken("source-fatal-outage") {
			return nil, errors.New("log unavailable")
		}
		return nil, connect.Retriable(errors.New("log unavailable"))
	}
	if s.pos >= len(values) {
		if broken("source-poll-ignores-ctx") {
			<-s.stop
			return nil, nil
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	var recs []connect.Record
	for ; s.pos < len(values); s.pos++ {
		recs = append(recs, connect.Record{
			Topic:           s.topic,
			Value:           []byte(values[s.pos]),
			SourcePartition: map[string]any{"log": s.name},
			SourceOffset:    map[string]any{"seq": int64(s.pos + 1)},
		})
	}
	return recs, nil
}

// awaitAvailable is a well-behaved task's retry loop inside Poll: it waits
// until the outage of l ends or ctx is done, and says on standard error
// that it did (the parent test checks the variant was exercised).
func (l *memLog) awaitAvailable(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "memSource: Poll retrying inside through the outage")
	for {
		l.mu.Lock()
		outage, changed := l.outage, l.changed
		l.mu.Unlock()
		if !outage {
			fmt.Fprintln(os.Stderr, "memSource: the outage ended while Poll retried inside")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *memSource) Stop(context.Context) error {
	if broken("source-stop-unstarted") {
		_ = len(s.log.values) // nil pointer without Start
	}
	if s.stop == nil {
		return nil
	}
	if broken("source-stop-twice") {
		close(s.stop) // panics on the second call
		return nil
	}
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	return nil
}

func sourceDriver() sluicetest.SourceDriver {
	return sluicetest.SourceDriver{
		NewTask: func() source.Task { return &memSource{} },
		Config: func(t *testing.T) map[string]string {
			return map[string]string{"log": newName("log"), "topic": sluicetest.Topic(t)}
		},
		Write: func(t *testing.T, cfg map[string]string, n int) {
			l := logOf(cfg["log"])
			l.update(func() {
				for range n {
					l.values = append(l.values, "value-"+strconv.Itoa(len(l.values)))
				}
			})
		},
		Outage: func(t *testing.T, cfg map[string]string) func() {
			l := logOf(cfg["log"])
			l.update(func() { l.outage = true })
			return func() { l.update(func() { l.outage = false }) }
		},
	}
}

// memDest is the fake sink's destination: the indices written, in order.
type memDest struct {
	mu      sync.Mutex
	written []int
	outage  bool
}

func destOf(name string) *memDest {
	registryMu.Lock()
	defer registryMu.Unlock()
	d := dests[name]
	if d == nil {
		d = &memDest{}
		dests[name] = d
	}
	return d
}

// awaitAvailable is a well-behaved task's retry loop inside Put: it waits
// until the outage of d ends or ctx is done, and says on standard error
// that it did (the parent test checks the variant was exercised).
func (d *memDest) awaitAvailable(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "memSink: Put retrying inside through the outage")
	for {
		d.mu.Lock()
		outage := d.outage
		d.mu.Unlock()
		if !outage {
			fmt.Fprintln(os.Stderr, "memSink: the outage ended while Put retried inside")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// memSink buffers the indices of "rec-<i>" values in Put and appends them
// to its memDest on Flush; it fails "bad-<i>" values with a BatchError.
type memSink struct {
	dest    *memDest
	buf     []int
	started bool
	stopped bool
	release chan struct{}
	hang    chan struct{}
}

func (s *memSink) Start(_ context.Context, tc sink.TaskContext) error {
	s.dest = destOf(tc.Config()["dest"])
	s.release = make(chan struct{})
	s.started = true
	if broken("sink-leak") {
		s.hang = make(chan struct{})
		go func() { <-s.hang }()
	}
	return nil
}

func (s *memSink) Put(ctx context.Context, recs []connect.Record) error {
	if broken("sink-put-ignores-ctx") {
		<-s.release
	}
	s.dest.mu.Lock()
	outage := s.dest.outage
	s.dest.mu.Unlock()
	if outage && broken("sink-retry-in-put") {
		if err := s.dest.awaitAvailable(ctx); err != nil {
			return err
		}
	} else if outage {
		if broken("sink-fatal-outage") {
			return errors.New("destination unavailable")
		}
		return connect.Retriable(errors.New("destination unavailable"))
	}
	var be connect.BatchError
	for i := range recs {
		v, _ := recs[i].Value.(string)
		if n, ok := strings.CutPrefix(v, "rec-"); ok {
			idx, err := strconv.Atoi(n)
			if err == nil {
				s.buf = append(s.buf, idx)
				continue
			}
		}
		if broken("sink-batch-whole") {
			return fmt.Errorf("record %d: cannot write %q", i, v)
		}
		at := i
		if broken("sink-batch-wrong-index") {
			at = (i + 1) % len(recs)
			if at == i { // alone in its batch: write it instead of failing it
				idx, _ := strconv.Atoi(strings.TrimPrefix(v, "bad-"))
				s.buf = append(s.buf, idx)
				continue
			}
		}
		be.Fail(at, fmt.Errorf("cannot write %q", v))
	}
	if len(be.Failures) > 0 {
		return &be
	}
	return nil
}

func (s *memSink) Flush(context.Context, map[connect.TopicPartition]int64) error {
	s.dest.mu.Lock()
	defer s.dest.mu.Unlock()
	s.dest.written = append(s.dest.written, s.buf...)
	if broken("sink-write-twice") {
		s.dest.written = append(s.dest.written, s.buf...)
	}
	s.buf = s.buf[:0]
	return nil
}

func (s *memSink) Stop(context.Context) error {
	if broken("sink-stop-unstarted") && !s.started {
		close(s.release) // nil channel without Start: panics
	}
	if !s.started {
		return nil
	}
	if s.stopped && broken("sink-stop-twice") {
		return errors.New("already stopped")
	}
	if !s.stopped {
		s.stopped = true
		close(s.release)
	}
	return nil
}

// forgetfulSink commits nothing: PreCommit writes but returns no offsets.
type forgetfulSink struct{ *memSink }

func (s forgetfulSink) PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	return nil, s.Flush(ctx, offsets)
}

// laggingSink is at-least-once by design: PreCommit writes, then commits
// every partition one record behind what it wrote (as a sink that commits
// only what its destination confirmed in an earlier round), so a restart
// replays the last record written before it.
type laggingSink struct{ *memSink }

func (s laggingSink) PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := s.Flush(ctx, offsets); err != nil {
		return nil, err
	}
	out := make(map[connect.TopicPartition]int64, len(offsets))
	for tp, off := range offsets {
		if off > 0 {
			out[tp] = off - 1
		}
	}
	return out, nil
}

func sinkDriver() sluicetest.SinkDriver {
	return sluicetest.SinkDriver{
		NewTask: func() sink.Task {
			switch {
			case broken("sink-no-commit"):
				return forgetfulSink{&memSink{}}
			case broken("sink-at-least-once"):
				return laggingSink{&memSink{}}
			}
			return &memSink{}
		},
		Config: func(t *testing.T) map[string]string { return map[string]string{"dest": newName("dest")} },
		Record: func(i int) connect.Record {
			return connect.Record{ValueSchema: connect.StringSchema, Value: "rec-" + strconv.Itoa(i)}
		},
		Reject: func(i int) connect.Record {
			return connect.Record{ValueSchema: connect.StringSchema, Value: "bad-" + strconv.Itoa(i)}
		},
		Written: func(t *testing.T, cfg map[string]string) []int {
			d := destOf(cfg["dest"])
			d.mu.Lock()
			defer d.mu.Unlock()
			return append([]int(nil), d.written...)
		},
		Outage: func(t *testing.T, cfg map[string]string) func() {
			d := destOf(cfg["dest"])
			d.mu.Lock()
			d.outage = true
			d.mu.Unlock()
			return func() {
				d.mu.Lock()
				d.outage = false
				d.mu.Unlock()
			}
		},
	}
}
