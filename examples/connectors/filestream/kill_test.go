package filestream

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

// The kill helper: the test binary, run with killHelperEnv set to
// "<output file>,<state file>,<records>", is a process that writes records
// up to number records-1 through a SinkTask as a sink pipeline would: Put in
// batches, Flush every few batches, and after each Flush "commit" the next
// record number to the state file. Started again, it resumes from the
// committed number, so records since the last commit are written again (at
// least once), as after a real sink's crash. With records -1 it writes
// until it is killed (at most killRunCap records, then it waits).
const killHelperEnv = "FILESTREAM_SINK_KILL_HELPER"

// Shape of the helper's writes.
const (
	killBatch       = 300 // records per Put
	killFlushEvery  = 4   // Puts per Flush and commit
	killMaxPayload  = 400 // bytes of a record's payload, at most
	killPauseEveryN = 2   // Puts between pauses, so that a kill finds the helper at any point
	killRunCap      = 100_000
)

// killRecord is record n's line (without "\n"): its number, the length of
// its payload, the payload and a closing "|", so that a torn line, or two
// lines run together, do not parse.
func killRecord(n int) string {
	size := (n * 7919) % killMaxPayload
	return fmt.Sprintf("%09d %03d %s|", n, size, strings.Repeat(string(rune('a'+n%26)), size))
}

// parseKillRecord returns the number of a line written by killRecord, or
// false if the line is not exactly such a line.
func parseKillRecord(line string) (int, bool) {
	if len(line) < 15 || line[9] != ' ' || line[13] != ' ' {
		return 0, false
	}
	n, err := strconv.Atoi(line[:9])
	if err != nil || n < 0 {
		return 0, false
	}
	return n, line == killRecord(n)
}

// sinkKillHelper is the helper process's main; it returns the exit status.
func sinkKillHelper() int {
	args := strings.Split(os.Getenv(killHelperEnv), ",")
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "kill helper: want <output>,<state>,<records>")
		return 2
	}
	out, state := args[0], args[1]
	total, err := strconv.Atoi(args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kill helper:", err)
		return 2
	}
	untilKilled := total < 0
	next := 0
	if b, err := os.ReadFile(state); err == nil {
		if next, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			fmt.Fprintln(os.Stderr, "kill helper: state:", err)
			return 2
		}
	}
	ctx := context.Background()
	task := &SinkTask{Logger: testLogger()}
	if err := task.Start(ctx, sluicetest.NewSinkTaskContext(map[string]string{FileConfig: out})); err != nil {
		fmt.Fprintln(os.Stderr, "kill helper:", err)
		return 1
	}
	fmt.Println("started") // the test kills only once the task has started
	commit := func(n int) error {
		if err := task.Flush(ctx, nil); err != nil {
			return err
		}
		tmp := state + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, state)
	}
	if untilKilled {
		total = next + killRunCap
	}
	batch := make([]any, 0, killBatch)
	for puts := 1; next < total; puts++ {
		batch = batch[:0]
		for ; len(batch) < killBatch && next < total; next++ {
			batch = append(batch, killRecord(next))
		}
		if err := task.Put(ctx, values(batch...)); err != nil {
			fmt.Fprintln(os.Stderr, "kill helper:", err)
			return 1
		}
		if puts%killFlushEvery == 0 {
			if err := commit(next); err != nil {
				fmt.Fprintln(os.Stderr, "kill helper:", err)
				return 1
			}
		}
		if puts%killPauseEveryN == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if untilKilled {
		if err := commit(next); err != nil {
			fmt.Fprintln(os.Stderr, "kill helper:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "kill helper: wrote", killRunCap, "records; waiting to be killed")
		select {}
	}
	if err := task.Stop(ctx); err != nil { // flushes
		fmt.Fprintln(os.Stderr, "kill helper:", err)
		return 1
	}
	if err := os.WriteFile(state, []byte(strconv.Itoa(next)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "kill helper:", err)
		return 1
	}
	return 0
}

// TestSinkSurvivesSIGKILL: a process writing through the sink is killed
// with SIGKILL at random moments, ten times, and started again each time;
// then it runs to the end. The output holds only whole lines (a torn last
// line left by a kill is trimmed by the next start), every record is in it,
// in order apart from the replays of records written since the last commit
// (at least once), and each replay starts at a committed record.
func TestSinkSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, state := filepath.Join(dir, "out.txt"), filepath.Join(dir, "state")
	const kills = 10
	helper := func(total int) *exec.Cmd {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%d", killHelperEnv, out, state, total))
		cmd.Stderr = os.Stderr
		return cmd
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	tornAfterKill := 0
	for i := range kills {
		cmd := helper(-1)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "started\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("kill %d: the helper did not start (stdout %q)", i+1, line)
		}
		time.Sleep(time.Duration(rng.IntN(150_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: the helper ended before the kill: %v", i+1, err)
		}
		if b, _ := os.ReadFile(out); len(b) > 0 && b[len(b)-1] != '\n' {
			tornAfterKill++
		}
	}
	// The last run completes what the killed ones wrote, and more.
	written, _ := os.ReadFile(out)
	total := 1000
	for line := range bytes.Lines(written) {
		if n, ok := parseKillRecord(string(bytes.TrimSuffix(line, []byte("\n")))); ok {
			total = max(total, n+1000)
		}
	}
	if b, err := helper(total).Output(); err != nil {
		t.Fatalf("final run: %v (stdout %q)", err, b)
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("the output does not end with a newline")
	}
	seen := make([]bool, total)
	prev, lines, replays, duplicates := -1, 0, 0, 0
	for line := range bytes.Lines(data) {
		lines++
		n, ok := parseKillRecord(string(bytes.TrimSuffix(line, []byte("\n"))))
		if !ok || n >= total {
			t.Fatalf("line %d is torn or garbled: %q", lines, trunc(string(line)))
		}
		switch {
		case n == prev+1:
		case n <= prev && n%(killBatch*killFlushEvery) == 0:
			replays++ // a restart resumes at a committed record
		default:
			t.Fatalf("line %d: record %d follows record %d: neither the next one nor a replay from a commit", lines, n, prev)
		}
		if seen[n] {
			duplicates++
		}
		seen[n] = true
		prev = n
	}
	for n, ok := range seen {
		if !ok {
			t.Fatalf("record %d is missing", n)
		}
	}
	if prev != total-1 {
		t.Fatalf("the output ends at record %d, want %d", prev, total-1)
	}
	t.Logf("%d kills: %d lines, %d records, %d written again in %d replays; %d kills left a torn last line (trimmed at the next start)",
		kills, lines, total, duplicates, replays, tornAfterKill)
}
