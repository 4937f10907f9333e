package kfetch_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/kfetch"
)

// TestDelivery shows every record of 3 partitions arrives exactly once, in order, with key, value, headers and timestamp, from an explicit offset, the oldest and the newest.
func TestDelivery(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 3
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	all := makeRecs(parts, 12, "before")
	produce(t, brokers, topic, nil, all...)

	for _, tc := range []struct {
		name      string
		start     int64
		fetchSize int32 // Consumer.Fetch.Default; 0 keeps sarama's
	}{
		{"oldest", sarama.OffsetOldest, 0},
		{"explicit", 5, 0},
		{"newest", sarama.OffsetNewest, 0},
		// One batch per fetch: every response ends at a batch boundary,
		// or past it with a partial batch.
		{"oldest-small-fetches", sarama.OffsetOldest, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, brokers, func(cfg *sarama.Config) {
				if tc.fetchSize > 0 {
					cfg.Consumer.Fetch.Default = tc.fetchSize
				}
			})
			f, _ := newFetcher(t, client)
			c := newCollector(topic)
			want := map[int32][]*rec{}
			for p := range int32(parts) {
				switch tc.start {
				case sarama.OffsetOldest:
					want[p] = of(all, p, 0)
				case sarama.OffsetNewest:
				default:
					want[p] = of(all, p, tc.start)
				}
				subscribe(t, f, topic, p, tc.start, false, c.handler(p))
			}
			for p := range int32(parts) {
				if w := want[p]; len(w) > 0 {
					c.waitOffset(t, p, w[len(w)-1].off)
				}
			}
			more := makeRecs(parts, 7, "during-"+tc.name)
			produce(t, brokers, topic, nil, more...)
			all = append(all, more...)
			for p := range int32(parts) {
				w := append(want[p], of(more, p, 0)...)
				c.waitOffset(t, p, w[len(w)-1].off)
				same(t, topic, p, c.records(p), w)
			}
			c.check(t)
		})
	}
}

// TestCompression shows records of gzip, snappy, lz4 and zstd batches arrive, also from an offset inside a batch.
func TestCompression(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, codec := range []sarama.CompressionCodec{sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4, sarama.CompressionZSTD} {
		t.Run(codec.String(), func(t *testing.T) {
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			recs := makeRecs(1, 30, codec.String())
			produce(t, brokers, topic, func(cfg *sarama.Config) { cfg.Producer.Compression = codec }, recs...)
			last := recs[len(recs)-1].off
			for _, start := range []int64{sarama.OffsetOldest, 7} {
				client := newClient(t, brokers, nil)
				f, _ := newFetcher(t, client)
				c := newCollector(topic)
				subscribe(t, f, topic, 0, start, false, c.handler(0))
				c.waitOffset(t, 0, last)
				same(t, topic, 0, c.records(0), of(recs, 0, max(start, 0)))
				c.check(t)
			}
		})
	}
}

// TestSubscribeOutOfRange shows Subscribe refuses an offset outside the log with an error wrapping sarama.ErrOffsetOutOfRange, accepts both bounds, and fails once the Fetcher is closed.
func TestSubscribeOutOfRange(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	recs := makeRecs(1, 10, "r")
	produce(t, brokers, topic, nil, recs...)
	deleteRecords(t, brokers, topic, 0, 4) // the log is [4, 10)

	client := newClient(t, brokers, nil)
	f, _ := newFetcher(t, client)
	for _, off := range []int64{3, 0, 11, 1000, -3} {
		s, err := f.Subscribe(topic, 0, off, false, func([]kfetch.Msg, int64) {})
		if !errors.Is(err, sarama.ErrOffsetOutOfRange) {
			t.Errorf("Subscribe at %d outside [4, 10]: error %v, want one wrapping %v", off, err, sarama.ErrOffsetOutOfRange)
		}
		if s != nil {
			t.Errorf("Subscribe at %d returned a subscription with its error", off)
			s.Close()
		}
	}
	c := newCollector(topic)
	s4 := subscribe(t, f, topic, 0, 4, false, c.handler(0))
	c.waitOffset(t, 0, 9)
	same(t, topic, 0, c.records(0), of(recs, 0, 4))
	s4.Close()
	c.markClosed(0)
	if s, err := f.Subscribe(topic, 0, 10, false, func([]kfetch.Msg, int64) {}); err != nil {
		t.Errorf("Subscribe at the high watermark 10: %v", err)
	} else {
		s.Close()
	}
	c.check(t)

	f.Close()
	if _, err := f.Subscribe(topic, 0, 4, false, func([]kfetch.Msg, int64) {}); err == nil {
		t.Error("Subscribe on a closed Fetcher succeeded")
	}
}

