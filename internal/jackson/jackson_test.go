package jackson

import "testing"

// TestAppendString: the bytes Kafka Connect 4.3.1's JsonConverter (Jackson's
// UTF8JsonGenerator) writes for these strings.
func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{`a<b>&c/d`, `"a<b>&c/d"`},
		{`say "hi" \o/`, `"say \"hi\" \\o/"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001F"`},
		{"\x7f", "\"\x7f\""},
		{"é€\u2028\uffff", "\"é€\u2028\uffff\""}, // the BMP as UTF-8
		{"😀", `"\uD83D\uDE00"`},                  // outside it, the surrogate pair's escapes
		{"a\U0010FFFFb", `"a\uDBFF\uDFFFb"`},
		{"x\xffy", "\"x\uFFFDy\""}, // invalid UTF-8
	} {
		if got := string(AppendString([]byte("pre:"), tc.in)); got != "pre:"+tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got[4:], tc.want)
		}
	}
}
