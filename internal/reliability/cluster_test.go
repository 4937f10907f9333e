package reliability

// The cluster scenarios (issue 19, "Many processes, one cluster"): member
// processes (the member program of cluster_member_test.go) form one cluster
// through Kafka's group coordinator; the tests read their REST APIs, their
// output and events files and the topic between source and sink.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
)

// requireResumeAfterCommit makes TestCluster fail when a source task moved
// by a SIGKILL writes again a seq committed before the kill. It is off
// while the known bug stands: a member's offsets store (offsets.KafkaStore,
// opened when the pipeline starts) does not follow the offsets other
// members commit, and a task assigned to it later starts from that stale
// view (observed: from seq 0 with seq 579 committed). The figures line
// notes the rewind meanwhile. Turn it on with the fix (a Refresh of the
// store before an assigned task starts).
const requireResumeAfterCommit = true

// clusterWait bounds each wait of the cluster scenarios: generous, since a
// loaded 2-core machine runs four members, a broker and the test.
const clusterWait = 2 * time.Minute

// TestCluster runs the cluster scenarios on one cluster, in order
// (each step starts from the state the previous one left):
//
//   - spread: three members with "seq" (a source, tasks.max=6) and "sink"
//     (tasks.max=6) declared in code by each → GET /connectors/{c}/status
//     on every member lists both connectors with their 6+6 tasks RUNNING,
//     each member's worker_id on exactly 4 of the 12 tasks;
//   - join: a fourth member → it runs 3 tasks, every member 3, and no task
//     that kept its member was stopped (no "stop" event for it after the
//     join);
//   - kill: SIGKILL a member running seq tasks → within session timeout +
//     rebalance its tasks are RUNNING on the survivors (status shows only
//     their worker_ids, 4 tasks each); every seq of every source partition
//     up to the last produced is in the topic (0 lost; duplicates counted)
//     and every record of the topic is in the union of the members' sink
//     outputs (0 lost);
//   - pause: PUT /connectors/seq/pause on member A → on member B the seq
//     tasks report PAUSED and B's seq tasks stop producing; resume →
//     RUNNING and producing again.
//
// It runs on the in-process kfake broker, or on KAFKA_BOOTSTRAP_SERVERS.
func TestCluster(t *testing.T) {
	h := newClusterHarness(t, memberSpec{Batch: 20, EveryMS: 100, Sink: true, DelayMS: 2000})
	r := result{scenario: "cluster/kill-9", contender: contenderSluice, broker: h.brokerKind(), dupBound: -1, seconds: -1,
		variant: "members=3+1-1 tasks=6+6"}
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"spread", func(t *testing.T) { clusterSpread(t, h) }},
		{"join", func(t *testing.T) { clusterJoin(t, h) }},
		{"kill", func(t *testing.T) { clusterKill(t, h, &r) }},
		{"pause", func(t *testing.T) { clusterPause(t, h) }},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("step %s failed: the later steps need its outcome", s.name)
		}
	}
	h.stopAll(t)
}

// clusterSpread is TestCluster's first step: three members, 4 tasks each.
func clusterSpread(t *testing.T, h *clusterHarness) {
	start := time.Now()
	for _, name := range []string{"m1", "m2", "m3"} {
		h.start(name)
	}
	view := h.waitSpread(t, "three members", h.alive(), connect2(), 4, "RUNNING")
	t.Logf("three members: 12 tasks RUNNING, 4 per member, %.1f s after the first start; %s", time.Since(start).Seconds(), view.owners())
	// Every member answers for the whole cluster.
	for _, m := range h.alive() {
		names, err := m.connectors()
		if err != nil {
			t.Fatalf("GET %s/connectors: %v", m.url, err)
		}
		if !slices.Equal(names, []string{clusterSeqName, clusterSinkName}) {
			t.Errorf("GET %s/connectors = %v, want [%s %s]", m.url, names, clusterSeqName, clusterSinkName)
		}
	}
}

// clusterJoin is TestCluster's second step: a fourth member.
func clusterJoin(t *testing.T, h *clusterHarness) {
	before := h.mustView(t, h.alive()[0])
	joined := time.Now()
	m4 := h.start("m4")
	after := h.waitSpread(t, "a fourth member", h.alive(), connect2(), 3, "RUNNING")
	t.Logf("four members: 3 tasks each %.1f s after the fourth started; %s", time.Since(joined).Seconds(), after.owners())
	kept, moved := 0, 0
	for task, owner := range before.taskOwners() {
		if after.taskOwners()[task] != owner {
			moved++
			continue
		}
		kept++
		m := h.byWorkerID(owner)
		if m == nil {
			t.Fatalf("task %s: worker_id %s is no member's", task, owner)
		}
		for _, e := range readEvents(t, m.spec.eventsPath()) {
			if e.task == task && e.what == "stop" && e.at.After(joined) {
				t.Errorf("task %s stayed on %s (%s) but was stopped at %s, after the fourth member joined at %s",
					task, m.spec.Name, owner, e.at.Format(time.StampMilli), joined.Format(time.StampMilli))
			}
		}
	}
	started := map[string]bool{}
	for _, e := range readEvents(t, m4.spec.eventsPath()) {
		if e.what == "start" {
			started[e.task] = true
		}
	}
	for task, owner := range after.taskOwners() {
		if owner == m4.workerID && !started[task] {
			t.Errorf("status shows task %s on %s, but its events file has no start for it", task, m4.spec.Name)
		}
	}
	t.Logf("the fourth member's join moved %d tasks and left %d where they ran", moved, kept)
}

