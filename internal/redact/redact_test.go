package redact_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/redact"
)

func TestScrubLongestFirstMinLenBase64(t *testing.T) {
	s := redact.New("abc", "hunter22", "hunter22-long", redact.Mask, "hunter22")
	got := s.Scrub("a hunter22-long, a hunter22, abc and " + base64.StdEncoding.EncodeToString([]byte("hunter22")))
	want := "a [hidden], a [hidden], abc and [hidden]"
	if got != want {
		t.Errorf("Scrub = %q, want %q", got, want)
	}
	vals := s.Values()
	if slices.Contains(vals, "abc") || slices.Contains(vals, redact.Mask) {
		t.Errorf("values %q hold a too short value or the mask", vals)
	}
	if len(vals) != 4 { // two secrets and their base64 forms, deduplicated
		t.Errorf("values %q: want 4", vals)
	}
	var none *redact.Secrets
	if none.Scrub("hunter22") != "hunter22" || !none.Empty() || none.Contains("x") {
		t.Error("a nil Secrets masks something")
	}
}

type stringer struct{ v string }

func (s stringer) String() string { return "stringer " + s.v }

type valuer struct{ v string }

func (v valuer) LogValue() slog.Value { return slog.StringValue("valuer " + v.v) }

// TestHandlerScrubsEveryValueKind: the message, string, error, []byte,
// Stringer, struct, LogValuer and group values and WithAttrs attributes
// lose the secret, in the JSON and the text form; a secret added to the Set
// later is masked from then on.
func TestHandlerScrubsEveryValueKind(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var inner slog.Handler = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			if format == "text" {
				inner = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			var set redact.Set
			set.Store(redact.New(secret))
			log := slog.New(redact.NewHandler(inner, &set)).With("with", "w "+secret).WithGroup("g")
			log.Debug("message "+secret,
				"string", "x"+secret+"y",
				"error", fmt.Errorf("wrapped: %w", errors.New("cause "+secret)),
				"bytes", []byte("b "+secret),
				"stringer", stringer{secret},
				"struct", struct{ P string }{secret},
				"map", map[string]string{"k": secret},
				"valuer", valuer{secret},
				slog.Group("group", "inner", secret),
				"plain", 42)
			out := buf.String()
			if strings.Contains(out, secret) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("b "+secret))) {
				t.Errorf("the log line shows the secret:\n%s", out)
			}
			if n := strings.Count(out, redact.Mask); n < 9 {
				t.Errorf("%d masks, want ≥ 9:\n%s", n, out)
			}
			if !strings.Contains(out, "42") {
				t.Errorf("a value without a secret was lost:\n%s", out)
			}
			if redact.ScrubberOf(log) == nil {
				t.Error("ScrubberOf does not find the Set after With/WithGroup")
			}

			buf.Reset()
			set.Store(redact.New(secret, "later-secret"))
			log.Info("now later-secret")
			if strings.Contains(buf.String(), "later-secret") {
				t.Errorf("a secret stored later is not masked:\n%s", buf.String())
			}
			if got := redact.ScrubberOf(log)("later-secret"); got != redact.Mask {
				t.Errorf("ScrubberOf()(secret) = %q", got)
			}
		})
	}
	if redact.ScrubberOf(slog.Default()) != nil || redact.ScrubberOf(nil) != nil {
		t.Error("ScrubberOf finds a Set behind a plain logger")
	}
}

func TestHandlerWithoutSecretsPassesThrough(t *testing.T) {
	var buf bytes.Buffer
	var set redact.Set
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil), &set))
	log.Info("hello", "bytes", []byte("abc"))
	if !strings.Contains(buf.String(), `"bytes":"YWJj"`) || !strings.Contains(buf.String(), `"msg":"hello"`) {
		t.Errorf("line changed: %s", buf.String())
	}
}

// TestScrubEscapedForms: a secret holding characters that Go's %q or JSON
// escape is masked in its escaped form too (an error made with %q, a JSON
// log line or response body), with and without JSON's HTML escaping.
func TestScrubEscapedForms(t *testing.T) {
	const secret = "pa\"ss\\w<o>rd&\tü\x01"
	s := redact.New(secret)
	goErr := fmt.Errorf("login failed for password %q", secret).Error()
	htmlJSON, err := json.Marshal(map[string]string{"error": "bad " + secret})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string{"error": "bad " + secret}); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{goErr, string(htmlJSON), plain.String(), "raw " + secret} {
		got := s.Scrub(text)
		if strings.Contains(got, "rd&") || strings.Contains(got, `rd\u0026`) || !strings.Contains(got, redact.Mask) {
			t.Errorf("Scrub(%q) = %q: the secret is readable", text, got)
		}
	}
	// A secret without characters to escape gets no extra forms.
	if n := len(redact.New("hunter22").Values()); n != 2 {
		t.Errorf("%d values for a plain secret, want 2 (itself and base64)", n)
	}
}
