// Package redact masks secret values (passwords, sasl.jaas.config, values
// supplied by config providers) in text and in log records, so that a
// secret given to a connector never leaves it through a log line, a status
// trace, a REST response, an error message or a dead-letter queue header.
//
// A connector's secrets live in a [Set] that its Runner updates whenever
// they change (configuration update, config providers resolved at a
// (re)start); [NewHandler] wraps the Runner's slog.Handler so that every
// line logged through the resulting logger (the Runner's own and the
// pipelines' and tasks', which get it through connect.ContextLogger) is
// scrubbed; [ScrubberOf] finds that Set again from such a logger, which is
// how the dead-letter queue reporter scrubs its headers without any new
// plumbing through the source and sink pipelines.
//
// Scrubbing runs only where text leaves (a log line, an error path): never
// per record on success.
package redact

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Mask replaces a secret (Kafka's Password.toString()); it is the value of
// connect/runner's MaskedValue.
const Mask = "[hidden]"

// MinLen is the length of the shortest secret scrubbed from free text: a
// shorter one would mask unrelated text (and a password that short is
// guessed faster than read from a log).
const MinLen = 4

// Secrets is an immutable set of secret values. The zero value and nil
// hold none. Safe for concurrent use.
type Secrets struct {
	vals []string // longest first, so that a secret containing another is masked whole
}

// New returns the secrets among values: each value of at least MinLen bytes
// (other than Mask), together with the forms it takes when quoted or
// encoded in text that leaves: its strconv.Quote form without the outer
// quotes (an error made with %q), its encoding/json string form without
// the quotes, with and without HTML escaping (a JSON log line or response
// body), and its standard base64 encoding (the form a []byte takes in
// encoding/json output). The result is deduplicated and ordered longest
// first. A secret is still readable in other encodings (URL escaping,
// hex, a prefix cut by truncation): mask it before it is encoded.
func New(values ...string) *Secrets {
	var out []string
	for _, v := range values {
		if len(v) < MinLen || v == Mask {
			continue
		}
		out = append(out, v, base64.StdEncoding.EncodeToString([]byte(v)))
		out = appendEscaped(out, v)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return &Secrets{vals: slices.Compact(out)}
}

// appendEscaped appends to out the quoted forms of v that differ from v:
// Go's (strconv.Quote) and JSON's (with and without HTML escaping), each
// without its outer quotes.
func appendEscaped(out []string, v string) []string {
	add := func(q string) {
		q = q[1 : len(q)-1]
		if q != v {
			out = append(out, q)
		}
	}
	add(strconv.Quote(v))
	var b strings.Builder
	for _, html := range []bool{true, false} {
		b.Reset()
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil { // a string always encodes
			add(strings.TrimSuffix(b.String(), "\n"))
		}
	}
	return out
}

// Empty reports whether s holds no secret.
func (s *Secrets) Empty() bool { return s == nil || len(s.vals) == 0 }

// Values returns a copy of the secret values, longest first.
func (s *Secrets) Values() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.vals)
}

// Contains reports whether text holds one of the secrets.
func (s *Secrets) Contains(text string) bool {
	if s == nil {
		return false
	}
	for _, v := range s.vals {
		if strings.Contains(text, v) {
			return true
		}
	}
	return false
}

// Scrub returns text with every occurrence of a secret replaced by Mask.
func (s *Secrets) Scrub(text string) string {
	if s == nil {
		return text
	}
	for _, v := range s.vals {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mask)
		}
	}
	return text
}

// Set holds the current Secrets of one connector; its owner replaces them
// with Store while readers (log handlers, error paths) Load them without
// locking. The zero value holds none. Safe for concurrent use.
type Set struct {
	p atomic.Pointer[Secrets]
}

// Store replaces the secrets.
func (s *Set) Store(secrets *Secrets) { s.p.Store(secrets) }

// Load returns the current secrets (nil when none were stored).
func (s *Set) Load() *Secrets { return s.p.Load() }

// Scrub masks the current secrets in text (see Secrets.Scrub).
func (s *Set) Scrub(text string) string { return s.p.Load().Scrub(text) }

// handler is the slog.Handler NewHandler returns.
type handler struct {
	inner slog.Handler
	set   *Set
}

// NewHandler returns a handler that passes every record to inner with the
// secrets of set (as they are when the record is handled) masked in its
// message and attribute values: strings, errors (replaced by their masked
// text), []byte, fmt.Stringer and other values (replaced by their masked
// %+v text when that text holds a secret), LogValuers (resolved first) and
// groups, recursively. Attributes added with WithAttrs are masked with the
// secrets current at that call. Records without a secret go through
// unchanged.
func NewHandler(inner slog.Handler, set *Set) slog.Handler {
	return &handler{inner: inner, set: set}
}

// Enabled implements slog.Handler.
func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	s := h.set.Load()
	if s.Empty() {
		return h.inner.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, s.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(s, a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	s := h.set.Load()
	scrubbed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		scrubbed[i] = scrubAttr(s, a)
	}
	return &handler{inner: h.inner.WithAttrs(scrubbed), set: h.set}
}

// WithGroup implements slog.Handler.
func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), set: h.set}
}

// scrubAttr returns a with the secrets masked in its value.
func scrubAttr(s *Secrets, a slog.Attr) slog.Attr {
	if s.Empty() {
		return a
	}
	a.Key = s.Scrub(a.Key)
	v := a.Value.Resolve()
	a.Value = v
	switch v.Kind() {
	case slog.KindString:
		if t := v.String(); s.Contains(t) {
			a.Value = slog.StringValue(s.Scrub(t))
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = scrubAttr(s, ga)
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		var text string
		switch x := v.Any().(type) {
		case nil:
			return a
		case error:
			text = x.Error()
		case []byte:
			if t := string(x); s.Contains(t) {
				a.Value = slog.AnyValue([]byte(s.Scrub(t)))
			}
			return a
		default:
			text = fmt.Sprintf("%+v", x)
		}
		if s.Contains(text) {
			a.Value = slog.StringValue(s.Scrub(text))
		}
	}
	return a
}

// ScrubberOf returns the scrub function of the Set behind l when l's
// handler was made by NewHandler (also after With and WithGroup), else nil.
func ScrubberOf(l *slog.Logger) func(string) string {
	if l == nil {
		return nil
	}
	if h, ok := l.Handler().(*handler); ok {
		return h.set.Scrub
	}
	return nil
}