// clusterKill is TestCluster's third step: SIGKILL a member running seq
// tasks.
func clusterKill(t *testing.T, h *clusterHarness, r *result) {
	view := h.mustView(t, h.alive()[0])
	// The victim: the member with the most seq tasks (the first such).
	var victim *clusterMember
	most := 0
	for _, m := range h.alive() {
		if n := view.count(clusterSeqName, m.workerID); n > most {
			victim, most = m, n
		}
	}
	if victim == nil {
		t.Fatalf("no member runs a seq task: %s", view.owners())
	}
	// The offsets committed before the kill: the victim's tasks, moved,
	// must resume after them (or after later ones), never before.
	before := committedSeqs(t, h.addrs, h.spec.OffsetTopic)
	atKill := endOffsets(t, h.addrs, h.spec.Topic)
	killed := time.Now()
	victim.kill()
	t.Logf("killed %s (%s), which ran %d seq tasks and %d sink tasks", victim.spec.Name, victim.workerID, most, view.count(clusterSinkName, victim.workerID))
	h.waitSpread(t, "the kill of "+victim.spec.Name, h.alive(), connect2(), 4, "RUNNING")
	recovered := time.Since(killed)
	r.seconds, r.secName = recovered.Seconds(), "recover_s"
	t.Logf("%s's tasks RUNNING on the survivors %.1f s after SIGKILL (session timeout 6 s, scheduled.rebalance.max.delay.ms 2000)",
		victim.spec.Name, recovered.Seconds())
	clusterKillChecks(t, h, r, atKill, before)
}

// clusterKillChecks checks, after a kill whose topic end offsets were
// atKill and source offsets committed just before were before, that the
// source lost nothing (no gap in the topic, no committed offset past it),
// that the moved source tasks resumed after what was committed before the
// kill, and that every record of the topic reached a sink output.
func clusterKillChecks(t *testing.T, h *clusterHarness, r *result, atKill map[int32]int64, before []int64) {
	// The moved seq tasks produce again: every partition grows past its
	// end at the kill.
	h.waitFor(t, "every partition of the topic growing after the kill", func() (bool, string) {
		now := endOffsets(t, h.addrs, h.spec.Topic)
		var behind []string
		for p, off := range atKill {
			if now[p] <= off+int64(h.spec.Batch) {
				behind = append(behind, fmt.Sprintf("%d: %d → %d", p, off, now[p]))
			}
		}
		return len(behind) == 0, "partitions not growing: " + strings.Join(behind, ", ")
	})

	// Source: no gap in any partition's sequence, and no committed source
	// offset past what the topic holds (read after the offsets: a task
	// commits an offset once its record was acknowledged).
	committed := committedSeqs(t, h.addrs, h.spec.OffsetTopic)
	msgs := kafkatest.ReadUncommitted(t, h.addrs, h.spec.Topic)
	st := tallySeqs(t, msgs)
	for part, seq := range committed {
		if last, ok := st.last[part]; seq >= 0 && (!ok || last < seq) {
			t.Errorf("source partition %d: offset seq %d committed, but the topic ends at seq %d: records lost", part, seq, last)
		}
	}
	t.Logf("committed seqs before the kill %v, at the end %v; longest rewind per partition %v, from seqs %v", before, committed, st.replay, st.rewound)
	var stale []string
	for _, part := range slices.Sorted(maps.Keys(st.rewound)) {
		if low := st.rewound[part]; low <= before[part] {
			msg := fmt.Sprintf("source partition %d: after the kill its task wrote again from seq %d, but seq %d was committed before the kill: "+
				"the task that moved did not resume after its last committed offset (stale offsets on its new member)", part, low, before[part])
			if requireResumeAfterCommit {
				t.Error(msg)
			} else {
				t.Log("KNOWN BUG: " + msg)
				stale = append(stale, fmt.Sprintf("%d to seq %d", part, low))
			}
		}
	}
	if len(stale) > 0 {
		r.note = "known bug, stale offsets: partitions rewound below their committed offset: " + strings.Join(stale, ", ")
	}
	r.records, r.lost, r.dup = st.distinct, st.lost, st.dup
	t.Logf("topic: %d records, %d distinct (task, seq), %d duplicated, %d lost (gaps below each partition's last seq)", len(msgs), st.distinct, st.dup, st.lost)
	if st.lost > 0 {
		t.Errorf("%d seqs missing from the topic below each partition's last (first: %s)", st.lost, st.firstLost)
	}

	// Sink: every record of the topic (as read above) reaches an output.
	want := map[string]bool{}
	for _, m := range msgs {
		want[string(m.Value)] = true
	}
	var out outputTally
	ok := waitUntilDone(clusterWait, func() bool {
		out = readOutputs(t, h.dir)
		for v := range want {
			if out.count[v] == 0 {
				return false
			}
		}
		return true
	})
	missing := 0
	var example string
	for v := range want {
		if out.count[v] == 0 {
			missing++
			if example == "" || v < example {
				example = v
			}
		}
	}
	t.Logf("sink outputs: %d lines, %d distinct values, %d values written more than once; %d of the topic's %d values missing",
		out.lines, len(out.count), out.dup, missing, len(want))
	if !ok || missing > 0 {
		t.Errorf("%d of the topic's %d records never reached a sink output within %v (e.g. %q)", missing, len(want), clusterWait, example)
	}
	r.note = strings.TrimPrefix(r.note+fmt.Sprintf("; sink: %d values written more than once, %d missing", out.dup, missing), "; ")
}

