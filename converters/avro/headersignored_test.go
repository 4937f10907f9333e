package avro

import (
	"testing"

	"github.com/sluicehq/sluice/converters"
)

// TestAvroIgnoresHeaders: the Avro converter declares that ToConnect does
// not read headers, so the sink builds none for it.
func TestAvroIgnoresHeaders(t *testing.T) {
	if converters.ReadsHeaders(new(Converter)) {
		t.Fatal("ReadsHeaders(avro) = true, want false")
	}
}
