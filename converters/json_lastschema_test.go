package converters

import (
	"reflect"
	"testing"
)

// TestJSONEnvelopeLastSchema: a converter reading records whose schemas
// alternate, repeat, differ only after a shared prefix, carry whitespace
// or are null decodes each exactly as a fresh converter does (the last
// schema's text is tried before scanning).
func TestJSONEnvelopeLastSchema(t *testing.T) {
	s1 := `{"type":"struct","fields":[{"type":"int32","field":"a"}]}`
	s2 := `{"type":"struct","fields":[{"type":"int64","field":"a"}]}`
	s3 := `{"type":"struct","fields":[{"type":"int32","field":"a"}],"optional":true}`
	records := []string{
		`{"schema":` + s1 + `,"payload":{"a":1}}`,
		`{"schema":` + s1 + `,"payload":{"a":2}}`,
		`{"schema":` + s2 + `,"payload":{"a":3}}`,
		`{"schema":` + s1 + `,"payload":{"a":4}}`,
		`{"schema":` + s3 + `,"payload":null}`,
		`{"schema":` + s1 + `,"payload":{"a":5}}`,
		`{"schema": ` + s1 + ` ,"payload":{"a":6}}`,
		`{"schema":null,"payload":{"a":7}}`,
		`{"payload":{"a":8},"schema":` + s1 + `}`,
		`{"schema":` + s1[:len(s1)-1] + `,"payload":{"a":9}}`, // truncated: an error, as for a fresh converter
		`{"schema":` + s1 + `,"payload":{"a":10}}`,
	}
	shared := mustJSON(t, JSONConfig{})
	for i, r := range records {
		got, gerr := shared.ToConnect(ctx, "t", nil, []byte(r))
		want, werr := mustJSON(t, JSONConfig{}).ToConnect(ctx, "t", nil, []byte(r))
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("record %d: error %v, a fresh converter gives %v", i, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: %v %#v, a fresh converter gives %v %#v", i, got.Schema, got.Value, want.Schema, want.Value)
		}
	}
}
