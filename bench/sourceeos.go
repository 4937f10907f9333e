package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// The source-eos test's exactly-once contenders: the default poll boundary
// (the target's), and, for comparison, the interval boundary with
// eosInterval.
const (
	cSluiceEOS         = "Sluice, exactly-once"
	cSluiceEOSInterval = "Sluice, exactly-once, interval 20 ms"
	// cSluiceALOSarama is at-least-once with sarama's AsyncProducer
	// (source.Config.SaramaProducer): the producer the exactly-once
	// contenders use (sarama's transactional one), so that the ratio to it
	// is the transactions' cost alone, while the ratio to cSluice (Sluice's
	// batch producer, the at-least-once default) is what a user trades.
	cSluiceALOSarama = "Sluice, at-least-once, sarama's AsyncProducer"
)

// eosInterval is cSluiceEOSInterval's transaction.boundary.interval.ms.
const eosInterval = 20 * time.Millisecond

// eosBatch is the generator's batch size in the source-eos test: the
// FileStream source's default batch.size, so that with the poll boundary
// (one transaction per non-empty Poll) a transaction holds what one
// FileStream poll would.
const eosBatch = 2000

// eosGroupID is the exactly-once contender's group id (the first part of its
// transactional id, <group>-<connector>-<task>).
const eosGroupID = "sluice-bench"

