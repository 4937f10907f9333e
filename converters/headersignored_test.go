package converters_test

import (
	"testing"

	"github.com/sluicehq/sluice/converters"
)

// TestBuiltInConvertersIgnoreHeaders: every built-in key/value converter
// declares that its ToConnect does not read headers (so the sink pipeline
// builds no raw headers for it); a converter without the declaration reads
// them.
func TestBuiltInConvertersIgnoreHeaders(t *testing.T) {
	for _, class := range []string{
		converters.ClassJSON, converters.ClassString, converters.ClassByteArray,
		converters.ClassBoolean, converters.ClassShort, converters.ClassInteger,
		converters.ClassLong, converters.ClassFloat, converters.ClassDouble,
	} {
		c, err := converters.New(class, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if converters.ReadsHeaders(c) {
			t.Errorf("%s: ReadsHeaders = true, want false", class)
		}
	}
	if !converters.ReadsHeaders(readsHeaders{converters.NewString()}) {
		t.Error("a converter without HeadersIgnored: ReadsHeaders = false, want true")
	}
}

// readsHeaders hides its converter's HeadersIgnored.
type readsHeaders struct{ converters.Converter }
