package converters

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// charset is a Java character set the String converter supports
// (converter.encoding): the zero value is UTF-8.
type charset uint8

const (
	charsetUTF8 charset = iota
	charsetUTF16
	charsetUTF16BE
	charsetUTF16LE
	charsetISO88591
	charsetASCII
)

var charsetNames = [...]string{"UTF-8", "UTF-16", "UTF-16BE", "UTF-16LE", "ISO-8859-1", "US-ASCII"}

// String returns the canonical Java name of the character set.
func (c charset) String() string { return charsetNames[c] }

// charsetAliases maps Java's names and aliases of the supported character
// sets (matched case-insensitively, as Charset.forName does) to them.
var charsetAliases = map[string]charset{
	"utf-8": charsetUTF8, "utf8": charsetUTF8, "unicode-1-1-utf-8": charsetUTF8,
	"utf-16": charsetUTF16, "utf16": charsetUTF16, "utf_16": charsetUTF16, "unicode": charsetUTF16, "unicodebig": charsetUTF16,
	"utf-16be": charsetUTF16BE, "utf_16be": charsetUTF16BE, "x-utf-16be": charsetUTF16BE, "iso-10646-ucs-2": charsetUTF16BE, "unicodebigunmarked": charsetUTF16BE,
	"utf-16le": charsetUTF16LE, "utf_16le": charsetUTF16LE, "x-utf-16le": charsetUTF16LE, "unicodelittleunmarked": charsetUTF16LE,
	"iso-8859-1": charsetISO88591, "iso8859-1": charsetISO88591, "iso8859_1": charsetISO88591, "iso_8859_1": charsetISO88591,
	"iso_8859-1": charsetISO88591, "iso_8859-1:1987": charsetISO88591, "iso-ir-100": charsetISO88591, "8859_1": charsetISO88591,
	"latin1": charsetISO88591, "l1": charsetISO88591, "ibm819": charsetISO88591, "ibm-819": charsetISO88591, "cp819": charsetISO88591,
	"csisolatin1": charsetISO88591, "819": charsetISO88591,
	"us-ascii": charsetASCII, "ascii": charsetASCII, "iso646-us": charsetASCII, "us": charsetASCII, "iso_646.irv:1991": charsetASCII,
	"csascii": charsetASCII, "646": charsetASCII, "cp367": charsetASCII, "ibm367": charsetASCII, "iso-ir-6": charsetASCII,
	"ascii7": charsetASCII, "default": charsetASCII, "ansi_x3.4-1968": charsetASCII, "ansi_x3.4-1986": charsetASCII,
}

func lookupCharset(name string) (charset, bool) {
	c, ok := charsetAliases[strings.ToLower(strings.TrimSpace(name))]
	return c, ok
}

// encode returns s in the character set as Java's String.getBytes does:
// characters the set lacks become '?', one per character (a character
// outside the BMP too); the "UTF-16" set starts a non-empty string with the
// big-endian byte order mark. Invalid UTF-8 in s counts as U+FFFD (what Java
// would have decoded). UTF-8 strings are returned as they are.
func (c charset) encode(s string) []byte {
	switch c {
	case charsetISO88591, charsetASCII:
		limit := rune(0x100)
		if c == charsetASCII {
			limit = 0x80
		}
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r >= limit {
				r = '?'
			}
			out = append(out, byte(r))
		}
		return out
	case charsetUTF16, charsetUTF16BE, charsetUTF16LE:
		out := make([]byte, 0, 2*len(s)+2)
		if c == charsetUTF16 && s != "" {
			out = append(out, 0xFE, 0xFF)
		}
		put := func(u uint16) {
			if c == charsetUTF16LE {
				out = append(out, byte(u), byte(u>>8))
			} else {
				out = append(out, byte(u>>8), byte(u))
			}
		}
		for _, r := range s {
			if r >= 0x10000 {
				hi, lo := utf16.EncodeRune(r)
				put(uint16(hi))
				put(uint16(lo))
			} else {
				put(uint16(r))
			}
		}
		return out
	}
	return []byte(s)
}

