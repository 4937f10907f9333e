package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

// asWorkerEnv, set in the environment, makes the test binary run as the
// standalone command (see TestMain).
const asWorkerEnv = "STANDALONE_TEST_AS_WORKER"

// TestSourceOffsetsSurviveSIGKILL: a worker running the FileStream source
// is killed with SIGKILL six times while its input file grows, each time at
// a random moment after it committed offsets of its own, and started again
// with the same worker file; then a last worker copies the rest and stops
// gracefully. With either offset store (file, topic):
//   - every line reaches the topic, and after the graceful stop the
//     committed position is the end of the file;
//   - every restart resumes exactly from an offset committed before the
//     kill, so a killed worker's committed offsets survive it (a restart
//     that began from the start of the file, or from an older offset,
//     fails the test); records since that commit are sent again (at least
//     once), and counted.
func TestSourceOffsetsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	for _, store := range []string{"file", "topic"} {
		t.Run(store, func(t *testing.T) { testSourceOffsetsSurviveSIGKILL(t, store) })
	}
}

func testSourceOffsetsSurviveSIGKILL(t *testing.T, store string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil) // one partition: the records stay in order
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	storeProps := []string{"offset.storage.file.filename=" + filepath.Join(dir, "connect.offsets")}
	offsetsTopic := ""
	if store == "topic" {
		offsetsTopic = sluicetest.Topic(t)
		// Created here, compacted: reading it before the worker creates it
		// would auto-create it otherwise.
		compact := "compact"
		sluicetest.CreateTopic(t, brokers, offsetsTopic, 1, map[string]*string{"cleanup.policy": &compact})
		storeProps = []string{"offset.storage.topic=" + offsetsTopic, "offset.storage.partitions=1", "offset.storage.replication.factor=1"}
	}
	worker := writeFile(t, dir, "worker.properties", append(workerProps(brokers, "offset.flush.interval.ms=100", "listeners="), storeProps...)...)
	source := writeFile(t, dir, "source.properties",
		"name=file-source", "connector.class=FileStreamSource", "file="+in, "topic="+topic, "batch.size=500")
	// committed returns the committed positions in order, from 0 (the
	// last one is the latest); for the file store only the current one.
	committed := func() []int64 {
		t.Helper()
		if store == "file" {
			// Written by rename: never seen half-written.
			return []int64{filePosition(t, filepath.Join(dir, "connect.offsets"))}
		}
		out := []int64{0} // nothing committed yet
		key := `["file-source",{"filename":` + jsonString(in) + `}]`
		for _, r := range readTopic(t, brokers, offsetsTopic) {
			if string(r.key) == key {
				out = append(out, positionOf(t, r.value))
			}
		}
		return out
	}

	const kills = 6
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	var input []byte
	total := 0 // lines in the input file
	grow := func(n int) {
		more := lines(total, total+n)
		appendTo(t, in, more)
		input = append(input, more...)
		total += n
	}
	// atKill[i] is the position committed when kill i+1 happened: run i+2
	// must resume from it (or, with the topic store, whose last write may
	// land just after the kill, from a later committed one).
	var atKill []int64
	for i := range kills {
		grow(20_000) // more than a run copies before its first commit, usually
		before := endOffset(t, brokers, topic)
		last := int64(0)
		if i > 0 {
			last = atKill[i-1]
		}
		w := startWorkerProcess(t, exe, worker, source)
		// The input grows while the worker runs. Kill only once this run
		// has committed offsets of its own (the store must hold them while
		// the worker runs, not only at a graceful stop), at a random moment
		// after that.
		w.waitFor(t, fmt.Sprintf("run %d to produce and commit", i+1), func() bool {
			grow(300)
			c := committed()
			return endOffset(t, brokers, topic) > before && c[len(c)-1] > last
		})
		for range rng.IntN(6) {
			grow(300)
			time.Sleep(20 * time.Millisecond)
		}
		w.signal(t, syscall.SIGKILL)
		if ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d ended before the kill: %v\n%s", i+1, w.cmd.ProcessState, w.stderr)
		}
		c := committed()
		atKill = append(atKill, c[len(c)-1])
	}

	// The last run copies the rest and stops gracefully.
	grow(2000)
	w := startWorkerProcess(t, exe, worker, source)
	seenAll := func() bool {
		seen := make([]bool, total)
		n := 0
		for _, r := range readTopic(t, brokers, topic) {
			if k := lineNumber(t, r.value); !seen[k] {
				seen[k] = true
				n++
			}
		}
		return n == total
	}
	w.waitFor(t, "every line in the topic", seenAll)
	w.signal(t, syscall.SIGTERM)
	if w.err != nil {
		t.Fatalf("graceful stop: %v\n%s", w.err, w.stderr)
	}
	history := committed()
	if last := history[len(history)-1]; last != int64(len(input)) {
		t.Fatalf("committed position after the graceful stop: %d, want the end of the file, %d", last, len(input))
	}

	// lineAt maps the position where a line starts to its number.
	lineAt := map[int64]int{}
	var pos int64
	for k, l := range bytes.SplitAfter(input, []byte("\n")) {
		lineAt[pos] = k
		pos += int64(len(l))
	}
	// Each restart shows in the topic as a record whose line is not the
	// one after the previous record's: it must be the line at a position
	// committed by the kill before it.
	allowed := func(kill int, line int) bool {
		if store == "file" {
			return lineAt[atKill[kill]] == line
		}
		for _, p := range history {
			if p >= atKill[kill] && lineAt[p] == line {
				return true
			}
		}
		return false
	}
	recs := readTopic(t, brokers, topic)
	prev, kill, restarts, replayed := -1, -1, 0, 0
	for off, r := range recs {
		k := lineNumber(t, r.value)
		if k != prev+1 {
			matched := false
			for i := kill + 1; i < len(atKill); i++ {
				if allowed(i, k) {
					kill, matched = i, true
					break
				}
			}
			if !matched {
				t.Fatalf("topic offset %d: line %d follows line %d, but no restart after kill %d may resume there (committed at the kills: %v)",
					off, k, prev, kill+1, atKill)
			}
			restarts++
			replayed += prev + 1 - k
		}
		prev = k
	}
	t.Logf("%s store: %d kills, %d records for %d lines, %d restarts replayed %d records; committed at the kills: %v",
		store, kills, len(recs), total, restarts, replayed, atKill)
}