// TestOffsetReset shows an offset that falls out of the log while subscribed (DeleteRecords) resets per Consumer.Offsets.Initial and delivery continues from there.
func TestOffsetReset(t *testing.T) {
	brokers := kafkatest.Brokers(t)

	// Subscribed (paused) at 3, then the log starts at 15.
	t.Run("oldest-created-paused", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		recs := makeRecs(1, 20, "r")
		produce(t, brokers, topic, nil, recs...)
		client := newClient(t, brokers, func(cfg *sarama.Config) { cfg.Consumer.Offsets.Initial = sarama.OffsetOldest })
		f, log := newFetcher(t, client)
		c := newCollector(topic)
		s := subscribe(t, f, topic, 0, 3, true, c.handler(0))
		deleteRecords(t, brokers, topic, 0, 15)
		s.Resume()
		c.waitOffset(t, 0, 19)
		same(t, topic, 0, c.records(0), of(recs, 0, 15))
		if !log.has("offset out of range", "reset_to=15") {
			t.Error("no reset to 15 logged")
		}
		c.check(t)
	})

	// Fetching from 3 to the end (10), paused, 10 more records, then the
	// log starts at 15.
	t.Run("oldest-after-fetching", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 2, nil)
		first := makeRecs(1, 10, "first")
		produce(t, brokers, topic, nil, first...)
		client := newClient(t, brokers, func(cfg *sarama.Config) { cfg.Consumer.Offsets.Initial = sarama.OffsetOldest })
		f, log := newFetcher(t, client)
		c := newCollector(topic)
		s := subscribe(t, f, topic, 0, 3, false, c.handler(0))
		subscribe(t, f, topic, 1, sarama.OffsetNewest, false, c.handler(1))
		k := newClock(t, brokers, client, topic, 1, c, 0)
		c.waitOffset(t, 0, 9)
		s.Pause()
		k.rounds() // no fetch of partition 0 remains in flight
		second := makeRecs(1, 10, "second")
		produce(t, brokers, topic, nil, second...)
		deleteRecords(t, brokers, topic, 0, 15)
		k.rounds()
		if n := c.count(0); n != 7 {
			t.Fatalf("delivered %d records of partition 0 while paused, want the 7 before the pause", n)
		}
		s.Resume()
		c.waitOffset(t, 0, 19)
		same(t, topic, 0, c.records(0), append(of(first, 0, 3), of(second, 0, 15)...))
		if !log.has("offset out of range", "reset_to=15") {
			t.Error("no reset to 15 logged")
		}
		c.check(t)
	})

	// Subscribed (paused) at 3, then the log starts at 15: the reset goes
	// to the end (20) and only later records follow.
	t.Run("newest", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		recs := makeRecs(1, 20, "r")
		produce(t, brokers, topic, nil, recs...)
		client := newClient(t, brokers, func(cfg *sarama.Config) { cfg.Consumer.Offsets.Initial = sarama.OffsetNewest })
		f, log := newFetcher(t, client)
		c := newCollector(topic)
		s := subscribe(t, f, topic, 0, 3, true, c.handler(0))
		deleteRecords(t, brokers, topic, 0, 15)
		s.Resume()
		waitFor(t, "the reset to 20 in the log", func() bool { return log.has("offset out of range", "reset_to=20") })
		more := makeRecs(1, 5, "more")
		produce(t, brokers, topic, nil, more...)
		c.waitOffset(t, 0, 24)
		same(t, topic, 0, c.records(0), more)
		c.check(t)
	})
}