// clusterPause is TestCluster's last step: pause on A, paused on B.
func clusterPause(t *testing.T, h *clusterHarness) {
	alive := h.alive()
	view := h.mustView(t, alive[0])
	// B: a member running seq tasks; A: another one.
	var a, b *clusterMember
	for _, m := range alive {
		if b == nil && view.count(clusterSeqName, m.workerID) > 0 {
			b = m
		}
	}
	for _, m := range alive {
		if m != b {
			a = m
			break
		}
	}
	if a == nil || b == nil {
		t.Fatalf("want two members, one running seq tasks: %s", view.owners())
	}
	bParts := view.tasksOf(clusterSeqName, b.workerID)
	if code, body := h.put(t, a, "/connectors/seq/pause"); code != http.StatusAccepted {
		t.Fatalf("PUT %s/connectors/seq/pause: %d %s", a.url, code, body)
	}
	paused := time.Now()
	h.waitFor(t, fmt.Sprintf("seq PAUSED in %s's status after the pause on %s", b.spec.Name, a.spec.Name), func() (bool, string) {
		st, err := b.status(clusterSeqName)
		if err != nil {
			return false, err.Error()
		}
		return st.all("PAUSED", clusterTasks), st.String()
	})
	t.Logf("pause on %s: seq PAUSED in %s's status %.1f s later", a.spec.Name, b.spec.Name, time.Since(paused).Seconds())
	// B's tasks stop producing: their partitions stay where they are once
	// what was in flight landed.
	time.Sleep(2 * time.Second)
	first := endOffsets(t, h.addrs, h.spec.Topic)
	time.Sleep(3 * time.Second)
	second := endOffsets(t, h.addrs, h.spec.Topic)
	for _, p := range bParts {
		if second[int32(p)] != first[int32(p)] {
			t.Errorf("seq task %d on %s (paused from %s) still produces: partition %d went from %d to %d", p, b.spec.Name, a.spec.Name, p, first[int32(p)], second[int32(p)])
		}
	}
	if code, body := h.put(t, a, "/connectors/seq/resume"); code != http.StatusAccepted {
		t.Fatalf("PUT %s/connectors/seq/resume: %d %s", a.url, code, body)
	}
	h.waitFor(t, fmt.Sprintf("seq RUNNING in %s's status after the resume on %s", b.spec.Name, a.spec.Name), func() (bool, string) {
		st, err := b.status(clusterSeqName)
		if err != nil {
			return false, err.Error()
		}
		return st.all("RUNNING", clusterTasks), st.String()
	})
	h.waitFor(t, fmt.Sprintf("%s's seq tasks producing again", b.spec.Name), func() (bool, string) {
		now := endOffsets(t, h.addrs, h.spec.Topic)
		for _, p := range bParts {
			if now[int32(p)] <= second[int32(p)] {
				return false, fmt.Sprintf("partition %d still at %d", p, now[int32(p)])
			}
		}
		return true, ""
	})
}

