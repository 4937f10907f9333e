package kafkatest

import "testing"

// SkipSaramaTxnRace skips t in a binary built with -race. sarama's
// transactional producer has a data race on its error paths (IBM/sarama#2913:
// transactionManager.publishTxnPartitions reads lastError under
// partitionInTxnLock while transitionTo writes it under statusLock), which
// the race detector reports whenever records of a transaction fail while
// more are queued: a fenced producer, a timed-out or failed transaction.
// Tests of those paths call it; CI runs them again without -race
// (.ci/run, "exactly-once error paths"), where they must pass.
func SkipSaramaTxnRace(t testing.TB) {
	t.Helper()
	if RaceDetector {
		t.Skip("sarama's transactional producer races on its error paths (IBM/sarama#2913); CI runs this test without -race")
	}
}
