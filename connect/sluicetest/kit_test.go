package sluicetest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

// TestKitWellBehavedSource runs the source suite against a well-behaved
// task: every check passes.
func TestKitWellBehavedSource(t *testing.T) {
	if os.Getenv(envBroken) != "" {
		t.Skip("child process")
	}
	sluicetest.TestSourceTask(t, sluicetest.SourceFeatures{}, sourceDriver())
}

// TestKitWellBehavedSink runs the sink suite against a well-behaved task:
// every check passes.
func TestKitWellBehavedSink(t *testing.T) {
	if os.Getenv(envBroken) != "" {
		t.Skip("child process")
	}
	sluicetest.TestSinkTask(t, sluicetest.SinkFeatures{}, sinkDriver())
}

// envFeatures lists, comma separated, the Features flags the child
// processes set: no-offsets, no-pipeline, duplicates.
const envFeatures = "SLUICETEST_FEATURES"

// TestKitChild runs a suite against a broken task, in the child processes
// of TestKitCatchesBrokenTasks only.
func TestKitChild(t *testing.T) {
	mode := os.Getenv(envBroken)
	features := map[string]bool{}
	for _, f := range strings.Split(os.Getenv(envFeatures), ",") {
		features[f] = true
	}
	switch {
	case mode == "":
		t.Skip("runs only as a child of TestKitCatchesBrokenTasks")
	case strings.HasPrefix(mode, "source-"):
		sluicetest.TestSourceTask(t, sluicetest.SourceFeatures{
			NoOffsets:  features["no-offsets"],
			NoPipeline: features["no-pipeline"],
		}, sourceDriver())
	default:
		sluicetest.TestSinkTask(t, sluicetest.SinkFeatures{
			Duplicates: features["duplicates"],
			NoPipeline: features["no-pipeline"],
		}, sinkDriver())
	}
}

// TestKitCatchesBrokenTasks checks that each check of the suites fails
// for a task that breaks the contract it checks: it runs that check alone,
// against the broken task, in a child process (so the failure does not
// fail this test) and expects the check's subtest to fail.
func TestKitCatchesBrokenTasks(t *testing.T) {
	if os.Getenv(envBroken) != "" {
		t.Skip("child process")
	}
	cases := []struct{ mode, check string }{
		{"source-stop-twice", "StartStop"},
		{"source-stop-unstarted", "StartStop"},
		{"source-poll-ignores-ctx", "PollReturnsOnCancel"},
		{"source-leak", "NoGoroutineLeak"},
		{"source-no-resume", "ResumeAfterRestart"},
		{"source-fatal-outage", "Retriable"},
		{"sink-stop-twice", "StartStop"},
		{"sink-stop-unstarted", "StartStop"},
		{"sink-put-ignores-ctx", "PutReturnsOnCancel"},
		{"sink-leak", "NoGoroutineLeak"},
		{"sink-no-commit", "ResumeAfterRestart"},
		{"sink-batch-whole", "BatchError"},
		{"sink-batch-wrong-index", "BatchError"},
		{"sink-fatal-outage", "Retriable"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKitChild$/^"+c.check+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envBroken+"="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a task with %s:\n%s", c.mode, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestKitChild/"+c.check+" ") {
				t.Fatalf("check %s did not fail for a task with %s:\n%s", c.check, c.mode, out)
			}
			t.Logf("%s fails %s as it should:\n%s", c.mode, c.check, failLines(string(out)))
		})
	}
}

// TestKitRetryInsideCall checks that the Retriable checks pass a
// well-behaved task that retries inside Poll or Put through the outage
// (honouring its context) instead of returning connect.Retriable errors:
// it runs the check alone, in a child process, against such a task, and
// expects it to pass having exercised that path.
func TestKitRetryInsideCall(t *testing.T) {
	if os.Getenv(envBroken) != "" {
		t.Skip("child process")
	}
	for _, c := range []struct{ mode, marker string }{
		{"source-retry-in-poll", "memSource: the outage ended while Poll retried inside"},
		{"sink-retry-in-put", "memSink: the outage ended while Put retried inside"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKitChild$/^Retriable$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envBroken+"="+c.mode)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestKitChild/Retriable ") {
				t.Fatalf("Retriable did not pass a task that retries inside the call (%s): %v\n%s", c.mode, err, out)
			}
			if !strings.Contains(string(out), c.marker) {
				t.Fatalf("the task never retried inside the call through the outage (%s):\n%s", c.mode, out)
			}
		})
	}
}

// TestKitFeatures checks that the Features flags switch off exactly the
// checks they name: a task that breaks a check passes it once the flag
// says it does not support what the check needs (the check is skipped or
// relaxed), and fails it without the flag.
func TestKitFeatures(t *testing.T) {
	if os.Getenv(envBroken) != "" {
		t.Skip("child process")
	}
	cases := []struct {
		mode, check, features string
		pass                  bool
	}{
		{"source-no-resume", "ResumeAfterRestart", "no-offsets", true},
		{"source-no-resume", "ResumeAfterRestart", "no-pipeline", true},
		{"source-fatal-outage", "Retriable", "no-pipeline", true},
		{"sink-no-commit", "ResumeAfterRestart", "no-pipeline", true},
		{"sink-batch-whole", "BatchError", "no-pipeline", true},
		{"sink-write-twice", "ResumeAfterRestart", "", false},
		{"sink-write-twice", "ResumeAfterRestart", "duplicates", true},
		// Duplicates relaxes ResumeAfterRestart to "no record lost": an
		// at-least-once sink's replays are expected, and a sink that commits
		// nothing loses nothing either.
		{"sink-at-least-once", "ResumeAfterRestart", "", false},
		{"sink-at-least-once", "ResumeAfterRestart", "duplicates", true},
		{"sink-no-commit", "ResumeAfterRestart", "duplicates", true},
	}
	for _, c := range cases {
		t.Run(c.mode+"/"+c.features, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKitChild$/^"+c.check+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envBroken+"="+c.mode, envFeatures+"="+c.features)
			out, err := cmd.CombinedOutput()
			switch {
			case c.pass && err != nil:
				t.Fatalf("%s failed for a task with %s despite features %q:\n%s", c.check, c.mode, c.features, out)
			case !c.pass && !strings.Contains(string(out), "--- FAIL: TestKitChild/"+c.check+" "):
				t.Fatalf("%s did not fail for a task with %s with features %q:\n%s", c.check, c.mode, c.features, out)
			}
		})
	}
}

// failLines returns the lines of a child's output that say why it failed.
func failLines(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, ".go:") || strings.Contains(l, "--- FAIL") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