// TestTransactions shows read_committed drops aborted transactions and read_uncommitted keeps them, and neither delivers a transaction marker.
func TestTransactions(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	w, x := txnProducer(t, brokers), txnProducer(t, brokers)
	plain, err := sarama.NewSyncProducer(brokers, producerConfig(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	v := func(s ...string) []*rec { // records of partition 0 with keys
		var kv []string
		for _, x := range s {
			kv = append(kv, "k-"+x, x)
		}
		return keyed(0, kv...)
	}

	inTxn(t, w, topic, true, v("c0", "c1")...)
	inTxn(t, w, topic, false, v("a0", "a1")...)
	send(t, plain, topic, v("n0")...)
	// X's aborted transaction interleaved with W's committed one.
	if err := x.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	send(t, x, topic, v("x0")...)
	inTxn(t, w, topic, true, v("c2")...)
	send(t, x, topic, v("x1")...)
	if err := x.AbortTxn(); err != nil {
		t.Fatal(err)
	}
	// W aborts, then commits: the abort marker ends W's aborted range.
	inTxn(t, w, topic, false, v("a2")...)
	inTxn(t, w, topic, true, v("c3", "c4")...)
	send(t, plain, topic, v("n1")...)
	inTxn(t, w, topic, false, v("a3")...)
	end := v("end")
	send(t, plain, topic, end...)

	for _, tc := range []struct {
		iso  sarama.IsolationLevel
		want []string
	}{
		{sarama.ReadCommitted, []string{"c0", "c1", "n0", "c2", "c3", "c4", "n1", "end"}},
		{sarama.ReadUncommitted, []string{"c0", "c1", "a0", "a1", "n0", "x0", "c2", "x1", "a2", "c3", "c4", "n1", "a3", "end"}},
	} {
		for _, fetchSize := range []int32{0, 1} {
			t.Run(fmt.Sprintf("isolation=%d/fetch=%d", tc.iso, fetchSize), func(t *testing.T) {
				client := newClient(t, brokers, func(cfg *sarama.Config) {
					cfg.Consumer.IsolationLevel = tc.iso
					if fetchSize > 0 {
						cfg.Consumer.Fetch.Default = fetchSize
					}
				})
				f, _ := newFetcher(t, client)
				c := newCollector(topic)
				subscribe(t, f, topic, 0, sarama.OffsetOldest, false, c.handler(0))
				c.waitOffset(t, 0, end[0].off)
				if got := values(c.records(0)); !slices.Equal(got, tc.want) {
					t.Errorf("delivered %q (offsets %v), want %q", got, offsets(c.records(0)), tc.want)
				}
				c.check(t)
			})
		}
	}
}

// TestControlMarkerGap shows read_committed fetching does not stall at a commit marker followed by plain records on a compacted topic.
func TestControlMarkerGap(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, fetchSize := range []int32{0, 1} {
		t.Run(fmt.Sprintf("fetch=%d", fetchSize), func(t *testing.T) {
			topic := kafkatest.Topic(t)
			compact := "compact"
			kafkatest.CreateTopic(t, brokers, topic, 1, map[string]*string{"cleanup.policy": &compact})
			txn := keyed(0, "k0", "c0", "k1", "c1")
			inTxn(t, txnProducer(t, brokers), topic, true, txn...) // c0 c1 marker
			marker := txn[1].off + 1
			client := newClient(t, brokers, func(cfg *sarama.Config) {
				cfg.Consumer.IsolationLevel = sarama.ReadCommitted
				if fetchSize > 0 {
					cfg.Consumer.Fetch.Default = fetchSize
				}
			})
			starts := []int64{sarama.OffsetOldest, marker, sarama.OffsetNewest}
			cs := make([]*collector, len(starts))
			for i, start := range starts {
				f, _ := newFetcher(t, client) // one partition subscribed once per fetcher
				cs[i] = newCollector(topic)
				subscribe(t, f, topic, 0, start, false, cs[i].handler(0))
			}
			cs[0].waitOffset(t, 0, txn[1].off)
			plain := keyed(0, "k2", "n0", "k3", "n1", "k4", "n2")
			produce(t, brokers, topic, nil, plain...)
			for i, start := range starts {
				cs[i].waitOffset(t, 0, plain[2].off)
				want := plain
				if start == sarama.OffsetOldest {
					want = append(slices.Clone(txn), plain...)
				}
				same(t, topic, 0, cs[i].records(0), want)
				cs[i].check(t)
			}
		})
	}
}

// TestCompactionGaps shows delivery continues past offsets compaction removed (whole batches, records inside batches).
// It always runs on an in-process broker of its own, also when KAFKA_BOOTSTRAP_SERVERS is set: Apache Kafka's log
// cleaner cannot be triggered on demand (TestControlMarkerGap and the opt-in TestCleanerEmptyBatch cover it there).
func TestCompactionGaps(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	topic := kafkatest.Topic(t)
	compact := "compact"
	kafkatest.CreateTopic(t, brokers, topic, 1, map[string]*string{"cleanup.policy": &compact})

	var all []*rec
	for _, batch := range [][]string{
		{"s", "s0"}, // kept
		{"k0", "old0", "k1", "old1", "k2", "old2"},                             // superseded: the whole batch goes
		{"m0", "m0", "m1", "old-m1", "m2", "m2"},                               // m1 goes: a gap inside the batch
		{"k0", "new0", "k1", "new1", "k2", "new2", "m1", "new-m1", "z0", "z0"}, // kept
		{"last", "last"}, // the active batch
	} {
		recs := keyed(0, batch...)
		produce(t, brokers, topic, nil, recs...)
		all = append(all, recs...)
	}
	latest := map[string]int64{}
	for _, r := range all {
		latest[string(r.key)] = r.off
	}
	var kept []*rec
	for _, r := range all {
		if latest[string(r.key)] == r.off {
			kept = append(kept, r)
		}
	}
	cluster.Compact()
	if got := kafkatest.ReadUncommitted(t, brokers, topic); len(got) != len(kept) {
		t.Fatalf("after compaction a sarama consumer reads %d records (offsets %v), want %d: the broker did not compact", len(got), offsets(got), len(kept))
	}
	old1, oldM1 := all[2].off, all[5].off // inside the removed batch; the removed record
	for _, fetchSize := range []int32{0, 1} {
		for _, start := range []int64{sarama.OffsetOldest, old1, oldM1} {
			t.Run(fmt.Sprintf("fetch=%d/start=%d", fetchSize, start), func(t *testing.T) {
				client := newClient(t, brokers, func(cfg *sarama.Config) {
					if fetchSize > 0 {
						cfg.Consumer.Fetch.Default = fetchSize
					}
				})
				f, _ := newFetcher(t, client)
				c := newCollector(topic)
				subscribe(t, f, topic, 0, start, false, c.handler(0))
				c.waitOffset(t, 0, all[len(all)-1].off)
				same(t, topic, 0, c.records(0), of(kept, 0, max(start, 0)))
				c.check(t)
			})
		}
	}
}

// TestPauseResume shows a paused subscription is not fetched after the fetch in flight, Resume restarts it, and nothing is lost or repeated.
func TestPauseResume(t *testing.T) {
	brokers := kafkatest.Brokers(t)

	t.Run("created-paused-and-paused", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 2, nil)
		first := makeRecs(1, 10, "first")
		produce(t, brokers, topic, nil, first...)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		c := newCollector(topic)
		s := subscribe(t, f, topic, 0, sarama.OffsetOldest, true, c.handler(0))
		subscribe(t, f, topic, 1, sarama.OffsetNewest, false, c.handler(1))
		k := newClock(t, brokers, client, topic, 1, c, 0)
		k.rounds()
		if n := c.callCount(0); n != 0 {
			t.Fatalf("a subscription created paused had %d deliveries", n)
		}
		if hwm := s.HighWaterMark(); hwm != 10 {
			t.Errorf("HighWaterMark of a subscription created paused = %d, want 10 (read at Subscribe)", hwm)
		}
		s.Resume()
		c.waitOffset(t, 0, 9)

		s.Pause()
		k.rounds() // the fetch in flight at the pause has been handled
		n := c.count(0)
		second := makeRecs(1, 10, "second")
		produce(t, brokers, topic, nil, second...)
		k.rounds()
		k.rounds()
		if got := c.count(0); got != n {
			t.Fatalf("a paused subscription delivered %d more records", got-n)
		}
		s.Resume()
		c.waitOffset(t, 0, 19)
		same(t, topic, 0, c.records(0), append(first, second...))
		c.check(t)
	})

	// The only subscription is paused: its broker's fetcher idles until
	// Resume wakes it.
	t.Run("resume-wakes-idle", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		c := newCollector(topic)
		s := subscribe(t, f, topic, 0, sarama.OffsetOldest, true, c.handler(0))
		var want []*rec
		for i := range 3 {
			recs := makeRecs(1, 4, fmt.Sprint("round", i))
			produce(t, brokers, topic, nil, recs...)
			want = append(want, recs...)
			s.Resume()
			c.waitOffset(t, 0, recs[len(recs)-1].off)
			s.Pause()
		}
		same(t, topic, 0, c.records(0), want)
		c.check(t)
	})

	t.Run("toggling", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		c := newCollector(topic)
		s := subscribe(t, f, topic, 0, sarama.OffsetNewest, false, c.handler(0))
		var (
			want []*rec
			done = make(chan struct{})
		)
		go func() {
			defer close(done)
			prod, err := sarama.NewSyncProducer(brokers, producerConfig(t, nil))
			if err != nil {
				t.Error(err)
				return
			}
			defer prod.Close()
			for i := range 40 {
				recs := makeRecs(1, 5, fmt.Sprint("t", i))
				msgs := make([]*sarama.ProducerMessage, len(recs))
				for j, r := range recs {
					msgs[j] = r.message(topic)
				}
				if err := prod.SendMessages(msgs); err != nil {
					t.Error(err)
					return
				}
				for j, m := range msgs {
					recs[j].off = m.Offset
				}
				want = append(want, recs...)
			}
		}()
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
			}
			s.Pause()
			time.Sleep(time.Millisecond)
			s.Resume()
			time.Sleep(2 * time.Millisecond)
		}
		if len(want) == 0 {
			t.FailNow()
		}
		c.waitOffset(t, 0, want[len(want)-1].off)
		same(t, topic, 0, c.records(0), want)
		c.check(t)
	})
}