// TestClusterDeclaredTwice is the headline bug: two replicas of an
// application that declares the same source connector in code (seq,
// tasks.max=6, 1000 records per task) → each record is in the topic
// exactly once. Before cluster mode every replica ran every task and the
// topic held each record twice.
func TestClusterDeclaredTwice(t *testing.T) {
	const perTask = 1000
	h := newClusterHarness(t, memberSpec{PerTask: perTask, Batch: 50, EveryMS: 20, DelayMS: 2000})
	r := result{scenario: "cluster/declared-twice", contender: contenderSluice, broker: h.brokerKind(), dupBound: 0, seconds: -1,
		variant: "members=2 tasks=6"}
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	h.start("m1")
	h.start("m2")
	h.waitSpread(t, "two members", h.alive(), []string{clusterSeqName}, 3, "RUNNING")
	h.waitFor(t, "every task's sequence complete in the topic", func() (bool, string) {
		ends := endOffsets(t, h.addrs, h.spec.Topic)
		var short []string
		for p := range int32(clusterTasks) {
			if ends[p] < perTask {
				short = append(short, fmt.Sprintf("%d: %d", p, ends[p]))
			}
		}
		return len(short) == 0, "partitions below 1000 records: " + strings.Join(short, ", ")
	})
	h.stopAll(t)
	st := tallySeqs(t, kafkatest.ReadUncommitted(t, h.addrs, h.spec.Topic))
	r.records, r.lost, r.dup = st.distinct, st.lost+(clusterTasks*perTask-st.distinct), st.dup
	t.Logf("topic: %d distinct (task, seq) of %d, %d duplicated", st.distinct, clusterTasks*perTask, st.dup)
	if st.dup > 0 {
		t.Errorf("%d records produced more than once by two replicas declaring the same connector (e.g. %s)", st.dup, st.firstDup)
	}
	if st.distinct != clusterTasks*perTask || st.lost > 0 {
		t.Errorf("%d distinct records in the topic, want %d", st.distinct, clusterTasks*perTask)
	}
}

// TestClusterGracefulLeave: three members run seq (tasks.max=6, 1000
// records per task); the member running the most seq tasks is stopped
// with SIGTERM mid-stream → its tasks stop gracefully (their offsets
// committed), move to the two others and resume after those offsets:
// each record is in the topic exactly once. (Its assertion is behind
// requireResumeAfterCommit, with the kill step's: the tasks now resume
// from their new member's stale offsets, observed from seq 0.)
func TestClusterGracefulLeave(t *testing.T) {
	const perTask = 1000
	h := newClusterHarness(t, memberSpec{PerTask: perTask, Batch: 20, EveryMS: 50, DelayMS: 2000})
	r := result{scenario: "cluster/graceful-leave", contender: contenderSluice, broker: h.brokerKind(), dupBound: 0, seconds: -1,
		variant: "members=3-1 tasks=6"}
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	for _, name := range []string{"m1", "m2", "m3"} {
		h.start(name)
	}
	view := h.waitSpread(t, "three members", h.alive(), []string{clusterSeqName}, 2, "RUNNING")
	var leaver *clusterMember
	most := 0
	for _, m := range h.alive() {
		if n := view.count(clusterSeqName, m.workerID); n > most {
			leaver, most = m, n
		}
	}
	h.waitFor(t, "records in every partition", func() (bool, string) {
		ends := endOffsets(t, h.addrs, h.spec.Topic)
		for p := range int32(clusterTasks) {
			if ends[p] < 200 {
				return false, fmt.Sprintf("partition %d: %d", p, ends[p])
			}
		}
		return true, ""
	})
	left := time.Now()
	leaver.gone = true
	if !leaver.c.stop(time.Minute) {
		t.Errorf("member %s did not stop within a minute of SIGTERM", leaver.spec.Name)
	}
	h.waitSpread(t, leaver.spec.Name+" leaving", h.alive(), []string{clusterSeqName}, 3, "RUNNING")
	r.seconds, r.secName = time.Since(left).Seconds(), "moved_s"
	h.waitFor(t, "every task's sequence complete in the topic", func() (bool, string) {
		st := tallySeqs(t, kafkatest.ReadUncommitted(t, h.addrs, h.spec.Topic))
		return st.distinct == clusterTasks*perTask, fmt.Sprintf("%d distinct records of %d", st.distinct, clusterTasks*perTask)
	})
	h.stopAll(t)
	st := tallySeqs(t, kafkatest.ReadUncommitted(t, h.addrs, h.spec.Topic))
	r.records, r.lost, r.dup = st.distinct, st.lost, st.dup
	t.Logf("%s (%d seq tasks) left with SIGTERM; its tasks RUNNING on the others %.1f s later; topic: %d distinct of %d, %d duplicated, rewinds %v from seqs %v",
		leaver.spec.Name, most, r.seconds, st.distinct, clusterTasks*perTask, st.dup, st.replay, st.rewound)
	if st.dup > 0 {
		msg := fmt.Sprintf("%d records written twice after a graceful leave (e.g. %s): the moved tasks did not resume after their committed offsets", st.dup, st.firstDup)
		if requireResumeAfterCommit {
			t.Error(msg)
		} else {
			t.Log("KNOWN BUG: " + msg)
			r.note = "known bug: stale offsets on the new member"
		}
	}
}

