package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Harness is a running Kafka Connect harness (java/ConnectDiff.java in a
// JVM). Requests are answered in order; a Harness is safe for use by one
// goroutine at a time.
type Harness struct {
	cmd *exec.Cmd
	// killed is set when Do gave up on an unanswered batch and killed
	// the JVM.
	killed atomic.Bool
	stdin  io.WriteCloser
	w      *bufio.Writer
	r      *bufio.Reader
	stderr *tailBuffer
}

// PackageDir is this package's source directory (java/ and testdata/ are
// found from it).
func PackageDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// StartHarness compiles (once, cached) and starts the Kafka Connect harness
// with java/run.sh, which fetches Kafka Connect's jars with Maven when
// bench/kafka-connect/lib lacks them. It fails when Java or the jars cannot be
// had.
func StartHarness(ctx context.Context) (*Harness, error) {
	script := filepath.Join(PackageDir(), "java", "run.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = filepath.Join(PackageDir(), "..", "..")
	// run.sh execs java, so the JVM is this process: cancelling ctx,
	// a batch that is never answered and the test's own death all kill it.
	cmd.WaitDelay = 10 * time.Second
	setDeathSignal(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stderr = io.MultiWriter(tail, harnessLog())
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Kafka Connect harness: %w", err)
	}
	h := &Harness{cmd: cmd, stdin: stdin, w: bufio.NewWriterSize(stdin, 1<<16), r: bufio.NewReaderSize(stdout, 1<<20), stderr: tail}
	// A first request proves the JVM and the classes are there.
	resp, err := h.Do([]*Request{{ID: "ping", Op: OpPredicate,
		Class:  "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
		Config: map[string]string{}, Record: &Record{Topic: "t"}}})
	if err == nil && resp[0].HarnessError != "" {
		err = fmt.Errorf("the Kafka Connect harness: %s", resp[0].HarnessError)
	}
	if err != nil {
		_ = h.Close()
		return nil, err
	}
	return h, nil
}

func harnessLog() io.Writer {
	if os.Getenv("SLUICE_CONFORMANCE_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// batchTimeout is how long the JVM may take to answer a batch of n
// requests before Do kills it: far more than Kafka Connect needs (about
// 0.3 ms a case), so only a hang (a pathological regular expression, a
// deadlock) reaches it.
func batchTimeout(n int) time.Duration { return 2*time.Minute + time.Duration(n)*20*time.Millisecond }

// Do sends reqs and returns Kafka Connect's responses, in order. A
// response may carry a HarnessError (a request the harness could not run);
// the error is for a harness that stopped answering.
func (h *Harness) Do(reqs []*Request) ([]*Response, error) {
	errc := make(chan error, 1)
	go func() {
		enc := json.NewEncoder(h.w)
		enc.SetEscapeHTML(false)
		for _, r := range reqs {
			if err := enc.Encode(r); err != nil {
				errc <- err
				return
			}
		}
		errc <- h.w.Flush()
	}()
	timer := time.AfterFunc(batchTimeout(len(reqs)), func() {
		h.killed.Store(true)
		_ = h.cmd.Process.Kill()
	})
	defer timer.Stop()
	out := make([]*Response, 0, len(reqs))
	var readErr error
	for range reqs {
		line, err := h.r.ReadBytes('\n')
		if err != nil {
			if h.killed.Load() {
				err = fmt.Errorf("no answer within %v, killed: %w", batchTimeout(len(reqs)), err)
			}
			readErr = fmt.Errorf("the Kafka Connect harness: %w (stderr: %s)", err, h.stderr.String())
			break
		}
		var resp Response
		if err := json.Unmarshal(line, &resp); err != nil {
			readErr = fmt.Errorf("the Kafka Connect harness wrote %q: %w", line, err)
			break
		}
		out = append(out, &resp)
	}
	if readErr != nil {
		_ = h.Close()
		<-errc
		return nil, readErr
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	for i, r := range out {
		if r.ID != reqs[i].ID {
			return nil, fmt.Errorf("the Kafka Connect harness answered %q to %q", r.ID, reqs[i].ID)
		}
	}
	return out, nil
}

// Close ends the harness: the JVM exits at the end of its input. An exit
// other than that (a crash) is an error, unless Do killed it.
func (h *Harness) Close() error {
	_ = h.stdin.Close()
	err := h.cmd.Wait()
	if err != nil && h.killed.Load() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the Kafka Connect harness: %w (stderr: %s)", err, h.stderr.String())
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
