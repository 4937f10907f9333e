package main

import (
	"context"
	"fmt"
	"runtime"

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
			figTxnsPerSec, figRecordsPerTxn},
		paired: true,
		notes: []string{fmt.Sprintf("`%s`: source.Config.ExactlyOnce{Enabled: true, GroupID: %q} (one transaction per non-empty "+
			"Poll: the records of a batch of %d and their source offset commit together); `%s`: the same pipeline at-least-once. "+
			"Both store offsets in the same Kafka offsets topic (source.Config.OffsetStorage); a run ends when Kafka acknowledged "+
			"every record and, exactly-once, when transactions committed all of them.", cSluiceEOS, eosGroupID, eosBatch, cSluice)},
	})
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
		if record {
			rep.addInProcess(test, c, n, s)
		}
		txns := ""
		if s.txns > 0 {
			txns = fmt.Sprintf(", %d transactions (%.0f/s, %.0f records each)", s.txns, float64(s.txns)/s.elapsed.Seconds(), float64(n)/float64(s.txns))
		}
		logf("%s %s %s: %d records in %.2fs (%.0f records/s, %.1f allocs/record, %.2f CPU µs/record%s)", test, label, c, n, s.elapsed.Seconds(),
			float64(n)/s.elapsed.Seconds(), float64(s.allocs)/float64(n), float64(s.cpu.Microseconds())/float64(n), txns)
		return nil
	}
	return interleave(o, []string{cSluice, cSluiceEOS}, min(o.records, 20000), o.records, one)
}
