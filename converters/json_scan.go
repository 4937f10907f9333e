package converters

import (
	"fmt"
	"github.com/sluicehq/sluice/internal/javavalues"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON arrays and objects (and of schemas), as
// Jackson's StreamReadConstraints do (1000 by default).
const maxDepth = 1000

// scanner is a small JSON tokenizer over a byte slice. It validates what it
// reads (RFC 8259 grammar) and never panics on malformed input: every problem
// is returned as an error naming the byte offset.
type scanner struct {
	data  []byte
	pos   int
	depth int
	// scratch holds unescaped key bytes between readKey calls.
	scratch []byte
	// share makes readString and memberKeyString return strings without
	// escapes as substrings of text, one copy of data[textBase:] made at
	// the first such string, instead of one allocation per string (see
	// maxSharedText). Set for payloads only: parsed schemas are cached,
	// and must not keep a record's text alive.
	share    bool
	text     string
	textBase int
}

// maxSharedText bounds the copy that a record's strings share, so that a
// string kept after the record was dropped keeps at most this many bytes
// alive. Strings further than this from the end of the data are
// allocated on their own (until the rest is short enough to share).
const maxSharedText = 4096

// shareStrings turns scanner.share off when false; tests compare results
// with and without sharing.
var shareStrings = true

// syntaxError is a malformed-JSON error; the JSON converter wraps it in a
// DataError.
type syntaxError struct {
	off int
	msg string
}

// Error implements error.
func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.off, e.msg)
}

func (s *scanner) errf(format string, args ...any) error {
	return &syntaxError{off: s.pos, msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *scanner) eof() bool { s.ws(); return s.pos >= len(s.data) }

// rootNumberEnd checks what immediately follows a top-level value that
// began at start, as Jackson does: after a number it requires whitespace or
// the end ("1}" and "1.5x" are errors in Kafka Connect, "Expected space
// separating root-level values"); Jackson also takes a NUL after a
// single-digit number ("1\x00" reads as 1). Other values end by themselves.
func (s *scanner) rootNumberEnd(start int) error {
	if start >= len(s.data) || s.pos >= len(s.data) {
		return nil
	}
	if c := s.data[start]; c != '-' && (c < '0' || c > '9') {
		return nil
	}
	switch c := s.data[s.pos]; {
	case c == ' ', c == '\t', c == '\n', c == '\r':
		return nil
	case c == 0 && s.pos-start == 1 && s.data[start] != '-':
		return nil
	}
	return s.errf("unexpected character %s after a top-level number (a space must separate top-level values)", quoteByte(s.data[s.pos]))
}

// trailingValue reports whether what follows the JSON value just read
// begins another JSON value (after whitespace: an object, array, string,
// number, true, false or null). Kafka Connect (Jackson's readTree) stops
// after the first value and ignores the rest: Sluice accepts any other
// trailing data as it does (a NUL, a Ctrl-Z, a stray brace), but refuses a
// second document, which Kafka Connect would drop without a word.
func (s *scanner) trailingValue() bool {
	if s.eof() {
		return false
	}
	switch c := s.data[s.pos]; {
	case c == '{', c == '[', c == '"', c == '-', c >= '0' && c <= '9', c == 't', c == 'f', c == 'n':
		return true
	}
	return false
}

func (s *scanner) unexpected() error {
	if s.pos >= len(s.data) {
		return s.errf("unexpected end of input")
	}
	return s.errf("unexpected character %s", quoteByte(s.data[s.pos]))
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("0x%02x", c)
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return s.errf("unexpected end of input, expected %q", c)
		}
		return s.errf("unexpected character %s, expected %q", quoteByte(s.data[s.pos]), c)
	}
	s.pos++
	return nil
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.errf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (s *scanner) leave() { s.depth-- }

// literal consumes the literal word (true, false, null) at the position.
func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.unexpected()
	}
	s.pos += len(word)
	return nil
}

// kindOf describes the JSON value starting with c, for error messages.
func kindOf(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	case c == 0:
		return "end of input"
	}
	return "invalid JSON"
}

// readNumber consumes a JSON number and returns its text and whether it is
// integral (no fraction, no exponent), as Jackson classifies numbers. Like
// Kafka Connect's JsonConverter (Jackson with leading zeros allowed) it
// accepts leading zeros: "007" is 7, "-01.5" is -1.5.
func (s *scanner) readNumber() (raw []byte, integral bool, err error) {
	start := s.pos
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] >= '0' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, false, s.unexpected()
	}
	integral = true
	if i < len(d) && d[i] == '.' {
		integral = false
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, false, s.errf("number has no digits after the decimal point")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		integral = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, false, s.errf("number has no digits in its exponent")
		}
	}
	if i-start > javavalues.MaxNumberLen {
		return nil, false, s.errf("number longer than %d characters", javavalues.MaxNumberLen)
	}
	s.pos = i
	return d[start:i], integral, nil
}

