package runner_test

import (
	"runtime/debug"
	"testing"

	"github.com/sluicehq/sluice/connect/runner"
)

// TestVersionFromBuildInfo: in this test binary Sluice is the main module,
// so Version reports the main module's version ("(devel)" for an untagged
// build) and the binary's vcs.revision, if any.
func TestVersionFromBuildInfo(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build information in this binary")
	}
	if bi.Main.Path != "github.com/sluicehq/sluice" {
		t.Fatalf("main module %q, want github.com/sluicehq/sluice", bi.Main.Path)
	}
	wantVersion := bi.Main.Version
	if wantVersion == "" {
		wantVersion = "(devel)"
	}
	wantCommit := "unknown"
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			wantCommit = s.Value
		}
	}
	if v, c := runner.Version(); v != wantVersion || c != wantCommit {
		t.Errorf("Version() = (%q, %q), want (%q, %q)", v, c, wantVersion, wantCommit)
	}
}
