package transforms

import (
	"errors"
	"fmt"
	"github.com/sluicehq/sluice/internal/javavalues"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ConfigError reports an invalid or missing configuration property. Key is
// the property key: relative to the component in errors returned by a typed
// config's Validate or by a factory ("static.value"), fully qualified in
// errors returned by Registry.ParseChain ("transforms.ins.static.value"). Key
// is empty for errors that concern the component as a whole.
type ConfigError struct {
	Key    string
	Reason string
}

// Error implements error: "<key>: <reason>".
func (e *ConfigError) Error() string {
	if e.Key == "" {
		return e.Reason
	}
	return e.Key + ": " + e.Reason
}

func configErr(key, format string, args ...any) *ConfigError {
	return &ConfigError{Key: key, Reason: fmt.Sprintf(format, args...)}
}

// prefixConfigErrors qualifies every ConfigError in err (which may be a
// joined error) with prefix (e.g. "transforms.a"); other errors are wrapped
// as concerning prefix as a whole.
func prefixConfigErrors(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, prefixConfigErrors(prefix, e))
		}
		return errors.Join(out...)
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		key := prefix
		if ce.Key != "" {
			key = prefix + "." + ce.Key
		}
		return &ConfigError{Key: key, Reason: ce.Reason}
	}
	return &ConfigError{Key: prefix, Reason: err.Error()}
}

// props reads Kafka-Connect-style properties of one component, collecting
// errors. Values are trimmed with Java's String.trim, as Kafka Connect's
// ConfigDef.parseType does for every type.
type props struct {
	m    map[string]string
	errs []error
}

func newProps(m map[string]string) *props { return &props{m: m} }

func (p *props) fail(key, format string, args ...any) {
	p.errs = append(p.errs, configErr(key, format, args...))
}

func (p *props) addErr(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

func (p *props) err() error { return errors.Join(p.errs...) }

func (p *props) lookup(key string) (string, bool) {
	v, ok := p.m[key]
	return javaTrim(v), ok
}

func (p *props) has(key string) bool { _, ok := p.m[key]; return ok }

// str returns the value of key, or def when the key is absent.
func (p *props) str(key, def string) string {
	if v, ok := p.lookup(key); ok {
		return v
	}
	return def
}

// required returns the value of a key without default.
func (p *props) required(key string) string {
	v, ok := p.lookup(key)
	if !ok {
		p.fail(key, "missing required configuration %q which has no default value", key)
	}
	return v
}

// nonEmpty returns the value of a required key that must not be empty.
func (p *props) nonEmpty(key string) string {
	v, ok := p.lookup(key)
	switch {
	case !ok:
		p.fail(key, "missing required configuration %q which has no default value", key)
	case v == "":
		p.fail(key, "must be non-empty")
	}
	return v
}

// list parses a Kafka Connect LIST: comma-separated, whitespace around
// commas ignored, empty string = empty list.
func (p *props) list(key string, def []string) []string {
	v, ok := p.lookup(key)
	if !ok {
		return def
	}
	return parseList(v)
}

func (p *props) requiredList(key string, nonEmpty bool) []string {
	v, ok := p.lookup(key)
	if !ok {
		p.fail(key, "missing required configuration %q which has no default value", key)
		return nil
	}
	l := parseList(v)
	if nonEmpty && len(l) == 0 {
		p.fail(key, "empty list")
	}
	return l
}

// commaWithWhitespace is ConfigDef's COMMA_WITH_WHITESPACE, \s*,\s*, with
// Java's \s (which, unlike RE2's, includes the vertical tab).
// validList applies what ConfigDef does to a LIST whose validator is a
// ValidList (anyNonDuplicateValues): duplicates are removed (the first of
// each kept, in order), then an empty entry ("a,,b", "a,") fails.
func (p *props) validList(key string, l []string) []string {
	l = dedup(l)
	for _, s := range l {
		if s == "" {
			p.fail(key, "Configuration '%s' values must not be empty.", key)
			break
		}
	}
	return l
}

// dedup returns l without its repeated entries, keeping the first of each.
func dedup(l []string) []string {
	if firstDuplicate(l) == "" && !hasRepeatedEmpty(l) {
		return l
	}
	out := make([]string, 0, len(l))
	for _, s := range l {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func hasRepeatedEmpty(l []string) bool {
	n := 0
	for _, s := range l {
		if s == "" {
			n++
		}
	}
	return n > 1
}

var commaWithWhitespace = regexp.MustCompile(`[ \t\n\x0B\f\r]*,[ \t\n\x0B\f\r]*`)

// parseList parses a LIST value as ConfigDef does: trimmed, "" is the empty
// list, otherwise split on commas with the whitespace around them (empty
// entries kept).
func parseList(v string) []string {
	v = javaTrim(v)
	if v == "" {
		return nil
	}
	return commaWithWhitespace.Split(v, -1)
}

func (p *props) boolean(key string, def bool) bool {
	v, ok := p.lookup(key)
	if !ok {
		return def
	}
	b, err := parseBool(v)
	if err != nil {
		p.fail(key, "invalid value %q: expected value to be either true or false", v)
		return def
	}
	return b
}

func parseBool(v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, fmt.Errorf("expected true or false, got %q", v)
}

// int32Value parses an INT property; ok is false when the key is absent.
func (p *props) int32Value(key string) (int32, bool) {
	v, ok := p.lookup(key)
	if !ok {
		return 0, false
	}
	n, ok := javaParseInt(v)
	if !ok {
		p.fail(key, "invalid value %q: not a number of type INT", v)
		return 0, false
	}
	return n, true
}

// javaParseInt is Java's Integer.parseInt(s): an optional sign, then
// decimal digits, any Unicode ones included (Character.digit).
func javaParseInt(s string) (int32, bool) {
	var b strings.Builder
	for i, r := range s {
		if i == 0 && (r == '+' || r == '-') {
			b.WriteRune(r)
			continue
		}
		d, ok := javavalues.Digit(r)
		if !ok {
			return 0, false
		}
		b.WriteByte(byte('0' + d))
	}
	n, err := strconv.ParseInt(b.String(), 10, 32)
	return int32(n), err == nil
}

// oneOf checks v against the allowed values (case-sensitive unless fold).
func (p *props) oneOf(key, v string, fold bool, allowed ...string) string {
	for _, a := range allowed {
		if v == a || (fold && strings.EqualFold(v, a)) {
			return a
		}
	}
	p.fail(key, "invalid value %q: must be one of %s", v, strings.Join(allowed, ", "))
	return v
}

// javaTrim is Java's String.trim: it removes the characters <= U+0020 (all
// ASCII control characters and the space, but no other Unicode space) from
// both ends.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// javaSplit splits s on sep like Java's String.split: trailing empty strings
// are removed.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