// benchSourceEOS compares an exactly-once source pipeline (default poll
// boundary) with the same pipeline at-least-once: same run, same broker,
// byte records of o.size, the generator returning batches of eosBatch, and
// both with a Kafka offsets store on the bench broker (exactly-once needs
// one; the at-least-once pipeline gets the same so that only the delivery
// guarantee differs). The offsets topic is created by the first warm-up run
// (25 partitions, Kafka Connect's default) and shared by all runs, each run
// being its own connector.
func benchSourceEOS(ctx context.Context, o options, br *broker, rep *report) error {
	const test = "source-eos"
	d := byteData(o.size)
	rep.addTest(testInfo{
		id: test,
		title: fmt.Sprintf("%s: exactly-once (transaction.boundary=poll) vs at-least-once source, %d records of %d B (%s), batches of %d, %d partitions, Kafka offsets store",
			test, o.records, d.avgSize(), d.label, eosBatch, o.partitions),
		contenders:  []string{cSluice, cSluiceEOS, cSluiceEOSInterval, cSluiceALOSarama},
		baselineFor: map[string]string{cSluiceEOS: cSluice, cSluiceEOSInterval: cSluice},
		figures: []string{figRecordsPerSec, figSteadyRate, figTTFR, figMBPerSec, figCPUPerRecord, figBrokerCPUPerRecord, figAllocsPerRecord,
			figTxnsPerSec, figRecordsPerTxn, figConcurrentTxnRetries, figTxnRetrySleep, figTxnCycle, figTxnAddPartitions, figTxnSendAck,
			figTxnCommit, figTxnAfterCommit, figTxnBegin},
		paired: true,
		notes: []string{fmt.Sprintf("`%s`: source.Config.ExactlyOnce{Enabled: true, GroupID: %q} (one transaction per non-empty "+
			"Poll: the records of a batch of %d and their source offset commit together); `%s`: the same pipeline at-least-once; "+
			"`%s`: exactly-once with transaction.boundary=interval and transaction.boundary.interval.ms=%d, for comparison (not the target's). "+
			"All store offsets in a Kafka offsets topic (source.Config.OffsetStorage; a new one per run, created before the timed "+
			"window); a run ends when Kafka acknowledged every record and, exactly-once, when transactions committed all of them. "+
			"Time to first record: from Run to the first acknowledged record (opening the offsets store; exactly-once also "+
			"InitProducerId and the store's refresh); records/s after the first record excludes it. `%s`: at-least-once with "+
			"sarama's AsyncProducer (source.Config.SaramaProducer), the client the exactly-once contenders use (sarama's "+
			"transactional producer): exactly-once / it is the transactions' own cost, exactly-once / `%s` (Sluice's batch "+
			"producer, the default) what choosing exactly-once costs a user.", cSluiceEOS, eosGroupID, eosBatch, cSluice,
			cSluiceEOSInterval, eosInterval.Milliseconds(), cSluiceALOSarama, cSluice),
			"CONCURRENT_TRANSACTIONS retries: sarama's AddPartitionsToTxn retries refused with CONCURRENT_TRANSACTIONS (the " +
				"previous transaction's markers not yet written), counted from sarama's log, and the backoff it slept before them. " +
				"The ms figures are the exactly-once contenders' transaction timeline (per run: the mean over its transactions; " +
				"from sarama's transaction log and the generator's Polls): the four phases from AddPartitionsToTxn to the next BeginTxn " +
				"add up to the period from one BeginTxn to the next; Poll returned → BeginTxn overlaps them when the commit runs beside the next Poll."},
	})
	txnLog := eosTxnLog
	reps := map[string]int{}
	one := func(c string, n int, record bool, label string) error {
		topic := newTopic(test)
		if err := createTopic(br.addrs, topic, int32(o.partitions)); err != nil {
			return err
		}
		defer deleteTopic(br.addrs, topic)
		// A new offsets topic per run, created as the pipeline would (25
		// partitions, compacted) before the timed window: a run's store
		// then reads an empty topic, not what earlier runs committed.
		offsetsTopic := newTopic(test + "-offsets")
		defer deleteTopic(br.addrs, offsetsTopic)
		st, err := offsets.NewKafkaStore(ctx, offsets.KafkaStoreConfig{Brokers: br.addrs, Topic: offsetsTopic, Logger: discard})
		if err != nil {
			return fmt.Errorf("creating the offsets topic: %w", err)
		}
		if err := st.Close(); err != nil {
			return fmt.Errorf("creating the offsets topic: %w", err)
		}
		runtime.GC()
		stop := func() {}
		if record {
			reps[c]++
			stop = startProfile(o.profileDir, profileName(test, c, reps[c]))
		}
		retries0, slept0 := txnLog.concurrent.Load(), txnLog.sleptMs.Load()
		var onPoll func(bool)
		eos := c == cSluiceEOS || c == cSluiceEOSInterval
		if eos {
			txnLog.start()
			onPoll = txnLog.poll
		}
		// idle: the generator returns empty Polls once done, as a
		// source with nothing new does; the runtime completes a
		// transaction's bookkeeping (the status's count) between Polls.
		s, err := runSluiceSourceWith(ctx, br, topic, n, d, genOpts{batch: eosBatch, idle: true, onPoll: onPoll}, func(cfg *source.Config) {
			cfg.OffsetStorage = offsets.Storage{Topic: offsetsTopic}
			switch c {
			case cSluiceEOS:
				cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: eosGroupID}
			case cSluiceEOSInterval:
				cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: eosGroupID, Boundary: source.BoundaryInterval, BoundaryInterval: eosInterval}
			case cSluiceALOSarama:
				cfg.SaramaProducer = true
			}
		})
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if eos && s.txns == 0 {
			return fmt.Errorf("%s: no transaction committed: is exactly-once implemented?", c)
		}
		retries, slept := txnLog.concurrent.Load()-retries0, txnLog.sleptMs.Load()-slept0
		var phases map[string]float64
		var timed int
		if eos {
			phases, timed = txnLog.phases()
		}
		if record {
			rep.addInProcess(test, c, n, s)
			if s.first > 0 {
				rep.add(test, c, figTTFR, float64(s.first.Microseconds())/1000)
				rep.add(test, c, figSteadyRate, float64(n)/(s.elapsed-s.first).Seconds())
			}
			if s.txns > 0 {
				rep.add(test, c, figConcurrentTxnRetries, float64(retries)/float64(s.txns))
				rep.add(test, c, figTxnRetrySleep, float64(slept)/float64(s.txns))
				for _, f := range txnPhaseFigures {
					if v, ok := phases[f]; ok {
						rep.add(test, c, f, v)
					}
				}
			}
		}
		txns := ""
		if s.txns > 0 {
			txns = fmt.Sprintf(", %d transactions (%.0f/s, %.0f records each), %d CONCURRENT_TRANSACTIONS retries sleeping %d ms in all; mean ms over %d transactions: BeginTxn to BeginTxn %.2f = AddPartitionsToTxn %.2f + produce+acks %.2f + CommitTxn %.2f + to next BeginTxn %.2f; Poll returned → BeginTxn %.2f",
				s.txns, float64(s.txns)/s.elapsed.Seconds(), float64(n)/float64(s.txns), retries, slept, timed,
				phases[figTxnCycle], phases[figTxnAddPartitions], phases[figTxnSendAck], phases[figTxnCommit], phases[figTxnAfterCommit], phases[figTxnBegin])
		}
		logf("%s %s %s: %d records in %.2fs (%.0f records/s, %.1f allocs/record, %.2f CPU µs/record%s)", test, label, c, n, s.elapsed.Seconds(),
			float64(n)/s.elapsed.Seconds(), float64(s.allocs)/float64(n), float64(s.cpu.Microseconds())/float64(n), txns)
		return nil
	}
	return interleave(o, []string{cSluice, cSluiceEOS, cSluiceEOSInterval, cSluiceALOSarama}, min(o.records, 20000), o.records, one)
}

