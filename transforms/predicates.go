package transforms

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// compileRegex compiles a Kafka Connect (Java) regular expression with Go's
// RE2 engine. Constructs RE2 lacks (look-around, back-references, possessive
// quantifiers) are rejected with an error saying so.
func compileRegex(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(javaPOSIXClasses(expr))
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %v (Sluice uses Go's RE2 syntax, which has no look-around, back-references or possessive quantifiers)", expr, err)
	}
	return re, nil
}

// compileFullMatch compiles expr so that it matches only whole strings, as
// Java's Matcher.matches.
func compileFullMatch(expr string) (*regexp.Regexp, error) {
	if _, err := compileRegex(expr); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + javaPOSIXClasses(expr) + `)$`)
}

// javaPOSIXNames maps Java's POSIX character class names (\p{Lower}, …,
// ASCII-only as in Java without UNICODE_CHARACTER_CLASS) to RE2's.
var javaPOSIXNames = map[string]string{
	"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha", "Digit": "digit",
	"Alnum": "alnum", "Punct": "punct", "Graph": "graph", "Print": "print", "Blank": "blank",
	"Cntrl": "cntrl", "XDigit": "xdigit", "Space": "space",
}

// javaPOSIXClasses rewrites Java's \p{Lower}-style POSIX classes (and their
// \P{..} negations), which RE2 spells [[:lower:]], leaving everything else
// (escapes, \Q..\E quotes) as written. It runs once, at configuration.
func javaPOSIXClasses(expr string) string {
	if !strings.Contains(expr, `\p{`) && !strings.Contains(expr, `\P{`) {
		return expr
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\\' && i+1 < len(expr) && expr[i+1] == 'Q':
			end := strings.Index(expr[i+2:], `\E`)
			if end < 0 {
				b.WriteString(expr[i:])
				return b.String()
			}
			b.WriteString(expr[i : i+2+end+2])
			i += 2 + end + 1
		case c == '\\' && i+2 < len(expr) && (expr[i+1] == 'p' || expr[i+1] == 'P') && expr[i+2] == '{':
			end := strings.IndexByte(expr[i+3:], '}')
			if end >= 0 {
				if name, ok := javaPOSIXNames[expr[i+3:i+3+end]]; ok {
					neg := ""
					if expr[i+1] == 'P' {
						neg = "^"
					}
					if inClass {
						b.WriteString("[:" + neg + name + ":]")
					} else {
						b.WriteString("[[:" + neg + name + ":]]")
					}
					i += 3 + end
					continue
				}
			}
			b.WriteString(expr[i : i+2])
			i++
		case c == '\\' && i+1 < len(expr):
			b.WriteString(expr[i : i+2])
			i++
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ] right after [ or [^ is a literal in both syntaxes.
			if i+1 < len(expr) && expr[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(expr) && expr[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TopicNameMatchesConfig configures TopicNameMatches (Kafka Connect's
// org.apache.kafka.connect.transforms.predicates.TopicNameMatches).
type TopicNameMatchesConfig struct {
	// Pattern (property "pattern", required) is a regular expression that
	// must match the whole topic name.
	Pattern string
}

// Validate checks that Pattern is a non-empty, valid regular expression.
func (c TopicNameMatchesConfig) Validate() error {
	if c.Pattern == "" {
		return configErr("pattern", "must be non-empty")
	}
	if _, err := compileFullMatch(c.Pattern); err != nil {
		return configErr("pattern", "%v", err)
	}
	return nil
}

// TopicNameMatches is true for records whose topic name fully matches a
// regular expression. It is safe for concurrent use.
type TopicNameMatches struct {
	re *regexp.Regexp
}

// NewTopicNameMatches returns the predicate, or the config's validation error.
func NewTopicNameMatches(cfg TopicNameMatchesConfig) (*TopicNameMatches, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	re, _ := compileFullMatch(cfg.Pattern)
	return &TopicNameMatches{re: re}, nil
}

// Test reports whether the whole topic name matches the pattern.
func (p *TopicNameMatches) Test(_ context.Context, rec *connect.Record) (bool, error) {
	return p.re.MatchString(rec.Topic), nil
}

func topicNameMatchesFactory(m map[string]string) (Predicate, error) {
	p := newProps(m)
	cfg := TopicNameMatchesConfig{Pattern: p.nonEmpty("pattern")}
	if err := p.err(); err != nil {
		return nil, err
	}
	return NewTopicNameMatches(cfg)
}

// HasHeaderKeyConfig configures HasHeaderKey (Kafka Connect's
// org.apache.kafka.connect.transforms.predicates.HasHeaderKey).
type HasHeaderKeyConfig struct {
	// Name (property "name", required) is the header key to look for.
	Name string
}

// Validate checks that Name is set.
func (c HasHeaderKeyConfig) Validate() error {
	if c.Name == "" {
		return configErr("name", "must be non-empty")
	}
	return nil
}

// HasHeaderKey is true for records with at least one header of a given key.
// It is safe for concurrent use.
type HasHeaderKey struct {
	name string
}

// NewHasHeaderKey returns the predicate, or the config's validation error.
func NewHasHeaderKey(cfg HasHeaderKeyConfig) (*HasHeaderKey, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &HasHeaderKey{name: cfg.Name}, nil
}

// Test reports whether rec has a header called Name.
func (p *HasHeaderKey) Test(_ context.Context, rec *connect.Record) (bool, error) {
	for i := range rec.Headers {
		if rec.Headers[i].Key == p.name {
			return true, nil
		}
	}
	return false, nil
}

func hasHeaderKeyFactory(m map[string]string) (Predicate, error) {
	p := newProps(m)
	cfg := HasHeaderKeyConfig{Name: p.nonEmpty("name")}
	if err := p.err(); err != nil {
		return nil, err
	}
	return NewHasHeaderKey(cfg)
}

// RecordIsTombstone is true for tombstones: records whose value is null
// (Kafka Connect's
// org.apache.kafka.connect.transforms.predicates.RecordIsTombstone). It has
// no configuration and is safe for concurrent use.
type RecordIsTombstone struct{}

// Test reports whether rec.Value is nil.
func (RecordIsTombstone) Test(_ context.Context, rec *connect.Record) (bool, error) {
	return rec.Value == nil, nil
}

func recordIsTombstoneFactory(map[string]string) (Predicate, error) {
	return RecordIsTombstone{}, nil
}
