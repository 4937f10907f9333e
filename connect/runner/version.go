package runner

import "runtime/debug"

// modulePath is Sluice's module path, looked up in the build information.
const modulePath = "github.com/sluicehq/sluice"

// Version returns the version of the Sluice module linked into the running
// binary and the VCS revision the binary was built from, as recorded by the
// Go toolchain (runtime/debug.ReadBuildInfo; `go version -m <binary>` shows
// the same facts). A Runner reports them at GET / unless Config.Version or
// Config.Commit is set.
//
// version is the main module's version when Sluice is the main module (a
// tagged release such as "v1.2.0", or a pseudo-version), otherwise the
// version of the github.com/sluicehq/sluice dependency (the replacement's
// version when a replace directive names another module version); it is
// "(devel)" when unknown: a build without version information, or Sluice
// replaced by a local directory.
//
// commit is the binary's vcs.revision build setting: the revision of the
// main module's repository, so the application's own commit when Sluice is
// a dependency. It is "unknown" (Kafka Connect's value for a missing
// commit id) when the build recorded none, e.g. under `go test` or with
// -buildvcs=false.
//
// Version is safe for concurrent use.
func Version() (version, commit string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionOf(bi)
}

// versionOf implements Version for the given build information (nil when
// none).
func versionOf(bi *debug.BuildInfo) (version, commit string) {
	version, commit = "(devel)", "unknown"
	if bi == nil {
		return version, commit
	}
	known := func(v string) bool { return v != "" && v != "(devel)" }
	if bi.Main.Path == modulePath {
		if known(bi.Main.Version) {
			version = bi.Main.Version
		}
	} else {
		for _, d := range bi.Deps {
			if d.Path != modulePath {
				continue
			}
			switch {
			case d.Replace != nil:
				// A directory replacement has no version: the required
				// version (often v0.0.0-00010101000000-000000000000) says
				// nothing about the code linked in.
				if known(d.Replace.Version) {
					version = d.Replace.Version
				}
			case known(d.Version):
				version = d.Version
			}
			break
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			commit = s.Value
		}
	}
	return version, commit
}
