package transforms

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// RegexRouterConfig configures RegexRouter (Kafka Connect's
// org.apache.kafka.connect.transforms.RegexRouter).
type RegexRouterConfig struct {
	// Regex (property "regex", required) must match the whole topic name.
	// It is compiled with Go's RE2 engine: Java-only constructs (look-around,
	// back-references, possessive quantifiers) are rejected.
	Regex string
	// Replacement (property "replacement", required) replaces the first match,
	// with Java's replacement syntax: $1 or ${name} for groups, \ to quote.
	Replacement string
}

// Validate checks the regular expression and the group references of the
// replacement.
//
// The "regex"/"replacement" properties (the registry's factory) are checked
// as Kafka Connect checks them: the regex at configuration, the replacement
// only when a topic matches (Matcher.replaceFirst), so a replacement with a
// bad group reference fails only the records it would rename.
func (c RegexRouterConfig) Validate() error {
	_, _, replErr, err := c.compile()
	if err != nil {
		return err
	}
	if replErr != nil {
		return configErr("replacement", "%v", replErr)
	}
	return nil
}

// compile returns the regex, the parsed replacement and the replacement's
// error, which Apply reports for matching topics.
func (c RegexRouterConfig) compile() (*regexp.Regexp, []replSegment, error, error) {
	re, err := compileRegex(c.Regex)
	if err != nil {
		return nil, nil, nil, configErr("regex", "%v", err)
	}
	segs, replErr := parseJavaReplacement(c.Replacement, re)
	return re, segs, replErr, nil
}

// RegexRouter renames the topic of records whose topic fully matches a regular
// expression, replacing the first match with the replacement (Java's
// Matcher.matches then replaceFirst). Other records pass through. It is safe
// for concurrent use.
type RegexRouter struct {
	full    *regexp.Regexp
	re      *regexp.Regexp
	repl    []replSegment
	replErr error // the replacement's error, reported for matching topics
}

// NewRegexRouter returns a RegexRouter, or the config's validation error.
func NewRegexRouter(cfg RegexRouterConfig) (*RegexRouter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newRegexRouter(cfg)
}

// newRegexRouter returns a RegexRouter whose replacement errors are reported
// by Apply, for matching topics (Kafka Connect's behaviour).
func newRegexRouter(cfg RegexRouterConfig) (*RegexRouter, error) {
	re, segs, replErr, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	full, err := compileFullMatch(cfg.Regex)
	if err != nil {
		return nil, configErr("regex", "%v", err)
	}
	if replErr != nil {
		replErr = fmt.Errorf("replacement %q: %w", cfg.Replacement, replErr)
	}
	return &RegexRouter{full: full, re: re, repl: segs, replErr: replErr}, nil
}

func regexRouterFactory(m map[string]string) (Transformation, error) {
	p := newProps(m)
	cfg := RegexRouterConfig{Regex: p.required("regex"), Replacement: p.required("replacement")}
	if err := p.err(); err != nil {
		return nil, err
	}
	return newRegexRouter(cfg)
}

// Apply routes the record. A topic that matches fails when the replacement
// refers to a group the regex does not have (or is otherwise malformed).
func (t *RegexRouter) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	if !t.full.MatchString(rec.Topic) {
		return rec, nil
	}
	if t.replErr != nil {
		return nil, t.replErr
	}
	loc := t.re.FindStringSubmatchIndex(rec.Topic)
	if loc == nil {
		return rec, nil
	}
	rec.Topic = expandJava(rec.Topic, loc, t.repl)
	return rec, nil
}

// replSegment is a literal (group < 0) or a group reference of a Java
// replacement string.
type replSegment struct {
	lit   string
	group int
}

// parseJavaReplacement parses a replacement in Java's Matcher syntax: "\x" is
// a literal x, "$n" a numbered group (further digits taken while the group
// exists), "${name}" a named group.
func parseJavaReplacement(s string, re *regexp.Regexp) ([]replSegment, error) {
	var segs []replSegment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, replSegment{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	groups := re.NumSubexp()
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			i++
			if i == len(s) {
				return nil, fmt.Errorf("character to be escaped is missing in %q", s)
			}
			lit.WriteByte(s[i])
		case '$':
			i++
			if i == len(s) {
				return nil, fmt.Errorf("illegal group reference in %q: group index is missing", s)
			}
			if s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("named capturing group is missing trailing '}' in %q", s)
				}
				name := s[i+1 : i+end]
				if name == "" {
					return nil, fmt.Errorf("named capturing group has 0 length name in %q", s)
				}
				g := re.SubexpIndex(name)
				if g < 0 {
					return nil, fmt.Errorf("no group with name {%s} in regex %q", name, re)
				}
				flush()
				segs = append(segs, replSegment{group: g})
				i += end
				continue
			}
			if s[i] < '0' || s[i] > '9' {
				return nil, fmt.Errorf("illegal group reference in %q", s)
			}
			ref := int(s[i] - '0')
			if ref > groups {
				return nil, fmt.Errorf("no group %d in regex %q", ref, re)
			}
			for i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				n := ref*10 + int(s[i+1]-'0')
				if n > groups {
					break
				}
				ref = n
				i++
			}
			flush()
			segs = append(segs, replSegment{group: ref})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return segs, nil
}

// expandJava returns s with the match at loc replaced by the expansion of
// segs.
func expandJava(s string, loc []int, segs []replSegment) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:loc[0]])
	for _, seg := range segs {
		if seg.group < 0 {
			b.WriteString(seg.lit)
			continue
		}
		if start, end := loc[2*seg.group], loc[2*seg.group+1]; start >= 0 {
			b.WriteString(s[start:end])
		}
	}
	b.WriteString(s[loc[1]:])
	return b.String()
}