// TestSubClose shows no handler call follows Sub.Close, Close waits for a delivery in progress, other subscriptions go on, and the partition can be subscribed again.
func TestSubClose(t *testing.T) {
	brokers := kafkatest.Brokers(t)

	t.Run("while-producing", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 2, nil)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		c := newCollector(topic)
		s0 := subscribe(t, f, topic, 0, sarama.OffsetNewest, false, c.handler(0))
		subscribe(t, f, topic, 1, sarama.OffsetNewest, false, c.handler(1))
		var (
			stop atomic.Bool
			wg   sync.WaitGroup
		)
		wg.Go(func() {
			prod, err := sarama.NewSyncProducer(brokers, producerConfig(t, nil))
			if err != nil {
				t.Error(err)
				return
			}
			defer prod.Close()
			for i := 0; !stop.Load(); i++ {
				msgs := []*sarama.ProducerMessage{
					{Topic: topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprint(i))},
					{Topic: topic, Partition: 1, Value: sarama.StringEncoder(fmt.Sprint(i))},
				}
				if err := prod.SendMessages(msgs); err != nil {
					t.Error(err)
					return
				}
			}
		})
		defer wg.Wait()
		defer stop.Store(true)
		waitFor(t, "20 records of partition 0", func() bool { return c.count(0) >= 20 })
		s0.Close()
		c.markClosed(0)
		n1 := c.count(1)
		waitFor(t, "30 more records of partition 1 after closing partition 0", func() bool { return c.count(1) >= n1+30 })
		s0.Close() // again: nothing happens
		stop.Store(true)
		wg.Wait()
		c.check(t)

		// Subscribed again, from the first record delivered before.
		first := c.records(0)[0].Offset
		c2 := newCollector(topic)
		subscribe(t, f, topic, 0, first, false, c2.handler(0))
		end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		c2.waitOffset(t, 0, end-1)
		if got := offsets(c2.records(0)); len(got) != int(end-first) || got[0] != first {
			t.Errorf("subscribed again at %d: got offsets %v, want %d..%d", first, got, first, end-1)
		}
		c2.check(t)
	})

	t.Run("waits-for-delivery", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		produce(t, brokers, topic, nil, makeRecs(1, 3, "r")...)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		var (
			entered = make(chan struct{})
			release = make(chan struct{})
			closed  atomic.Bool
			late    atomic.Int32
			once    sync.Once
		)
		s := subscribe(t, f, topic, 0, sarama.OffsetOldest, false, func([]kfetch.Msg, int64) {
			if closed.Load() {
				late.Add(1)
			}
			once.Do(func() { close(entered) })
			<-release
		})
		select {
		case <-entered:
		case <-time.After(hang):
			t.Fatal("no delivery")
		}
		closeDone := make(chan struct{})
		go func() {
			s.Close()
			closed.Store(true)
			close(closeDone)
		}()
		select {
		case <-closeDone:
			t.Error("Sub.Close returned while its handler was running")
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		select {
		case <-closeDone:
		case <-time.After(hang):
			t.Fatal("Sub.Close did not return once the handler did")
		}
		produce(t, brokers, topic, nil, makeRecs(1, 3, "after")...)
		f.Close() // every fetch has ended
		if n := late.Load(); n > 0 {
			t.Errorf("%d handler calls after Sub.Close returned", n)
		}
	})

	// Closed while pending, while paused, and twice.
	t.Run("pending-and-paused", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 2, nil)
		produce(t, brokers, topic, nil, makeRecs(2, 3, "r")...)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		c := newCollector(topic)
		s0 := subscribe(t, f, topic, 0, sarama.OffsetOldest, false, c.handler(0))
		s0.Close() // most likely still waiting for the dispatcher
		c.markClosed(0)
		s1 := subscribe(t, f, topic, 1, sarama.OffsetOldest, true, c.handler(1))
		s1.Close()
		s1.Close()
		c.markClosed(1)
		s1.Resume()
		c2 := newCollector(topic)
		subscribe(t, f, topic, 1, sarama.OffsetOldest, false, c2.handler(1))
		c2.waitOffset(t, 1, 2)
		f.Close()
		c.check(t)
		c2.check(t)
	})
}