// TestClusterExactlyOnce: seq with exactly-once delivery on three members;
// SIGKILL the member running the most seq tasks mid-stream → its tasks
// move, fence the killed member's transactional producers and resume from
// the offsets committed in their transactions: a read_committed reader
// sees every seq of every partition once, with no gap.
func TestClusterExactlyOnce(t *testing.T) {
	kafkatest.SkipSaramaTxnRace(t)
	h := newClusterHarness(t, memberSpec{Batch: 20, EveryMS: 50, ExactlyOnce: true, DelayMS: -1})
	r := result{scenario: "cluster/kill-9/exactly-once", contender: contenderSluice, broker: h.brokerKind(), dupBound: 0, seconds: -1,
		variant: "members=3 tasks=6"}
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	for _, name := range []string{"m1", "m2", "m3"} {
		h.start(name)
	}
	view := h.waitSpread(t, "three members", h.alive(), []string{clusterSeqName}, 2, "RUNNING")
	var victim *clusterMember
	most := 0
	for _, m := range h.alive() {
		if n := view.count(clusterSeqName, m.workerID); n > most {
			victim, most = m, n
		}
	}
	// Mid-stream: let the topic fill a little first.
	h.waitFor(t, "records in every partition", func() (bool, string) {
		ends := endOffsets(t, h.addrs, h.spec.Topic)
		for p := range int32(clusterTasks) {
			if ends[p] < 100 {
				return false, fmt.Sprintf("partition %d: %d", p, ends[p])
			}
		}
		return true, ""
	})
	// Kill as soon as one of the victim's partitions has a transaction
	// open (within openTxnWait), so that the kill most likely interrupts
	// one: its records must never reach a read_committed reader.
	var parts []int32
	for _, p := range view.tasksOf(clusterSeqName, victim.workerID) {
		parts = append(parts, int32(p))
	}
	open := waitTxnOpen(t, h.addrs, h.spec.Topic, parts, openTxnWait)
	atKill := endOffsets(t, h.addrs, h.spec.Topic)
	killed := time.Now()
	victim.kill()
	t.Logf("killed %s, which ran seq tasks %v; a transaction was open just before: %t", victim.spec.Name, parts, open)
	h.waitSpread(t, "the kill of "+victim.spec.Name, h.alive(), []string{clusterSeqName}, 3, "RUNNING")
	r.seconds, r.secName = time.Since(killed).Seconds(), "recover_s"
	h.waitFor(t, "every partition growing after the kill", func() (bool, string) {
		now := endOffsets(t, h.addrs, h.spec.Topic)
		for p, off := range atKill {
			if now[p] <= off+int64(2*h.spec.Batch) {
				return false, fmt.Sprintf("partition %d: %d → %d", p, off, now[p])
			}
		}
		return true, ""
	})
	h.stopAll(t)
	committed := kafkatest.ReadCommitted(t, h.addrs, h.spec.Topic)
	st := tallySeqs(t, committed)
	written := kafkatest.ReadUncommitted(t, h.addrs, h.spec.Topic)
	r.records, r.lost, r.dup = st.distinct, st.lost, st.dup
	r.note = fmt.Sprintf("%d records of aborted transactions; a transaction open at the kill: %t", len(written)-len(committed), open)
	// Transactions leave a marker after each batch: the partitions' end
	// offsets exceed the records they hold.
	ends, held := int64(0), int64(len(written))
	for _, off := range endOffsets(t, h.addrs, h.spec.Topic) {
		ends += off
	}
	if ends <= held {
		t.Errorf("the topic's end offsets sum to %d for %d records: no transaction markers, exactly-once delivery was not in effect", ends, held)
	}
	t.Logf("read_committed: %d records, %d distinct, %d duplicated, %d gaps; read_uncommitted: %d records; recovered in %.1f s",
		len(committed), st.distinct, st.dup, st.lost, len(written), r.seconds)
	if st.dup > 0 || st.lost > 0 {
		t.Errorf("read_committed reading after a SIGKILL of an exactly-once member: %d duplicated (e.g. %s), %d missing (e.g. %s); want none",
			st.dup, st.firstDup, st.lost, st.firstLost)
	}
}

// --- the harness ---

// clusterHarness runs the member processes of one cluster.
type clusterHarness struct {
	t       *testing.T
	addrs   []string
	dir     string
	spec    memberSpec // the members' common spec (Name empty)
	members []*clusterMember
	http    *http.Client
}

// clusterMember is one member process.
type clusterMember struct {
	spec     memberSpec
	c        *child
	url      string
	workerID string
	h        *clusterHarness
	gone     bool // killed or stopped by the test: its exit is expected
}

// newClusterHarness gets a broker, creates the topic (clusterTasks
// partitions) and names the group and the internal topics; spec gives
// the members' seq pacing and options.
func newClusterHarness(t *testing.T, spec memberSpec) *clusterHarness {
	t.Helper()
	if testing.Short() && !inCI() {
		t.Skip("-short: the cluster scenarios run several member processes")
	}
	addrs := kafkatest.Brokers(t)
	base := kafkatest.Topic(t)
	spec.Brokers = addrs
	spec.Group = base + "-group"
	spec.ConfigTopic, spec.OffsetTopic, spec.StatusTopic = base+"-configs", base+"-offsets", base+"-status"
	spec.Topic = base + "-data"
	spec.Dir = runDir(t, t.Name())
	kafkatest.CreateTopic(t, addrs, spec.Topic, clusterTasks, nil)
	h := &clusterHarness{t: t, addrs: addrs, dir: spec.Dir, spec: spec, http: &http.Client{Timeout: 15 * time.Second}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("members' logs:\n%s", h.logs())
		}
	})
	return h
}

