package runner

import (
	"runtime/debug"
	"testing"
)

// TestVersionOf: the version is Sluice's own, whether Sluice is the main
// module or a dependency, "(devel)" when the build does not know it; the
// commit is the binary's vcs.revision, "unknown" without one.
func TestVersionOf(t *testing.T) {
	rev := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "4f2a9c1e0b7d"}, {Key: "vcs.modified", Value: "false"}}
	other := debug.Module{Path: "github.com/IBM/sarama", Version: "v1.46.0"}
	for _, tc := range []struct {
		name                    string
		bi                      *debug.BuildInfo
		wantVersion, wantCommit string
	}{
		{"no build info", nil, "(devel)", "unknown"},
		{"main module, tagged", &debug.BuildInfo{
			Main: debug.Module{Path: modulePath, Version: "v1.2.0"}, Deps: []*debug.Module{&other}, Settings: rev,
		}, "v1.2.0", "4f2a9c1e0b7d"},
		{"main module, devel", &debug.BuildInfo{
			Main: debug.Module{Path: modulePath, Version: "(devel)"},
		}, "(devel)", "unknown"},
		{"main module, empty version", &debug.BuildInfo{
			Main: debug.Module{Path: modulePath},
		}, "(devel)", "unknown"},
		{"dependency", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app", Version: "v0.3.1"},
			Deps: []*debug.Module{&other, {Path: modulePath, Version: "v0.9.0"}}, Settings: rev,
		}, "v0.9.0", "4f2a9c1e0b7d"},
		{"dependency replaced by another version", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.9.0", Replace: &debug.Module{Path: "example.com/fork/sluice", Version: "v0.9.1-fork"}}},
		}, "v0.9.1-fork", "unknown"},
		{"dependency replaced by a directory", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "../sluice"}}},
		}, "(devel)", "unknown"},
		{"not linked", &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app", Version: "v0.3.1"}, Deps: []*debug.Module{&other},
		}, "(devel)", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, c := versionOf(tc.bi)
			if v != tc.wantVersion || c != tc.wantCommit {
				t.Errorf("versionOf = (%q, %q), want (%q, %q)", v, c, tc.wantVersion, tc.wantCommit)
			}
		})
	}
}