// TestFetcherClose shows Fetcher.Close returns promptly and leaves no kfetch goroutine, idle, with subscriptions open and with a fetch in flight.
func TestFetcherClose(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	closeNow := func(t *testing.T, f *kfetch.Fetcher) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			f.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Fetcher.Close did not return within 10 s; goroutines:\n%s", strings.Join(kfetchGoroutines(), "\n\n"))
		}
		if g := kfetchGoroutines(); len(g) > 0 {
			t.Errorf("goroutines left after Fetcher.Close:\n%s", strings.Join(g, "\n\n"))
		}
		f.Close() // again: returns at once
	}

	t.Run("idle", func(t *testing.T) {
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		closeNow(t, f)
	})

	t.Run("with-subscriptions", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 3, nil)
		produce(t, brokers, topic, nil, makeRecs(3, 20, "r")...)
		client := newClient(t, brokers, nil)
		f, _ := newFetcher(t, client)
		var closed atomic.Bool
		var late atomic.Int32
		h := func([]kfetch.Msg, int64) {
			if closed.Load() {
				late.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
		s0 := subscribe(t, f, topic, 0, sarama.OffsetOldest, false, h)
		s1 := subscribe(t, f, topic, 1, sarama.OffsetOldest, true, h)
		waitFor(t, "a fetcher of a broker", fetchInFlight)
		s2 := subscribe(t, f, topic, 2, sarama.OffsetOldest, false, h) // possibly pending
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			prod, err := sarama.NewSyncProducer(brokers, producerConfig(t, nil))
			if err != nil {
				t.Error(err)
				return
			}
			defer prod.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder("x")}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		closeNow(t, f)
		closed.Store(true)
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()
		if n := late.Load(); n > 0 {
			t.Errorf("%d handler calls after Fetcher.Close returned", n)
		}
		// A closed Fetcher's subscriptions may still be used.
		for _, s := range []*kfetch.Sub{s0, s1, s2} {
			s.Pause()
			s.Resume()
			s.Close()
		}
	})

	// A fetch waits up to MaxWaitTime (5 s) for data that never comes.
	t.Run("fetch-in-flight", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		client := newClient(t, brokers, func(cfg *sarama.Config) {
			cfg.Consumer.MaxWaitTime = 5 * time.Second
			cfg.Consumer.Fetch.Min = 1 << 20
		})
		f, _ := newFetcher(t, client)
		subscribe(t, f, topic, 0, sarama.OffsetNewest, false, func([]kfetch.Msg, int64) {})
		waitFor(t, "a fetch in flight", fetchInFlight)
		closeNow(t, f)
	})
}

