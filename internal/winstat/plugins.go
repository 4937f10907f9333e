package winstat

import (
	"slices"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/transforms"
)

// Plugins is the class and version of a pipeline's converters,
// transformations and predicates, computed once by NewPlugins: a version
// comes from the plugin's own Version method (user code), which a status
// read must neither call on every metrics collection nor let panic. Fill is
// safe for concurrent use; a nil *Plugins fills nothing.
type Plugins struct {
	keyClass, keyVersion       string
	valueClass, valueVersion   string
	headerClass, headerVersion string
	transforms, predicates     []connect.PluginStage
}

// NewPlugins names key, value and header (the converters) and the stages of
// chain (when it is a *transforms.Chain) with connect.ClassName and
// connect.VersionOf. A Version or class-name method that panics yields an
// empty string for that name instead of crashing the caller.
func NewPlugins(key, value, header any, chain transforms.Transformation) *Plugins {
	p := &Plugins{}
	p.keyClass, p.keyVersion = safeName(key)
	p.valueClass, p.valueVersion = safeName(value)
	p.headerClass, p.headerVersion = safeName(header)
	var ts connect.TaskStatus
	if err := safecall.Call("Version", func() error { FillStages(chain, &ts); return nil }); err == nil {
		p.transforms, p.predicates = ts.Transforms, ts.Predicates
	}
	return p
}

// safeName returns connect.ClassName(v) and connect.VersionOf(v), or empty
// strings for the one whose call panicked.
func safeName(v any) (class, version string) {
	_ = safecall.Call("ClassName", func() error { class = connect.ClassName(v); return nil })
	_ = safecall.Call("Version", func() error { version = connect.VersionOf(v); return nil })
	return class, version
}

// Fill copies the names into ts's converter, Transforms and Predicates
// fields (fresh slices: the caller may modify ts).
func (p *Plugins) Fill(ts *connect.TaskStatus) {
	if p == nil {
		return
	}
	ts.KeyConverterClass, ts.KeyConverterVersion = p.keyClass, p.keyVersion
	ts.ValueConverterClass, ts.ValueConverterVersion = p.valueClass, p.valueVersion
	ts.HeaderConverterClass, ts.HeaderConverterVersion = p.headerClass, p.headerVersion
	ts.Transforms = slices.Clone(p.transforms)
	ts.Predicates = slices.Clone(p.predicates)
}
