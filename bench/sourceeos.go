package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// cSluiceEOS is the source-eos test's exactly-once contender.
const cSluiceEOS = "Sluice, exactly-once"

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
		contenders:  []string{cSluice, cSluiceEOS},
		baselineFor: map[string]string{cSluiceEOS: cSluice},
		figures: []string{figRecordsPerSec, figMBPerSec, figCPUPerRecord, figBrokerCPUPerRecord, figAllocsPerRecord,
			figTxnsPerSec, figRecordsPerTxn, figConcurrentTxnRetries, figTxnRetrySleep},
		paired: true,
		notes: []string{fmt.Sprintf("`%s`: source.Config.ExactlyOnce{Enabled: true, GroupID: %q} (one transaction per non-empty "+
			"Poll: the records of a batch of %d and their source offset commit together); `%s`: the same pipeline at-least-once. "+
			"Both store offsets in the same Kafka offsets topic (source.Config.OffsetStorage); a run ends when Kafka acknowledged "+
			"every record and, exactly-once, when transactions committed all of them.", cSluiceEOS, eosGroupID, eosBatch, cSluice),
			"CONCURRENT_TRANSACTIONS retries: sarama's AddPartitionsToTxn retries refused with CONCURRENT_TRANSACTIONS (the " +
				"previous transaction's markers not yet written), counted from sarama's log, and the backoff it slept before them."},
	})
	// sarama logs each AddPartitionsToTxn retry; counting them shows how
	// often a transaction's first send waited for the previous
	// transaction's markers (CONCURRENT_TRANSACTIONS) and for how long.
	txnLog := &txnRetryLog{}
	prevLogger := sarama.Logger
	sarama.Logger = txnLog
	defer func() { sarama.Logger = prevLogger }()
	offsetsTopic := newTopic(test + "-offsets")
	defer deleteTopic(br.addrs, offsetsTopic)
	reps := map[string]int{}
	one := func(c string, n int, record bool, label string) error {
		topic := newTopic(test)
		if err := createTopic(br.addrs, topic, int32(o.partitions)); err != nil {
			return err
		}
		defer deleteTopic(br.addrs, topic)
		runtime.GC()
		stop := func() {}
		if record {
			reps[c]++
			stop = startProfile(o.profileDir, profileName(test, c, reps[c]))
		}
		retries0, slept0 := txnLog.concurrent.Load(), txnLog.sleptMs.Load()
		s, err := runSluiceSourceWith(ctx, br, topic, n, d, eosBatch, func(cfg *source.Config) {
			cfg.OffsetStorage = offsets.Storage{Topic: offsetsTopic}
			if c == cSluiceEOS {
				cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: eosGroupID}
			}
		})
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if c == cSluiceEOS && s.txns == 0 {
			return fmt.Errorf("%s: no transaction committed: is exactly-once implemented?", c)
		}
		retries, slept := txnLog.concurrent.Load()-retries0, txnLog.sleptMs.Load()-slept0
		if record {
			rep.addInProcess(test, c, n, s)
			if s.txns > 0 {
				rep.add(test, c, figConcurrentTxnRetries, float64(retries)/float64(s.txns))
				rep.add(test, c, figTxnRetrySleep, float64(slept)/float64(s.txns))
			}
		}
		txns := ""
		if s.txns > 0 {
			txns = fmt.Sprintf(", %d transactions (%.0f/s, %.0f records each), %d CONCURRENT_TRANSACTIONS retries sleeping %d ms in all",
				s.txns, float64(s.txns)/s.elapsed.Seconds(), float64(n)/float64(s.txns), retries, slept)
		}
		logf("%s %s %s: %d records in %.2fs (%.0f records/s, %.1f allocs/record, %.2f CPU µs/record%s)", test, label, c, n, s.elapsed.Seconds(),
			float64(n)/s.elapsed.Seconds(), float64(s.allocs)/float64(n), float64(s.cpu.Microseconds())/float64(n), txns)
		return nil
	}
	return interleave(o, []string{cSluice, cSluiceEOS}, min(o.records, 20000), o.records, one)
}

// Figures of the source-eos test only.
const (
	figConcurrentTxnRetries = "CONCURRENT_TRANSACTIONS retries/transaction"
	figTxnRetrySleep        = "ms slept in those retries/transaction"
)

func init() {
	figFormat[figConcurrentTxnRetries] = "%.2f"
	figFormat[figTxnRetrySleep] = "%.1f"
}

// txnRetryLog is a sarama.Logger counting AddPartitionsToTxn retries refused
// with CONCURRENT_TRANSACTIONS and the backoff slept before them; it
// discards everything (sarama's debug lines included) and does no work for
// other lines than comparing their format's prefix.
type txnRetryLog struct {
	concurrent, sleptMs atomic.Int64
}

func (*txnRetryLog) Print(...any)   {}
func (*txnRetryLog) Println(...any) {}

func (l *txnRetryLog) Printf(format string, v ...any) {
	if !strings.HasPrefix(format, "txnmgr/add-partition-to-txn retrying") || len(v) == 0 {
		return
	}
	if err, ok := v[len(v)-1].(error); !ok || !strings.Contains(err.Error(), sarama.ErrConcurrentTransactions.Error()) {
		return
	}
	l.concurrent.Add(1)
	if d, ok := v[0].(time.Duration); ok {
		l.sleptMs.Add(int64(d))
	}
}