// TestHighWaterMark shows HighWaterMark and the handler's hwm follow the partition's end, also when a fetch delivers nothing.
func TestHighWaterMark(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	client := newClient(t, brokers, func(cfg *sarama.Config) { cfg.Consumer.IsolationLevel = sarama.ReadCommitted })
	f, _ := newFetcher(t, client)
	c := newCollector(topic)
	s := subscribe(t, f, topic, 0, sarama.OffsetNewest, false, c.handler(0))
	if hwm := s.HighWaterMark(); hwm != 0 {
		t.Errorf("HighWaterMark of an empty partition = %d, want 0", hwm)
	}
	for _, n := range []int{5, 3} {
		recs := makeRecs(1, n, "r")
		produce(t, brokers, topic, nil, recs...)
		end := recs[n-1].off + 1
		waitFor(t, fmt.Sprintf("HighWaterMark %d", end), func() bool { return s.HighWaterMark() == end })
		c.waitOffset(t, 0, end-1)
		c.mu.Lock()
		last := c.hwm[0]
		c.mu.Unlock()
		if last != end {
			t.Errorf("hwm with the batch ending at %d = %d, want %d", end-1, last, end)
		}
	}
	calls := c.callCount(0)
	aborted := keyed(0, "k", "a0", "k", "a1")
	inTxn(t, txnProducer(t, brokers), topic, false, aborted...)
	end := aborted[1].off + 2 // the records and the abort marker
	waitFor(t, fmt.Sprintf("HighWaterMark %d after an aborted transaction", end), func() bool { return s.HighWaterMark() == end })
	if n := c.callCount(0); n != calls {
		t.Errorf("%d deliveries of an aborted transaction with read_committed", n-calls)
	}
	c.check(t)
}

