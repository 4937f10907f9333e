package kafkatest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, as testing.T's does, without failing the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// callBrokers calls brokers with a fatalRecorder wrapping t, on a goroutine
// of its own, and returns what it returned or the message it failed with.
func callBrokers(t *testing.T, brokers func(testing.TB) []string) (addrs []string, fatal string) {
	f := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		addrs = brokers(f)
	}()
	<-done
	return addrs, f.msg
}

// TestBrokersStrictness checks which environments make Brokers (the
// repository's tests: strict under CI=true and SLUICE_REQUIRE_KAFKA) and
// PublicBrokers (sluicetest.Brokers: strict under SLUICE_REQUIRE_KAFKA
// only) fail for a missing KAFKA_BOOTSTRAP_SERVERS, and that otherwise they
// return a working in-process broker.
func TestBrokersStrictness(t *testing.T) {
	const (
		inProcess = ""
		ciRule    = "CI=true but KAFKA_BOOTSTRAP_SERVERS is not set"
		require   = "SLUICE_REQUIRE_KAFKA=%s but KAFKA_BOOTSTRAP_SERVERS is not set"
		invalid   = "SLUICE_REQUIRE_KAFKA=\"%s\": want 1, true, 0 or false"
	)
	cases := []struct {
		ci, req         string
		private, public string // the start of the failure message; "" for the in-process broker
	}{
		{"", "", inProcess, inProcess},
		{"true", "", ciRule, inProcess},
		{"1", "", ciRule, inProcess},
		{"TRUE", "0", ciRule, inProcess},
		{"false", "", inProcess, inProcess},
		{"", "1", require, require},
		{"", "true", require, require},
		{"true", "1", require, require},
		{"", "false", inProcess, inProcess},
		{"", "yes", invalid, invalid},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("CI=%s,%s=%s", c.ci, EnvRequire, c.req), func(t *testing.T) {
			t.Setenv(EnvBootstrap, "")
			t.Setenv("CI", c.ci)
			t.Setenv(EnvRequire, c.req)
			for _, f := range []struct {
				name string
				fn   func(testing.TB) []string
				want string
			}{{"Brokers", Brokers, c.private}, {"PublicBrokers", PublicBrokers, c.public}} {
				addrs, fatal := callBrokers(t, f.fn)
				want := f.want
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, c.req)
				}
				switch {
				case want == inProcess && fatal != "":
					t.Errorf("%s failed the test, want the in-process broker: %s", f.name, fatal)
				case want == inProcess:
					if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
						t.Errorf("%s = %v, want one in-process broker on 127.0.0.1", f.name, addrs)
					} else if err := ping(addrs); err != nil {
						t.Errorf("%s = %v: the broker does not answer: %v", f.name, addrs, err)
					}
				case !strings.Contains(fatal, want):
					t.Errorf("%s returned %v and failed with %q, want it to fail with %q", f.name, addrs, fatal, want)
				}
			}
		})
	}
}
