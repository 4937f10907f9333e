package winstat

import (
	"slices"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/transforms"
)

// versioned counts its Version calls and panics when told to.
type versioned struct {
	calls int
	panic bool
}

func (v *versioned) Version() string {
	v.calls++
	if v.panic {
		panic("Version exploded")
	}
	return "1.2.3"
}

// NewPlugins calls each plugin's Version once; Fill reuses the result (a
// metrics collection calls no user code), and a panicking Version leaves an
// empty version instead of crashing the status read.
func TestPluginsComputedOnceAndPanicSafe(t *testing.T) {
	key, value := &versioned{}, &versioned{panic: true}
	chain, err := transforms.NewChain(transforms.Stage{Alias: "f", Transformation: transforms.NewFilter(), Class: "org.apache.kafka.connect.transforms.Filter"})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlugins(key, value, nil, chain)
	for range 3 {
		var ts connect.TaskStatus
		p.Fill(&ts)
		if ts.KeyConverterVersion != "1.2.3" || ts.KeyConverterClass != connect.ClassName(key) {
			t.Fatalf("key converter %q %q", ts.KeyConverterClass, ts.KeyConverterVersion)
		}
		if ts.ValueConverterVersion != "" || ts.ValueConverterClass != connect.ClassName(value) {
			t.Fatalf("panicking value converter %q %q", ts.ValueConverterClass, ts.ValueConverterVersion)
		}
		want := []connect.PluginStage{{Alias: "f", Class: "org.apache.kafka.connect.transforms.Filter", Version: connect.UndefinedVersion}}
		if !slices.Equal(ts.Transforms, want) {
			t.Fatalf("Transforms %+v, want %+v", ts.Transforms, want)
		}
		ts.Transforms[0].Alias = "mutated" // Fill hands out copies
	}
	if key.calls != 1 || value.calls != 1 {
		t.Fatalf("Version calls: key %d, value %d; want 1 each (computed once)", key.calls, value.calls)
	}
	(*Plugins)(nil).Fill(&connect.TaskStatus{}) // nil-safe
}