// Figures of the source-eos test only: the exactly-once contender's
// CONCURRENT_TRANSACTIONS retries, and its transaction timeline (median
// over the run's transactions of each phase, from sarama's transaction log
// and the generator's Polls).
const (
	figConcurrentTxnRetries = "CONCURRENT_TRANSACTIONS retries/transaction"
	figTxnRetrySleep        = "ms slept in those retries/transaction"
	figTxnCycle             = "ms/transaction: BeginTxn → next BeginTxn (mean)"
	figTxnAddPartitions     = "ms: BeginTxn → data partitions added (AddPartitionsToTxn, retries included; mean)"
	figTxnSendAck           = "ms: partitions added → CommitTxn called (records produced and acknowledged, offsets sent; mean)"
	figTxnCommit            = "ms: CommitTxn (offsets record flushed, EndTxn; mean)"
	figTxnAfterCommit       = "ms: CommitTxn returned → next BeginTxn (mean)"
	figTxnBegin             = "ms: Poll returned → BeginTxn of its first record (mean)"
)

var txnPhaseFigures = []string{figTxnCycle, figTxnAddPartitions, figTxnSendAck, figTxnCommit, figTxnAfterCommit, figTxnBegin}

func init() {
	figFormat[figConcurrentTxnRetries] = "%.2f"
	figFormat[figTxnRetrySleep] = "%.1f"
	for _, f := range txnPhaseFigures {
		figFormat[f] = "%.2f"
	}
}

// eosTxnLog is sarama's Logger when the source-eos test runs (installed by
// run before any sarama client exists): sarama logs each AddPartitionsToTxn
// retry, which shows how often a transaction's first send waited for the
// previous transaction's markers (CONCURRENT_TRANSACTIONS) and for how long,
// and each transaction's steps.
var eosTxnLog = &txnLog{}

// Timeline events.
const (
	evPollStart = iota
	evPollEnd
	evBegin      // transition to InTransaction (BeginTxn)
	evAddOK      // AddPartitionsToTxn succeeded
	evCommitting // CommitTxn called
	evCommitted  // CommitTxn returned nil
)

type txnEvent struct {
	at   time.Time
	kind int
}

// txnLog is a sarama.Logger counting AddPartitionsToTxn retries refused with
// CONCURRENT_TRANSACTIONS and the backoff slept before them and, while
// recording, the timeline of the transactions (with the generator's Poll
// events, see poll). It discards the lines themselves (sarama's debug lines
// included) and does no work for other lines than comparing their format's
// prefix.
type txnLog struct {
	concurrent, sleptMs atomic.Int64

	recording atomic.Bool
	mu        sync.Mutex
	events    []txnEvent
}