// decode returns data as a string as Java's new String(data, charset) does:
// bytes ISO-8859-1 maps to U+0000..U+00FF, US-ASCII's bytes from 0x80 and
// malformed UTF-16 become U+FFFD ("UTF-16" reads a byte order mark, and
// without one big-endian); malformed UTF-8 becomes U+FFFD as
// decodeJavaUTF8 describes.
func (c charset) decode(data []byte) string {
	switch c {
	case charsetISO88591:
		var b strings.Builder
		b.Grow(len(data) + len(data)/4)
		for _, x := range data {
			b.WriteRune(rune(x))
		}
		return b.String()
	case charsetASCII:
		var b strings.Builder
		b.Grow(len(data))
		for _, x := range data {
			if x >= 0x80 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteByte(x)
			}
		}
		return b.String()
	case charsetUTF16, charsetUTF16BE, charsetUTF16LE:
		le := c == charsetUTF16LE
		if c == charsetUTF16 && len(data) >= 2 {
			switch {
			case data[0] == 0xFE && data[1] == 0xFF:
				data = data[2:]
			case data[0] == 0xFF && data[1] == 0xFE:
				data, le = data[2:], true
			}
		}
		unit := func(i int) rune {
			if le {
				return rune(data[i]) | rune(data[i+1])<<8
			}
			return rune(data[i])<<8 | rune(data[i+1])
		}
		var b strings.Builder
		b.Grow(len(data))
		i := 0
		for ; i+1 < len(data); i += 2 {
			u := unit(i)
			switch {
			case utf16.IsSurrogate(u) && u < 0xDC00: // high
				if i+3 >= len(data) {
					// Truncated: the rest is one malformed sequence.
					b.WriteRune(utf8.RuneError)
					return b.String()
				}
				u2 := unit(i + 2)
				i += 2 // a high surrogate and its follower are one unit of error
				if u2 >= 0xDC00 && u2 <= 0xDFFF {
					b.WriteRune(utf16.DecodeRune(u, u2))
				} else {
					b.WriteRune(utf8.RuneError)
				}
			case utf16.IsSurrogate(u): // lone low
				b.WriteRune(utf8.RuneError)
			default:
				b.WriteRune(u)
			}
		}
		if i < len(data) {
			b.WriteRune(utf8.RuneError)
		}
		return b.String()
	}
	return decodeJavaUTF8(data)
}

// decodeJavaUTF8 returns data as Java's new String(data, UTF_8) does: valid
// data unchanged; each malformed sequence replaced with one U+FFFD, the
// sequence's length chosen as Java's decoder (JDK 17's String.decodeUTF8)
// chooses it, which is Unicode's "maximal subpart" practice except that an
// encoded surrogate (ED A0..BF xx) is one sequence.
func decodeJavaUTF8(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	notCont := func(b byte) bool { return b&0xc0 != 0x80 }
	var b strings.Builder
	b.Grow(len(data) + 8)
	sl := len(data)
	for sp := 0; sp < sl; {
		b1 := data[sp]
		sp++
		switch {
		case b1 < 0x80:
			b.WriteByte(b1)
		case b1>>5 == 0x6 && b1&0x1e != 0: // C2..DF
			if sp < sl {
				if notCont(data[sp]) {
					b.WriteRune(utf8.RuneError)
				} else {
					b.Write(data[sp-1 : sp+1])
					sp++
				}
				continue
			}
			b.WriteRune(utf8.RuneError)
		case b1>>4 == 0xe: // E0..EF
			bad2 := func(b2 byte) bool { return (b1 == 0xe0 && b2&0xe0 == 0x80) || notCont(b2) }
			if sp+1 < sl {
				b2, b3 := data[sp], data[sp+1]
				switch {
				case bad2(b2):
					b.WriteRune(utf8.RuneError)
				case notCont(b3):
					b.WriteRune(utf8.RuneError)
					sp++
				default:
					if b1 == 0xed && b2 >= 0xa0 { // a surrogate
						b.WriteRune(utf8.RuneError)
					} else {
						b.Write(data[sp-1 : sp+2])
					}
					sp += 2
				}
				continue
			}
			if sp < sl && bad2(data[sp]) {
				b.WriteRune(utf8.RuneError)
				continue
			}
			b.WriteRune(utf8.RuneError)
			sp = sl
		case b1>>3 == 0x1e: // F0..F7
			bad2 := func(b2 byte) bool {
				return b1 > 0xf4 || (b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) || (b1 == 0xf4 && b2&0xf0 != 0x80) || notCont(b2)
			}
			if sp+2 < sl {
				b2, b3, b4 := data[sp], data[sp+1], data[sp+2]
				switch {
				case bad2(b2):
					b.WriteRune(utf8.RuneError)
				case notCont(b3):
					b.WriteRune(utf8.RuneError)
					sp++
				case notCont(b4):
					b.WriteRune(utf8.RuneError)
					sp += 2
				default:
					b.Write(data[sp-1 : sp+3])
					sp += 3
				}
				continue
			}
			if b1 > 0xf4 || (sp < sl && bad2(data[sp])) {
				b.WriteRune(utf8.RuneError)
				continue
			}
			sp++
			b.WriteRune(utf8.RuneError)
			if sp < sl && notCont(data[sp]) {
				continue
			}
			sp = sl
		default:
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}