func (h *clusterHarness) brokerKind() string {
	if kafkatest.External() {
		return brokerKafka
	}
	return brokerEmbedded
}

// start starts a member and waits until its REST API listens.
func (h *clusterHarness) start(name string) *clusterMember {
	t := h.t
	t.Helper()
	spec := h.spec
	spec.Name = name
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{os.Args[0], "-test.run=^TestClusterMember$", "-test.v", "-test.count=1", "-test.timeout=30m"}
	c := startChild(t, name, argv, h.dir, []string{envClusterMember + "=" + string(raw)}, filepath.Join(h.dir, name+".log"))
	m := &clusterMember{spec: spec, c: c, h: h}
	deadline := time.Now().Add(clusterWait)
	for {
		if b, err := os.ReadFile(spec.urlPath()); err == nil {
			m.url = string(b)
			m.workerID = strings.TrimPrefix(m.url, "http://")
			break
		}
		if c.exited() {
			t.Fatal(c.failure())
		}
		if time.Now().After(deadline) {
			t.Fatalf("member %s wrote no URL within %v:\n%s", name, clusterWait, tail(c.logPath, 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("member %s started: %s", name, m.url)
	h.members = append(h.members, m)
	return m
}

// alive returns the members not killed or stopped, in start order.
func (h *clusterHarness) alive() []*clusterMember {
	var out []*clusterMember
	for _, m := range h.members {
		if !m.c.exited() {
			out = append(out, m)
		}
	}
	return out
}

func (h *clusterHarness) byWorkerID(id string) *clusterMember {
	for _, m := range h.members {
		if m.workerID == id {
			return m
		}
	}
	return nil
}

// stopAll stops every member with SIGTERM; each must exit within a
// minute.
func (h *clusterHarness) stopAll(t *testing.T) {
	t.Helper()
	alive := h.alive()
	for _, m := range alive {
		m.gone = true
		_ = syscall.Kill(-m.c.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, m := range alive {
		if !m.c.stop(time.Minute) {
			t.Errorf("member %s did not stop within a minute of SIGTERM:\n%s", m.spec.Name, tail(m.c.logPath, 30))
		}
	}
}

// logs returns the last lines of every member's log.
func (h *clusterHarness) logs() string {
	var b strings.Builder
	for _, m := range h.members {
		fmt.Fprintf(&b, "--- %s (%s), last lines of %s:\n%s\n", m.spec.Name, m.workerID, m.c.logPath, tail(m.c.logPath, 25))
	}
	return b.String()
}

// waitFor polls cond every 200 ms until it holds; after clusterWait it
// fails t with cond's last detail and the members' logs.
func (h *clusterHarness) waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		for _, m := range h.members {
			if m.c.exited() && !m.gone {
				t.Fatalf("waiting for %s: %v", what, m.c.failure())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after %v; last seen: %s", what, clusterWait, detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill kills the member with SIGKILL.
func (m *clusterMember) kill() {
	m.gone = true
	m.c.kill()
}

// waitSpread waits until every member in members answers, for each of
// connectors, a status with the connector and its clusterTasks tasks in
// state, every worker_id one of members' and each member's on exactly
// perMember tasks in total; it returns the first member's view.
func (h *clusterHarness) waitSpread(t *testing.T, what string, members []*clusterMember, connectors []string, perMember int, state string) clusterView {
	t.Helper()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.workerID
	}
	var first clusterView
	h.waitFor(t, fmt.Sprintf("after %s: %d tasks %s on each of %v", what, perMember, state, ids), func() (bool, string) {
		for i, m := range members {
			v, err := m.view(connectors)
			if err != nil {
				return false, err.Error()
			}
			if ok, detail := v.spread(ids, perMember, state); !ok {
				return false, fmt.Sprintf("%s's view: %s", m.spec.Name, detail)
			}
			if i == 0 {
				first = v
			}
		}
		return true, ""
	})
	return first
}

// mustView returns m's status of seq and sink (seq only when the members
// run no sink).
func (h *clusterHarness) mustView(t *testing.T, m *clusterMember) clusterView {
	t.Helper()
	cs := []string{clusterSeqName}
	if h.spec.Sink {
		cs = connect2()
	}
	v, err := m.view(cs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func connect2() []string { return []string{clusterSeqName, clusterSinkName} }

// put sends PUT url+path and returns the status code and body.
func (h *clusterHarness) put(t *testing.T, m *clusterMember, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, m.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("PUT %s%s: %v", m.url, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// restStatus is GET /connectors/{name}/status.
type restStatus struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"connector"`
	Tasks []struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"tasks"`
}

func (s restStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s on %s;", s.Name, s.Connector.State, s.Connector.WorkerID)
	for _, ts := range s.Tasks {
		fmt.Fprintf(&b, " %d %s on %s", ts.ID, ts.State, ts.WorkerID)
		if ts.Trace != "" {
			fmt.Fprintf(&b, " (%s)", firstLine(ts.Trace))
		}
		b.WriteByte(';')
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// all reports whether the connector and its n tasks (ids 0..n-1) are in
// state.
func (s restStatus) all(state string, n int) bool {
	if s.Connector.State != state || len(s.Tasks) != n {
		return false
	}
	for i, ts := range s.Tasks {
		if ts.ID != i || ts.State != state {
			return false
		}
	}
	return true
}

func (m *clusterMember) get(path string, v any) error {
	resp, err := m.h.http.Get(m.url + path)
	if err != nil {
		return fmt.Errorf("GET %s%s: %w", m.url, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s%s: %w", m.url, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s%s: %d %s", m.url, path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s%s: %w: %s", m.url, path, err, body)
	}
	return nil
}

func (m *clusterMember) status(connector string) (restStatus, error) {
	var s restStatus
	err := m.get("/connectors/"+connector+"/status", &s)
	if err == nil {
		sortTasks(&s)
	}
	return s, err
}

func sortTasks(s *restStatus) {
	slices.SortFunc(s.Tasks, func(a, b struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	}) int {
		return a.ID - b.ID
	})
}

func (m *clusterMember) connectors() ([]string, error) {
	var names []string
	err := m.get("/connectors", &names)
	slices.Sort(names)
	return names, err
}

// view returns m's status of connectors.
func (m *clusterMember) view(connectors []string) (clusterView, error) {
	v := clusterView{}
	for _, c := range connectors {
		s, err := m.status(c)
		if err != nil {
			return nil, err
		}
		v[c] = s
	}
	return v, nil
}

// clusterView is one member's status of the connectors, by name.
type clusterView map[string]restStatus

// spread reports whether every connector and task is in state on one of
// ids, each of ids owning exactly perMember tasks.
func (v clusterView) spread(ids []string, perMember int, state string) (bool, string) {
	count := map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(v)) {
		s := v[name]
		if !s.all(state, clusterTasks) || !slices.Contains(ids, s.Connector.WorkerID) {
			return false, s.String()
		}
		for _, ts := range s.Tasks {
			if !slices.Contains(ids, ts.WorkerID) {
				return false, fmt.Sprintf("task %s-%d on %s, no live member: %s", name, ts.ID, ts.WorkerID, s)
			}
			count[ts.WorkerID]++
		}
	}
	for _, id := range ids {
		if count[id] != perMember {
			return false, fmt.Sprintf("tasks per worker %v, want %d each: %s", count, perMember, v.owners())
		}
	}
	return true, ""
}

// count returns the tasks of connector on worker id.
func (v clusterView) count(connector, id string) int {
	return len(v.tasksOf(connector, id))
}

// tasksOf returns the ids of connector's tasks on worker id.
func (v clusterView) tasksOf(connector, id string) []int {
	var out []int
	for _, ts := range v[connector].Tasks {
		if ts.WorkerID == id {
			out = append(out, ts.ID)
		}
	}
	return out
}

// taskOwners maps "<connector>-<task>" to its worker_id.
func (v clusterView) taskOwners() map[string]string {
	out := map[string]string{}
	for name, s := range v {
		for _, ts := range s.Tasks {
			out[name+"-"+strconv.Itoa(ts.ID)] = ts.WorkerID
		}
	}
	return out
}

// owners describes who runs what.
func (v clusterView) owners() string {
	by := map[string][]string{}
	for task, id := range v.taskOwners() {
		by[id] = append(by[id], task)
	}
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(by)) {
		slices.Sort(by[id])
		parts = append(parts, fmt.Sprintf("%s: %s", id, strings.Join(by[id], " ")))
	}
	return strings.Join(parts, "; ")
}

// --- files and topics ---

// taskEvent is a line of a member's events file.
type taskEvent struct {
	at   time.Time
	what string // start, stop
	task string // <connector>-<task>
}

var eventLine = regexp.MustCompile(`^(\d+) (start|stop) (\S+)$`)

func readEvents(t *testing.T, path string) []taskEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []taskEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := eventLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		ns, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, taskEvent{at: time.Unix(0, ns), what: m[2], task: m[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// outputTally counts the values in the members' sink outputs.
type outputTally struct {
	count map[string]int
	lines int
	dup   int // values written more than once (each extra write)
}

// readOutputs reads every member's output file in dir; a line that is not
// "<part>:<seq> <member>" fails t (a torn line).
func readOutputs(t *testing.T, dir string) outputTally {
	t.Helper()
	o := outputTally{count: map[string]int{}}
	paths, err := filepath.Glob(filepath.Join(dir, "*.out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// A line being written has no newline yet: leave it for the next
		// read.
		if i := strings.LastIndexByte(string(data), '\n'); i >= 0 {
			data = data[:i+1]
		} else {
			continue
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
			v, _, ok := strings.Cut(line, " ")
			if !ok {
				t.Fatalf("%s: torn line %q", p, line)
			}
			o.lines++
			if o.count[v]++; o.count[v] > 1 {
				o.dup++
			}
		}
	}
	return o
}

// seqTally counts "<part>:<seq>" records read from the topic.
type seqTally struct {
	distinct, dup, lost int
	last                map[int]int64 // the largest seq of each part
	// replay is, per part, the longest rewind in log order: how far below
	// the largest seq written so far a record went (0: none). A task that
	// resumes after its last committed offset rewinds at most by what was
	// written but not committed.
	replay map[int]int64
	// rewound is, per part that rewound, the smallest seq written again.
	rewound             map[int]int64
	firstDup, firstLost string
}

// tallySeqs counts records per (part, seq): duplicates, and gaps below
// each part's largest seq. A record on the wrong partition or malformed
// fails t.
func tallySeqs(t *testing.T, msgs []*sarama.ConsumerMessage) seqTally {
	t.Helper()
	seen := map[int]map[int64]int{}
	st := seqTally{last: map[int]int64{}, replay: map[int]int64{}, rewound: map[int]int64{}}
	high := map[int]int64{}
	for _, m := range msgs {
		ps, ss, ok := strings.Cut(string(m.Value), ":")
		part, err1 := strconv.Atoi(ps)
		seq, err2 := strconv.ParseInt(ss, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("record %s/%d@%d: value %q, want <part>:<seq>", m.Topic, m.Partition, m.Offset, m.Value)
		}
		if int32(part) != m.Partition {
			t.Fatalf("record %q on partition %d", m.Value, m.Partition)
		}
		if seen[part] == nil {
			seen[part] = map[int64]int{}
			high[part] = -1
		}
		if seq <= high[part] {
			st.replay[part] = max(st.replay[part], high[part]-seq+1)
			if low, ok := st.rewound[part]; !ok || seq < low {
				st.rewound[part] = seq
			}
		}
		high[part] = max(high[part], seq)
		if seen[part][seq]++; seen[part][seq] > 1 {
			st.dup++
			if st.firstDup == "" {
				st.firstDup = string(m.Value)
			}
		} else {
			st.distinct++
		}
	}
	for _, part := range slices.Sorted(maps.Keys(seen)) {
		last := slices.Max(slices.Collect(maps.Keys(seen[part])))
		st.last[part] = last
		for s := range last {
			if seen[part][s] == 0 {
				st.lost++
				if st.firstLost == "" {
					st.firstLost = fmt.Sprintf("%d:%d", part, s)
				}
			}
		}
	}
	return st
}

// endOffsets returns the end offset of each partition of topic.
func endOffsets(t *testing.T, addrs []string, topic string) map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient(addrs, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	out := map[int32]int64{}
	for p := range int32(clusterTasks) {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, p, err)
		}
		out[p] = off
	}
	return out
}

// committedSeqs reads seq's committed offsets in the offsets topic (-1:
// none).
func committedSeqs(t *testing.T, addrs []string, topic string) []int64 {
	t.Helper()
	store, err := offsets.NewKafkaStore(context.Background(), offsets.KafkaStoreConfig{
		Brokers: addrs, Topic: topic, Sarama: kafkatest.SaramaConfig(t), Partitions: 5, ReplicationFactor: 1})
	if err != nil {
		t.Fatalf("opening the offsets topic %s: %v", topic, err)
	}
	defer store.Close()
	out := make([]int64, clusterTasks)
	for i := range clusterTasks {
		out[i] = -1
		off, err := store.Get(context.Background(), clusterSeqName, seqSourcePartition(i))
		if err != nil {
			t.Fatal(err)
		}
		if seq, ok := off["seq"].(int64); ok {
			out[i] = seq
		}
	}
	return out
}

// waitUntilDone polls cond every 200 ms for at most d.
func waitUntilDone(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitTxnOpen polls until one of parts of topic has a transaction open
// (its last stable offset below its high watermark) and reports true, or
// false after d. A failed request counts as none open.
func waitTxnOpen(t *testing.T, addrs []string, topic string, parts []int32, d time.Duration) bool {
	t.Helper()
	client, err := sarama.NewClient(addrs, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	end := func(p int32, isolation sarama.IsolationLevel) (int64, error) {
		leader, err := client.Leader(topic, p)
		if err != nil {
			return 0, err
		}
		req := sarama.NewOffsetRequest(client.Config().Version)
		req.IsolationLevel = isolation
		req.AddBlock(topic, p, sarama.OffsetNewest, 1)
		resp, err := leader.GetAvailableOffsets(req)
		if err != nil {
			return 0, err
		}
		b := resp.GetBlock(topic, p)
		if b == nil || !errors.Is(b.Err, sarama.ErrNoError) {
			return 0, fmt.Errorf("no end offset for %s/%d", topic, p)
		}
		return b.Offset, nil
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, p := range parts {
			hwm, err := end(p, sarama.ReadUncommitted)
			if err != nil {
				return false
			}
			lso, err := end(p, sarama.ReadCommitted)
			if err != nil {
				return false
			}
			if lso < hwm {
				return true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
