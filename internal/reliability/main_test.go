package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables the suite reads (see the package documentation).
const (
	envMode    = "SLUICE_RELIABILITY"
	envConnect = "SLUICE_RELIABILITY_CONNECT"
	envTable   = "SLUICE_RELIABILITY_TABLE"
	envWorker  = "SLUICE_RELIABILITY_WORKER"
)

// suiteState is what the whole test binary shares: its work directory,
// the worker binary, the suite's own Apache Kafka broker and the figures.
var suite struct {
	mu       sync.Mutex
	work     string   // temporary directory removed at exit, made on first use
	cleanups []func() // run last-in first-out at exit

	buildOnce sync.Once
	workerBin string
	buildErr  error

	results []result
}

// TestMain runs the tests, then what they registered with atExit (the
// suite's broker is stopped there), prints the table of figures and removes
// the work directory (kept after a failure with SLUICE_RELIABILITY_KEEP=1).
// It is the test binary's TestMain for the in-process scenarios of package
// reliability_test too: that package must not declare one of its own.
func TestMain(m *testing.M) {
	code := m.Run()
	suite.mu.Lock()
	fns := suite.cleanups
	suite.cleanups = nil
	work := suite.work
	suite.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	printTable()
	if work != "" {
		if code == 0 || os.Getenv("SLUICE_RELIABILITY_KEEP") == "" {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "reliability: work directory kept: %s\n", work)
		}
	}
	os.Exit(code)
}

// workDir returns the suite's work directory, making it on first use (so
// that a test binary running none of the process scenarios, such as the
// child processes of the in-process ones, leaves nothing behind).
func workDir(t testing.TB) string {
	t.Helper()
	suite.mu.Lock()
	defer suite.mu.Unlock()
	if suite.work == "" {
		work, err := os.MkdirTemp("", "sluice-reliability-")
		if err != nil {
			t.Fatal(err)
		}
		suite.work = work
	}
	return suite.work
}

// atExit registers f to run when the test binary ends.
func atExit(f func()) {
	suite.mu.Lock()
	suite.cleanups = append(suite.cleanups, f)
	suite.mu.Unlock()
}

// full reports whether the long form runs (SLUICE_RELIABILITY=full).
func full() bool { return strings.EqualFold(strings.TrimSpace(os.Getenv(envMode)), "full") }

// withConnect reports whether Kafka Connect runs too.
func withConnect() bool {
	v := strings.TrimSpace(os.Getenv(envConnect))
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// inCI reports whether we run under CI (CI=true).
func inCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return strings.EqualFold(v, "true") || v == "1"
}

// pick returns short in the short form, long in the full form.
func pick[T any](short, long T) T {
	if full() {
		return long
	}
	return short
}

// repoRoot returns the module root (the directory holding go.mod).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("reliability: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// workerBinary builds examples/standalone once per test binary (a normal
// build, not -race: the child is what is tested, not the suite) and returns
// its path; SLUICE_RELIABILITY_WORKER names a binary to use instead (e.g.
// one built from another commit).
func workerBinary(t testing.TB) string {
	t.Helper()
	suite.buildOnce.Do(func() {
		if bin := os.Getenv(envWorker); bin != "" {
			suite.workerBin = bin
			return
		}
		bin := filepath.Join(workDir(t), "standalone")
		cmd := exec.Command("go", "build", "-o", bin, "./examples/standalone")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			suite.buildErr = fmt.Errorf("go build ./examples/standalone: %v\n%s", err, out)
			return
		}
		suite.workerBin = bin
	})
	if suite.buildErr != nil {
		t.Fatal(suite.buildErr)
	}
	return suite.workerBin
}

// runDir returns a fresh directory for one run of a scenario.
func runDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp(workDir(t), strings.NewReplacer("/", "-", " ", "-").Replace(name)+"-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// needJava skips t (fails it under CI) when java is missing.
func needJava(t testing.TB, what string, tools ...string) {
	t.Helper()
	if testing.Short() && !inCI() {
		t.Skipf("-short: %s skipped", what)
	}
	for _, tool := range append([]string{"java"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if inCI() {
				t.Fatalf("CI=true and %s not found: %s needs it (a missing service in CI is a failure)", tool, what)
			}
			t.Skipf("%s not found: %s skipped (install Java 17+ and Maven to run it)", tool, what)
		}
	}
}

// deadlineFor returns when t must be done, leaving margin before go test's
// own -timeout (which would kill the binary without cleanups).
func deadlineFor(t testing.TB, want time.Duration) time.Time {
	d := time.Now().Add(want)
	if td, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := td.Deadline(); ok && end.Add(-30*time.Second).Before(d) {
			d = end.Add(-30 * time.Second)
		}
	}
	return d
}

