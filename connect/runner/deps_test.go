package runner_test

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// deps returns the import graph of pkg's transitive dependencies (test files
// excluded, as `go list -deps` does): each package's direct imports.
func deps(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	g := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			g[f[0]] = f[1:]
		}
	}
	return g
}

// importChain returns the import path from root to target in g, for the
// failure message.
func importChain(g map[string][]string, root, target string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range g[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}

// TestLeanPackagesLinkNoHTTPNorOpenTelemetry: the data model (connect),
// transforms and converters link neither net/http nor OpenTelemetry, so an
// SMT or converter author gets neither by importing them; the Runner, its
// REST handler and its metrics live in this package for that reason.
func TestLeanPackagesLinkNoHTTPNorOpenTelemetry(t *testing.T) {
	forbidden := func(p string) bool {
		return p == "net/http" || strings.HasPrefix(p, "net/http/") ||
			p == "go.opentelemetry.io" || strings.HasPrefix(p, "go.opentelemetry.io/")
	}
	for _, pkg := range []string{
		"github.com/sluicehq/sluice/connect",
		"github.com/sluicehq/sluice/transforms",
		"github.com/sluicehq/sluice/converters",
	} {
		t.Run(pkg[strings.LastIndexByte(pkg, '/')+1:], func(t *testing.T) {
			g := deps(t, pkg)
			if _, ok := g[pkg]; !ok {
				t.Fatalf("go list -deps %s did not list the package itself", pkg)
			}
			for _, p := range slices.Sorted(maps.Keys(g)) {
				if forbidden(p) {
					t.Errorf("%s links %s: %s", pkg, p, strings.Join(importChain(g, pkg, p), " → "))
				}
			}
		})
	}
}

// TestRunnerImportsNeitherSourceNorSink: the Runner supervises pipelines
// through connect's contract only.
func TestRunnerImportsNeitherSourceNorSink(t *testing.T) {
	const pkg = "github.com/sluicehq/sluice/connect/runner"
	g := deps(t, pkg)
	for _, p := range []string{"github.com/sluicehq/sluice/source", "github.com/sluicehq/sluice/sink"} {
		if _, ok := g[p]; ok {
			t.Errorf("%s links %s: %s", pkg, p, strings.Join(importChain(g, pkg, p), " → "))
		}
	}
	// The check itself must see what the Runner does link.
	if _, ok := g["net/http"]; !ok {
		t.Errorf("go list -deps %s does not list net/http; the dependency check is blind", pkg)
	}
}