// TestBrokerConnectionFailure shows fetching resumes without loss or duplicates after the leader's connection is closed under the fetcher repeatedly.
func TestBrokerConnectionFailure(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 3
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	client := newClient(t, brokers, nil)
	f, log := newFetcher(t, client)
	c := newCollector(topic)
	for p := range int32(parts) {
		subscribe(t, f, topic, p, sarama.OffsetNewest, false, c.handler(p))
	}
	var (
		want []*rec
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		prod, err := sarama.NewSyncProducer(brokers, producerConfig(t, nil))
		if err != nil {
			t.Error(err)
			return
		}
		defer prod.Close()
		for i := range 60 {
			recs := makeRecs(parts, 3, fmt.Sprint("b", i))
			msgs := make([]*sarama.ProducerMessage, len(recs))
			for j, r := range recs {
				msgs[j] = r.message(topic)
			}
			if err := prod.SendMessages(msgs); err != nil {
				t.Error(err)
				return
			}
			for j, m := range msgs {
				recs[j].off = m.Offset
			}
			want = append(want, recs...)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	total := func() int { return c.count(0) + c.count(1) + c.count(2) }
	failures := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
			continue
		default:
		}
		n := total()
		waitFor(t, "progress before closing the connection", func() bool {
			select {
			case <-done:
				return true
			default:
				return total() > n
			}
		})
		b, err := client.Leader(topic, int32(failures%parts))
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Close()
		failures++
	}
	<-done
	if t.Failed() {
		t.FailNow()
	}
	for p := range int32(parts) {
		w := of(want, p, 0)
		c.waitOffset(t, p, w[len(w)-1].off)
		same(t, topic, p, c.records(p), w)
	}
	c.check(t)
	t.Logf("closed the leader's connection %d times", failures)
	if !log.has("fetch failed") {
		t.Error("no failed fetch logged: the test did not break a connection under the fetcher")
	}
}