// result is one scenario run's figures.
type result struct {
	scenario  string
	contender string // sluice, kafka-connect
	broker    string // kafka (Apache Kafka), embedded (kfake)
	variant   string // tolerance=all, kills=10, …
	records   int
	lost      int
	dup       int
	dupBound  int // -1: none
	torn      int
	order     int     // order violations
	topic     *tally  // the topic between source and sink, when read
	seconds   float64 // recover_s / rejoin_s; -1: not measured
	secName   string
	pass      bool
	note      string
}

// report prints r as the scenario's greppable line and keeps it for the
// table.
func report(t testing.TB, r result) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "reliability: scenario=%s contender=%s broker=%s", r.scenario, r.contender, r.broker)
	if r.variant != "" {
		fmt.Fprintf(&b, " %s", r.variant)
	}
	fmt.Fprintf(&b, " records=%d lost=%d dup=%d", r.records, r.lost, r.dup)
	if r.dupBound >= 0 {
		fmt.Fprintf(&b, " dup_bound=%d", r.dupBound)
	}
	fmt.Fprintf(&b, " torn=%d order_violations=%d", r.torn, r.order)
	if r.topic != nil {
		fmt.Fprintf(&b, " topic_lost=%d topic_dup=%d topic_order_violations=%d", r.topic.lost(), r.topic.dup, r.topic.order)
	}
	if r.secName != "" {
		if r.seconds >= 0 {
			fmt.Fprintf(&b, " %s=%.1f", r.secName, r.seconds)
		} else {
			fmt.Fprintf(&b, " %s=never", r.secName)
		}
	}
	fmt.Fprintf(&b, " pass=%t", r.pass)
	if r.note != "" {
		fmt.Fprintf(&b, " note=%q", r.note)
	}
	t.Log(b.String())
	fmt.Println(b.String())
	suite.mu.Lock()
	suite.results = append(suite.results, r)
	suite.mu.Unlock()
}

// printTable prints the markdown table of every scenario run (and writes it
// to SLUICE_RELIABILITY_TABLE when set).
func printTable() {
	suite.mu.Lock()
	rs := append([]result(nil), suite.results...)
	suite.mu.Unlock()
	if len(rs) == 0 {
		return
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].scenario != rs[j].scenario {
			return rs[i].scenario < rs[j].scenario
		}
		if rs[i].broker != rs[j].broker {
			return rs[i].broker < rs[j].broker
		}
		if rs[i].variant != rs[j].variant {
			return rs[i].variant < rs[j].variant
		}
		return rs[i].contender < rs[j].contender
	})
	var b strings.Builder
	mode := "short"
	if full() {
		mode = "full"
	}
	fmt.Fprintf(&b, "\n<!-- reliability table: %s form, %s -->\n", mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| scenario | broker | variant | contender | records | lost | duplicated | torn | order violations | seconds | result |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rs {
		secs := "–"
		if r.secName != "" {
			if r.seconds >= 0 {
				secs = fmt.Sprintf("%s %.1f", r.secName, r.seconds)
			} else {
				secs = r.secName + " never"
			}
		}
		dup := fmt.Sprint(r.dup)
		if r.dupBound >= 0 {
			dup += fmt.Sprintf(" (bound %d)", r.dupBound)
		}
		order := fmt.Sprint(r.order)
		if r.topic != nil {
			dup += fmt.Sprintf("; topic %d", r.topic.dup)
			order += fmt.Sprintf("; topic %d", r.topic.order)
		}
		res := "pass"
		if !r.pass {
			res = "**FAIL**"
		}
		if r.note != "" {
			res += ": " + r.note
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s | %d | %s | %s | %s |\n",
			r.scenario, brokerName(r.broker), r.variant, contenderName(r.contender), r.records, r.lost, dup, r.torn, order, secs, res)
	}
	fmt.Print(b.String())
	if path := os.Getenv(envTable); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "reliability: writing the table:", err)
		}
	}
}

func brokerName(b string) string {
	switch b {
	case brokerKafka:
		return "Apache Kafka"
	case brokerEmbedded:
		return "embedded (kfake)"
	}
	return b
}

func contenderName(c string) string {
	switch c {
	case contenderSluice:
		return "Sluice"
	case contenderConnect:
		return "Kafka Connect"
	}
	return c
}
