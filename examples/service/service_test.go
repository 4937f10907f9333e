package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/offsets"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// buildService builds the service binary into a temporary directory.
func buildService(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "service")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// eventually polls cond every 50 ms until it returns "" (success) or the
// timeout passes; it then fails t with cond's last message.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body), err
}

// TestGracefulStop runs the service binary against the test broker, lets
// records flow, sends SIGTERM and checks a clean exit with every offset
// committed: the generator's committed number is the last one in the topic,
// and the sink's file holds exactly the records its consumer group
// committed.
func TestGracefulStop(t *testing.T) {
	brokers := sluicetest.Brokers(t) // an in-process broker listens on TCP: the child process reaches it
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	bin := buildService(t)
	dir := t.TempDir()
	offsetsFile, out := filepath.Join(dir, "offsets.json"), filepath.Join(dir, "out.txt")

	var stdout, stderr syncBuffer
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-brokers", strings.Join(brokers, ","), "-topic", topic,
		"-offsets", offsetsFile, "-out", out, "-rate", "1000", "-flush", "500ms")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// wait waits up to timeout for the process to exit; done is false if
	// it is still running, err its exit error.
	var exitErr error
	var waited bool
	wait := func(timeout time.Duration) (done bool, err error) {
		if !waited {
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			select {
			case exitErr = <-exited:
				waited = true
			case <-timer.C:
				return false, nil
			}
		}
		return true, exitErr
	}
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_, _ = wait(30 * time.Second)
		}
		if t.Failed() {
			t.Logf("service stdout:\n%s\nservice stderr:\n%s", stdout.String(), stderr.String())
		}
	})

	var base string
	addrLine := regexp.MustCompile(`listening on (http://\S+)`)
	eventually(t, 30*time.Second, func() string {
		if m := addrLine.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			return ""
		}
		if done, err := wait(0); done {
			t.Fatalf("the service exited: %v", err)
		}
		return "no listening line on stdout"
	})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	gen, snk := topic+"-generator", topic+"-sink"
	for _, name := range []string{gen, snk} {
		eventually(t, 30*time.Second, func() string {
			body, err := get(client, base+"/connectors/"+name+"/status")
			if err != nil {
				return err.Error()
			}
			var st struct {
				Connector struct{ State string }
				Tasks     []struct{ State string }
			}
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				return err.Error()
			}
			if st.Connector.State != "RUNNING" || len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" {
				return "status " + body
			}
			return ""
		})
	}
	// Records flow: the sink wrote some, and the metrics count them.
	eventually(t, 30*time.Second, func() string {
		data, _ := os.ReadFile(out)
		if n := bytes.Count(data, []byte("\n")); n < 500 {
			return fmt.Sprintf("the sink wrote %d lines", n)
		}
		return ""
	})
	metrics, err := get(client, base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{
		`source_record_poll_total{connector="` + gen + `",task="0"}`,
		`sink_record_send_total{connector="` + snk + `",task="0"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics has no %s", m)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if done, err := wait(60 * time.Second); !done || err != nil {
		t.Fatalf("after SIGTERM: exited %v, %v (want exit status 0)", done, err)
	}

	// The generator's committed offset: the last number in the topic.
	store, err := offsets.NewFileStore(offsetsFile)
	if err != nil {
		t.Fatal(err)
	}
	off, err := store.Get(context.Background(), gen, map[string]any{"sequence": topic})
	store.Close()
	if err != nil || off == nil {
		t.Fatalf("committed offset %v, %v", off, err)
	}
	committed := off["n"].(int64)
	if want := fmt.Sprintf(`committed source offset: %s {"sequence":%q} {"n":%d}`, gen, topic, committed); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout does not say %q", want)
	}
	values := topicValues(t, brokers, topic)
	if int64(len(values)) != committed+1 {
		t.Errorf("the topic holds %d records, the committed offset is n=%d: want %d records", len(values), committed, committed+1)
	}
	for i, v := range values {
		if v != strconv.Itoa(i) {
			t.Fatalf("record %d of the topic is %q, want %d", i, v, i)
		}
	}

	// The sink's committed offset: what its file holds.
	sinkCommitted := groupOffset(t, brokers, "connect-"+snk, topic)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range sinkCommitted {
		fmt.Fprintf(&want, "%d\n", i)
	}
	if string(data) != want.String() {
		t.Errorf("the sink's file has %d lines, its group committed offset %d: want lines 0..%d", bytes.Count(data, []byte("\n")), sinkCommitted, sinkCommitted-1)
	}
	if sinkCommitted < 500 || sinkCommitted > int64(len(values)) {
		t.Errorf("sink committed offset %d, topic has %d records", sinkCommitted, len(values))
	}
	t.Logf("source committed n=%d (%d records in the topic); sink committed %d", committed, len(values), sinkCommitted)
}

// topicValues returns the values of partition 0 of topic.
func topicValues(t *testing.T, brokers []string, topic string) []string {
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
	if end == 0 {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, string(m.Value))
			if m.Offset+1 >= end {
				return out
			}
		case err := <-pc.Errors():
			t.Fatal(err)
		case <-timeout:
			t.Fatalf("reading %s: timed out after %d records", topic, len(out))
		}
	}
}

// groupOffset returns the offset group committed for partition 0 of topic.
func groupOffset(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0}})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.GetBlock(topic, 0)
	if b == nil || !errors.Is(b.Err, sarama.ErrNoError) {
		t.Fatalf("group %s: no committed offset for %s/0 (%v)", group, topic, b)
	}
	return b.Offset
}