// TestFetchVersion shows FetchVersion picks the Fetch version sarama's consumer sends for each Kafka version.
func TestFetchVersion(t *testing.T) {
	for _, tc := range []struct {
		v    sarama.KafkaVersion
		want int16
	}{
		{sarama.V0_8_2_0, 0}, {sarama.V0_9_0_0, 1}, {sarama.V0_10_0_0, 2}, {sarama.V0_10_1_0, 3},
		{sarama.V0_11_0_0, 5}, {sarama.V1_0_0_0, 6}, {sarama.V1_1_0_0, 7}, {sarama.V2_0_0_0, 8},
		{sarama.V2_1_0_0, 10}, {sarama.V2_3_0_0, 11}, {sarama.V2_7_0_0, 12}, {sarama.V4_0_0_0, 12},
	} {
		if got := kfetch.FetchVersion(tc.v); got != tc.want {
			t.Errorf("FetchVersion(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

// TestLogAppendTime shows records of a LogAppendTime topic carry the broker's append time, not the producer's; external Kafka only.
func TestLogAppendTime(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	if !kafkatest.External() {
		t.Skip("kfake ignores message.timestamp.type (it stamps append time only on batches whose producer set the attribute)")
	}
	topic := kafkatest.Topic(t)
	appendTime := "LogAppendTime"
	kafkatest.CreateTopic(t, brokers, topic, 1, map[string]*string{"message.timestamp.type": &appendTime})
	recs := makeRecs(1, 10, "r") // timestamped a minute ago
	before := time.Now().Add(-5 * time.Second)
	produce(t, brokers, topic, nil, recs...)
	client := newClient(t, brokers, nil)
	f, _ := newFetcher(t, client)
	c := newCollector(topic)
	subscribe(t, f, topic, 0, sarama.OffsetOldest, false, c.handler(0))
	c.waitOffset(t, 0, recs[len(recs)-1].off)
	for _, m := range c.records(0) {
		if m.Timestamp.Before(before) {
			t.Errorf("offset %d: timestamp %v is the producer's (%v), not the broker's append time (after %v)", m.Offset, m.Timestamp, recs[m.Offset].ts, before)
		}
	}
	c.check(t)
}

// TestSamePartitionTwice shows a second open subscription of a partition is refused or served in full, never making the other skip records.
func TestSamePartitionTwice(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	recs := makeRecs(1, 20, "r")
	produce(t, brokers, topic, nil, recs...)
	client := newClient(t, brokers, func(cfg *sarama.Config) {
		// Long rounds: both subscriptions join the same fetch request.
		cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
		cfg.Consumer.Fetch.Min = 1 << 20
	})
	f, _ := newFetcher(t, client)
	a, b := newCollector(topic), newCollector(topic)
	subscribe(t, f, topic, 1, sarama.OffsetNewest, false, a.handler(1))
	sa := subscribe(t, f, topic, 0, 0, true, a.handler(0))
	sb, err := f.Subscribe(topic, 0, 10, true, b.handler(0))
	waitFor(t, "a fetch in flight", fetchInFlight)
	sa.Resume()
	if err != nil {
		t.Logf("a second subscription is refused: %v", err)
	} else {
		sb.Resume()
	}
	a.waitOffset(t, 0, 19)
	same(t, topic, 0, a.records(0), recs)
	if err == nil {
		b.waitOffset(t, 0, 19)
		same(t, topic, 0, b.records(0), of(recs, 0, 10))
		sb.Close()
	}
	a.check(t)
	b.check(t)

	// Once closed, the partition can be subscribed again.
	sa.Close()
	c := newCollector(topic)
	subscribe(t, f, topic, 0, 5, false, c.handler(0))
	c.waitOffset(t, 0, 19)
	same(t, topic, 0, c.records(0), of(recs, 0, 5))
	c.check(t)
}

// TestSaramaRecordsNextOffset shows sarama still has the unexported FetchResponseBlock.recordsNextOffset kfetch reads to pass emptied batches.
func TestSaramaRecordsNextOffset(t *testing.T) {
	f, ok := reflect.TypeFor[sarama.FetchResponseBlock]().FieldByName("recordsNextOffset")
	if !ok || f.Type != reflect.TypeFor[*int64]() {
		t.Fatalf("sarama.FetchResponseBlock.recordsNextOffset is gone or no longer an *int64 (%v): kfetch would stall at batches the log cleaner emptied", f.Type)
	}
}

// TestFetchResponseErrors shows injected partition errors and a throttled empty answer only delay fetching, losing
// or repeating nothing. It always runs on an in-process broker of its own (whose answers it rewrites), also when
// KAFKA_BOOTSTRAP_SERVERS is set.
func TestFetchResponseErrors(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	topic := kafkatest.Topic(t)
	const parts = 2
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	client := newClient(t, brokers, nil)
	f, _ := newFetcher(t, client)
	c := newCollector(topic)
	for p := range int32(parts) {
		subscribe(t, f, topic, p, sarama.OffsetOldest, false, c.handler(p))
	}
	var all []*rec
	for _, tc := range []struct {
		name     string
		code     int16 // for every partition of the request
		throttle bool  // a throttled answer without partitions instead
	}{
		{"not-leader", kerr.NotLeaderForPartition.Code, false},
		{"fenced-epoch", kerr.FencedLeaderEpoch.Code, false},
		{"unknown-epoch", kerr.UnknownLeaderEpoch.Code, false},
		{"storage-error", kerr.KafkaStorageError.Code, false},
		{"throttled", 0, true},
	} {
		var answered atomic.Int32
		cluster.ControlKey(int16(kmsg.Fetch), func(r kmsg.Request) (kmsg.Response, error, bool) {
			req := r.(*kmsg.FetchRequest)
			resp := req.ResponseKind().(*kmsg.FetchResponse)
			resp.Version = req.Version
			if tc.throttle {
				resp.ThrottleMillis = 200
			} else {
				for _, rt := range req.Topics {
					st := kmsg.NewFetchResponseTopic()
					st.Topic = rt.Topic
					for _, rp := range rt.Partitions {
						sp := kmsg.NewFetchResponseTopicPartition()
						sp.Partition = rp.Partition
						sp.ErrorCode = tc.code
						sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
						st.Partitions = append(st.Partitions, sp)
					}
					resp.Topics = append(resp.Topics, st)
				}
			}
			answered.Add(1)
			return resp, nil, true
		})
		recs := makeRecs(parts, 5, tc.name)
		produce(t, brokers, topic, nil, recs...)
		all = append(all, recs...)
		for p := range int32(parts) {
			w := of(all, p, 0)
			c.waitOffset(t, p, w[len(w)-1].off)
		}
		if answered.Load() != 1 {
			t.Fatalf("%s: the broker's answer was rewritten %d times, want 1", tc.name, answered.Load())
		}
	}
	for p := range int32(parts) {
		same(t, topic, p, c.records(p), of(all, p, 0))
	}
	c.check(t)
}
