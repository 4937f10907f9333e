package transforms

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestRegexRouter(t *testing.T) {
	tests := []struct {
		regex, replacement, topic, want string
	}{
		{"", "", "", ""},
		{"foo", "bar", "foo", "bar"},
		{"foo", "bar", "foo-suffix", "foo-suffix"}, // no full match
		{"foo", "bar", "prefix-foo", "prefix-foo"},
		{"(.*)", "prefix-$1", "orders", "prefix-orders"},
		{"(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-20160117", "index"},
		{"(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-2016-01-17", "index-2016-01-17"},
		{"(.*)-(\\d\\d\\d\\d\\d\\d)", "$1_$2", "index-201601", "index_201601"},
		{"(?P<name>[a-z]+)-(\\d+)", "${name}", "orders-42", "orders"},
		{"(.*)", "\\$1", "orders", "$1"},
		{"a(b)?c", "x$1y", "ac", "xy"},
		{"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)", "$10", "abcdefghij", "j"},
		{"(a)(b)", "$12", "ab", "a2"},
		{"a|ab", "x", "ab", "xb"}, // replaceFirst finds the leftmost-first match "a"
		// Java's replaceFirst replaces only the first match that find()
		// sees, which need not be the whole topic: a replace-all would give
		// "xx", "x-ox-rx-dx-ex-rx-sx-" and "orders_v2_v1_v2_v2_v2".
		{"a|b|ab", "x", "ab", "xb"},
		{"(.*?)", "x-$1", "orders", "x-orders"},
		{"[a-z]+|_v\\d|[a-z]+_v\\d_v\\d", "$0_v2", "orders_v1_v2", "orders_v2_v1_v2"},
	}
	for _, tc := range tests {
		tr, err := NewRegexRouter(RegexRouterConfig{Regex: tc.regex, Replacement: tc.replacement})
		if err != nil {
			t.Fatalf("%q → %q: %v", tc.regex, tc.replacement, err)
		}
		r := sourceRec(tc.topic, nil, nil)
		out := mustApply(t, tr, r)
		if out.Topic != tc.want {
			t.Errorf("regex %q replacement %q topic %q: got %q, want %q", tc.regex, tc.replacement, tc.topic, out.Topic, tc.want)
		}
	}
}

func TestRegexRouterConfig(t *testing.T) {
	for _, tc := range []struct{ regex, repl, want string }{
		{"(", "x", "regex: invalid regular expression"},
		{"(?=a)", "x", "no look-around"},
		{"(a)", "$2", "replacement: no group 2"},
		{"(a)", "$", "group index is missing"},
		{"(a)", "$x", "illegal group reference"},
		{"(a)", "x\\", "character to be escaped is missing"},
		{"(a)", "${nope}", "no group with name {nope}"},
		{"(a)", "${a", "missing trailing '}'"},
	} {
		_, err := NewRegexRouter(RegexRouterConfig{Regex: tc.regex, Replacement: tc.repl})
		wantErr(t, err, tc.want)
	}
	_, err := regexRouterFactory(map[string]string{"replacement": "x"})
	wantErr(t, err, `regex: missing required configuration "regex"`)
}

// Kafka Connect checks the replacement only when a topic matches
// (Matcher.replaceFirst): the properties are accepted, non-matching topics
// pass, matching ones fail.
func TestRegexRouterReplacementCheckedOnMatch(t *testing.T) {
	for _, repl := range []string{"$2", "$", "${n}", "x-$1"} {
		tr, err := regexRouterFactory(map[string]string{"regex": "^t$", "replacement": repl})
		if err != nil {
			t.Fatalf("%q: config refused: %v", repl, err)
		}
		out, err := tr.Apply(ctx, &connect.Record{Topic: "other"})
		if err != nil || out.Topic != "other" {
			t.Fatalf("%q: non-matching topic: %v %v", repl, out, err)
		}
		if _, err := tr.Apply(ctx, &connect.Record{Topic: "t"}); err == nil {
			t.Fatalf("%q: matching topic routed, want an error", repl)
		}
	}
}

// Java's POSIX classes (\p{Lower}, …) are RE2's [[:lower:]].
func TestJavaPOSIXClasses(t *testing.T) {
	for in, want := range map[string]string{
		`\p{Lower}+`:             `[[:lower:]]+`,
		`[\p{Upper}0-9]`:         `[[:upper:]0-9]`,
		`\P{Digit}`:              `[[:^digit:]]`,
		`[^\P{Alpha}]`:           `[^[:^alpha:]]`,
		`\\p{Lower}`:             `\\p{Lower}`,
		`\Q\p{Lower}\E\p{Space}`: `\Q\p{Lower}\E[[:space:]]`,
		`\p{L}`:                  `\p{L}`,
	} {
		if got := javaPOSIXClasses(in); got != want {
			t.Errorf("javaPOSIXClasses(%q) = %q, want %q", in, got, want)
		}
	}
	p, err := topicNameMatchesFactory(map[string]string{"pattern": `\p{Lower}+`})
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]bool{"orders": true, "Orders": false, "é": false} {
		if got, _ := p.Test(ctx, &connect.Record{Topic: topic}); got != want {
			t.Errorf("%q: %v, want %v", topic, got, want)
		}
	}
}