// workerProcess is the test binary run as the standalone command.
type workerProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed once the process exited and was waited for
	err    error         // Wait's result, once done is closed
}

// startWorkerProcess runs the test binary as the standalone command on the
// given files; its standard error is kept. Cleanup kills it if it still
// runs.
func startWorkerProcess(t *testing.T, exe string, files ...string) *workerProcess {
	t.Helper()
	p := &workerProcess{cmd: exec.Command(exe, files...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), asWorkerEnv+"=1")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// signal sends sig and waits until the process exited.
func (p *workerProcess) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the worker did not exit within 90 s of %v\n%s", sig, p.stderr)
	}
}

// waitFor polls cond until it holds; it fails t after a generous deadline or
// when the worker process exits first.
func (p *workerProcess) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("waiting for %s: the worker exited (%v)\n%s", what, p.err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endOffset returns the end offset of partition 0 of topic.
func endOffset(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// lineNumber returns k of a record whose value is lines' line k.
func lineNumber(t *testing.T, value []byte) int {
	t.Helper()
	var k int
	if _, err := fmt.Sscanf(string(value), "line %06d", &k); err != nil {
		t.Fatalf("record %q is not a line of the input: %v", value, err)
	}
	return k
}

// filePosition returns the committed position in the offsets file (0 if
// there is none yet).
func filePosition(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Entries []struct{ Key, Value string }
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("offsets file after a kill: %v:\n%s", err, data)
	}
	if len(doc.Entries) == 0 {
		return 0
	}
	if len(doc.Entries) != 1 {
		t.Fatalf("offsets file holds %d entries, want 1:\n%s", len(doc.Entries), data)
	}
	return positionOf(t, []byte(doc.Entries[0].Value))
}

func positionOf(t *testing.T, value []byte) int64 {
	t.Helper()
	var v struct{ Position *int64 }
	if err := json.Unmarshal(value, &v); err != nil || v.Position == nil {
		t.Fatalf("offset %q: no position (%v)", value, err)
	}
	return *v.Position
}
