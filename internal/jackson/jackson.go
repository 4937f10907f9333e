// Package jackson writes JSON text byte for byte as Kafka Connect's Jackson
// does, for the converters (JSON, Avro schemas) and the offsets-topic codec.
package jackson

import (
	"unicode/utf16"
	"unicode/utf8"
)

const hexUpper = "0123456789ABCDEF"

// jsonEscape[c] is 0 when ASCII byte c is written as is, else the letter of
// its short escape ('n' for '\n'), or 'u' for \u00XX.
var jsonEscape = func() (t [utf8.RuneSelf]byte) {
	for c := 0; c < 0x20; c++ {
		t[c] = 'u'
	}
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = 'b', 't', 'n', 'f', 'r'
	t['"'], t['\\'] = '"', '\\'
	return t
}()

// AppendString appends s as a JSON string the way Jackson's
// UTF8JsonGenerator writes it (as checked against Kafka Connect 4.3.1's
// JsonConverter): '"' and '\\' escaped, control characters as \b \t \n \f
// \r or \u00XX (upper-case hex), characters outside the Basic Multilingual
// Plane as the escapes of their UTF-16 surrogate pair ("\uD83D\uDE00",
// upper-case hex), everything else (including DEL, U+2028/2029 and U+FFFF)
// verbatim as UTF-8. Invalid UTF-8 is replaced by U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			e := jsonEscape[c]
			if e == 0 {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			if e == 'u' {
				dst = append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf])
			} else {
				dst = append(dst, '\\', e)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		if size == 4 {
			dst = append(dst, s[start:i]...)
			hi, lo := utf16.EncodeRune(r)
			dst = appendU(appendU(dst, hi), lo)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendU appends the escape \uXXXX of a UTF-16 code unit, upper-case hex.
func appendU(dst []byte, u rune) []byte {
	return append(dst, '\\', 'u', hexUpper[u>>12&0xf], hexUpper[u>>8&0xf], hexUpper[u>>4&0xf], hexUpper[u&0xf])
}