// readStringRaw consumes a JSON string and returns the content inside the
// quotes (aliasing the input). plain is true when that content holds no
// escapes and is valid UTF-8, so it can be used as is; otherwise the caller
// must pass it through unescape.
func (s *scanner) readStringRaw() (raw []byte, plain bool, err error) {
	if s.peek() != '"' {
		return nil, false, s.unexpected()
	}
	s.pos++
	start := s.pos
	d := s.data
	plain = true
	high := false
	// Skip the common bytes (printable ASCII other than '"' and '\\')
	// before looking at each byte's kind.
	i := start
	for i < len(d) && plainStringByte[d[i]] {
		i++
	}
	for ; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			raw = d[start:i]
			if high && !utf8.Valid(raw) {
				// Jackson (Kafka Connect's JsonConverter) refuses
				// invalid UTF-8 too.
				s.pos = start + invalidUTF8At(raw)
				return nil, false, s.errf("invalid UTF-8 in string")
			}
			return raw, plain, nil
		case c == '\\':
			plain = false
			i++
			if i >= len(d) {
				s.pos = i
				return nil, false, s.errf("unterminated string")
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) {
					s.pos = i
					return nil, false, s.errf("unterminated string")
				}
				for k := 1; k <= 4; k++ {
					if unhex(d[i+k]) < 0 {
						s.pos = i + k
						return nil, false, s.errf("invalid \\u escape")
					}
				}
				i += 4
			default:
				s.pos = i
				return nil, false, s.errf("invalid escape character %s", quoteByte(d[i]))
			}
		case c < 0x20:
			s.pos = i
			return nil, false, s.errf("control character %s in string", quoteByte(c))
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	s.pos = len(d)
	return nil, false, s.errf("unterminated string")
}

// plainStringByte[c] says that byte c stands for itself inside a JSON
// string and needs no check: printable ASCII other than '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// invalidUTF8At returns the offset of the first invalid UTF-8 sequence in b.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the content of a string validated by readStringRaw to dst,
// resolving escapes and replacing unpaired surrogate escapes (which Java
// strings hold, Go strings cannot) with U+FFFD.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			i++
			switch raw[i] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := rune(hex4(raw[i+1:]))
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
						r2 = rune(hex4(raw[i+3:]))
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, raw[i])
			}
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

func hex4(b []byte) int {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// readString consumes a JSON string and returns it as a new Go string (never
// aliasing the input).
func (s *scanner) readString() (string, error) {
	raw, plain, err := s.readStringRaw()
	if err != nil {
		return "", err
	}
	if plain {
		return s.str(raw), nil
	}
	return string(unescape(make([]byte, 0, len(raw)), raw)), nil
}

// str returns the string raw (the escape-free content of the string that
// ends just before s.pos) as a new string or, with share, a substring of
// the shared copy.
func (s *scanner) str(raw []byte) string {
	if !s.share || !shareStrings || len(raw) == 0 {
		return string(raw)
	}
	end := s.pos - 1 // the closing quote
	start := end - len(raw)
	if s.text == "" {
		if len(s.data)-start > maxSharedText {
			return string(raw)
		}
		s.textBase = start
		s.text = string(s.data[start:])
	}
	return s.text[start-s.textBase : end-s.textBase]
}

// memberKeyString is memberKey returning the key as a string (shared as
// readString's, see scanner.share).
func (s *scanner) memberKeyString() (string, error) {
	raw, plain, err := s.readStringRaw()
	if err != nil {
		return "", err
	}
	var k string
	if plain {
		k = s.str(raw)
	} else {
		s.scratch = unescape(s.scratch[:0], raw)
		k = string(s.scratch)
	}
	if err := s.expect(':'); err != nil {
		return "", err
	}
	s.ws()
	return k, nil
}

// readKey consumes an object key; the returned bytes are valid until the next
// readKey call.
func (s *scanner) readKey() ([]byte, error) {
	raw, plain, err := s.readStringRaw()
	if err != nil {
		return nil, err
	}
	if plain {
		return raw, nil
	}
	s.scratch = unescape(s.scratch[:0], raw)
	return s.scratch, nil
}

// skip consumes one JSON value of any kind, validating it, and returns its
// text.
func (s *scanner) skip() ([]byte, error) {
	c := s.peek()
	start := s.pos
	var err error
	switch {
	case c == '{':
		err = s.skipContainer('{', '}', true)
	case c == '[':
		err = s.skipContainer('[', ']', false)
	case c == '"':
		_, _, err = s.readStringRaw()
	case c == 't':
		err = s.literal("true")
	case c == 'f':
		err = s.literal("false")
	case c == 'n':
		err = s.literal("null")
	default:
		_, _, err = s.readNumber()
	}
	if err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

func (s *scanner) skipContainer(open, close byte, object bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	s.pos++ // open
	if s.peek() == close {
		s.pos++
		s.leave()
		return nil
	}
	for {
		if object {
			if _, _, err := s.readStringRaw(); err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
		}
		if _, err := s.skip(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case close:
			s.pos++
			s.leave()
			return nil
		default:
			return s.unexpected()
		}
	}
}

// open consumes the opening bracket of an object ('{') or array ('[') and,
// when the container is empty, its closing bracket too (empty is then true).
func (s *scanner) open(open, close byte) (empty bool, err error) {
	if err := s.expect(open); err != nil {
		return false, err
	}
	if err := s.enter(); err != nil {
		return false, err
	}
	if s.peek() == close {
		s.pos++
		s.leave()
		return true, nil
	}
	return false, nil
}

// next consumes the separator after a member or element: ',' (more is true)
// or the closing bracket (more is false).
func (s *scanner) next(close byte) (more bool, err error) {
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case close:
		s.pos++
		s.leave()
		return false, nil
	}
	return false, s.unexpected()
}

// memberKey reads an object member's key and the colon after it, leaving the
// scanner at the value. The key is valid until the next memberKey call.
func (s *scanner) memberKey() ([]byte, error) {
	key, err := s.readKey()
	if err != nil {
		return nil, err
	}
	if err := s.expect(':'); err != nil {
		return nil, err
	}
	s.ws()
	return key, nil
}
