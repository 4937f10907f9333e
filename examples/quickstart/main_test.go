package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

func TestMain(m *testing.M) {
	// sarama's producer may open a circuit breaker whose timer goroutine
	// sleeps 10 s and exits by itself; it cannot be stopped.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}

// syncBuffer is a bytes.Buffer safe for run's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// number returns the integer captured by re's first group in out.
func number(t *testing.T, out, re string) int64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output does not match %q:\n%s", re, out)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countLines(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(bytes.Count(b, []byte("\n")))
}

// checkSummary checks what every run must report: the malformed records in
// the dead-letter queue, the file holding exactly what the sink wrote, and
// the consumer group committed up to everything the sink read.
func checkSummary(t *testing.T, out, outFile string) (written int64) {
	t.Helper()
	malformed := int64(len(legacyPayloads))
	if got := number(t, out, `holds (\d+) records`); got != malformed {
		t.Errorf("DLQ holds %d records, want %d", got, malformed)
	}
	if got := number(t, out, `(\d+) failed and sent to the dead-letter queue`); got != malformed {
		t.Errorf("sink skipped %d records, want %d", got, malformed)
	}
	if !strings.Contains(out, "__connect.errors.stage = VALUE_CONVERTER") {
		t.Errorf("no DLQ context headers in the summary:\n%s", out)
	}
	written = number(t, out, `(\d+) written to the file`)
	if got := countLines(t, outFile); got != written {
		t.Errorf("%s has %d lines, the summary says %d", outFile, got, written)
	}
	read := number(t, out, `(\d+) records read`)
	if got := number(t, out, `committed: \S+-0 → (\d+)`); got != read {
		t.Errorf("committed consumer offset %d, want %d (every record read)", got, read)
	}
	return written
}

func TestQuickstartFixedVolume(t *testing.T) {
	// run uses KAFKA_BOOTSTRAP_SERVERS: the test bed's broker (an
	// in-process one, or CI's Apache Kafka).
	t.Setenv("KAFKA_BOOTSTRAP_SERVERS", strings.Join(sluicetest.Brokers(t), ","))
	const records = 1000
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	if err := run(ctx, []string{"-records", strconv.Itoa(records), "-rate", "0", "-out", dir}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	written := checkSummary(t, s, filepath.Join(dir, "orders.jsonl"))
	if want := int64(records - records/testEvery); written != want {
		t.Errorf("%d orders written, want %d (%d generated, %d test orders filtered)", written, want, records, records/testEvery)
	}
	if got := number(t, s, `committed: \S+-0 → (\d+)`); got != records+int64(len(legacyPayloads)) {
		t.Errorf("committed consumer offset %d, want the end of the topic, %d", got, records+len(legacyPayloads))
	}
	if got := number(t, s, `\{generator=orders\} → \{seq=(\d+)\}`); got != records-1 {
		t.Errorf("committed source offset seq=%d, want %d", got, records-1)
	}
	if !strings.Contains(s, `"pipeline":"quickstart"`) {
		t.Errorf("InsertField's field missing from the first output line:\n%s", s)
	}
}

func TestQuickstartFollowStopsGracefully(t *testing.T) {
	t.Setenv("KAFKA_BOOTSTRAP_SERVERS", "") // run starts its in-process broker
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-follow", "-rate", "2000", "-out", dir}, &out) }()
	// Stop (as Ctrl-C does) once a progress line shows every malformed
	// record dead-lettered.
	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), " 5 dead-lettered") {
		select {
		case err := <-done:
			t.Fatalf("run returned before being stopped: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("no progress within a minute:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30 s of the interrupt")
	}
	s := out.String()
	if !strings.Contains(s, "Interrupted: stopping gracefully.") {
		t.Errorf("no interruption notice:\n%s", s)
	}
	if written := checkSummary(t, s, filepath.Join(dir, "orders.jsonl")); written == 0 {
		t.Errorf("nothing written:\n%s", s)
	}
}