func (*txnLog) Print(...any)   {}
func (*txnLog) Println(...any) {}

func (l *txnLog) Printf(format string, v ...any) {
	switch {
	case strings.HasPrefix(format, "txnmgr/add-partition-to-txn retrying"):
		if len(v) == 0 {
			return
		}
		if err, ok := v[len(v)-1].(error); !ok || !strings.Contains(err.Error(), sarama.ErrConcurrentTransactions.Error()) {
			return
		}
		l.concurrent.Add(1)
		if d, ok := v[0].(time.Duration); ok {
			l.sleptMs.Add(int64(d)) // sarama logs backoff/time.Millisecond
		}
	case strings.HasPrefix(format, "txnmgr/transition "):
		if len(v) == 3 {
			if st, ok := v[2].(sarama.ProducerTxnStatusFlag); ok && st == sarama.ProducerTxnFlagInTransaction {
				l.event(evBegin)
			}
		}
	case strings.HasPrefix(format, "txnmgr/add-partition-to-txn [%s] successful"):
		l.event(evAddOK)
	case strings.HasPrefix(format, "producer/txnmgr [%s] committing transaction"):
		l.event(evCommitting)
	case strings.HasPrefix(format, "producer/txnmgr [%s] transaction committed"):
		l.event(evCommitted)
	}
}

// poll is the generator's onPoll hook.
func (l *txnLog) poll(end bool) {
	if end {
		l.event(evPollEnd)
	} else {
		l.event(evPollStart)
	}
}

func (l *txnLog) event(kind int) {
	if !l.recording.Load() {
		return
	}
	l.mu.Lock()
	l.events = append(l.events, txnEvent{time.Now(), kind})
	l.mu.Unlock()
}

// start starts recording a run's timeline.
func (l *txnLog) start() {
	l.mu.Lock()
	l.events = l.events[:0]
	l.mu.Unlock()
	l.recording.Store(true)
}

// phases stops recording and returns, per figure of txnPhaseFigures, the
// mean in ms over the run's complete transactions, and their number. A
// transaction is complete when its BeginTxn, first AddPartitionsToTxn
// success, CommitTxn call and return, and the next transaction's BeginTxn
// were seen: these follow each other (one transaction at a time per
// producer), so the phases add up to the period from one BeginTxn to the
// next. The Poll events may interleave with them (a commit may overlap the
// next Poll); the Poll → BeginTxn phase pairs a BeginTxn with the last
// Poll that returned before it.
func (l *txnLog) phases() (map[string]float64, int) {
	l.recording.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := func(a, b time.Time) float64 { return float64(b.Sub(a).Microseconds()) / 1000 }
	sums := map[string]float64{}
	var pollEnd, pollForBegin, begin, added, committing, committed time.Time
	n := 0
	for _, e := range l.events {
		switch e.kind {
		case evPollEnd:
			pollEnd = e.at
		case evBegin:
			if !begin.IsZero() && !added.IsZero() && !committing.IsZero() && !committed.IsZero() && !pollForBegin.IsZero() {
				sums[figTxnCycle] += ms(begin, e.at)
				sums[figTxnAddPartitions] += ms(begin, added)
				sums[figTxnSendAck] += ms(added, committing)
				sums[figTxnCommit] += ms(committing, committed)
				sums[figTxnAfterCommit] += ms(committed, e.at)
				sums[figTxnBegin] += ms(pollForBegin, begin)
				n++
			}
			begin, added, committing, committed = e.at, time.Time{}, time.Time{}, time.Time{}
			pollForBegin = pollEnd
		case evAddOK:
			if added.IsZero() && !begin.IsZero() {
				added = e.at
			}
		case evCommitting:
			committing = e.at
		case evCommitted:
			committed = e.at
		}
	}
	out := map[string]float64{}
	if n > 0 {
		for f, v := range sums {
			out[f] = v / float64(n)
		}
	}
	return out, n
}
