package javavalues

import "unicode"

// Digit is Java's Character.digit(ch, 10) for one UTF-16 unit: the value of
// an ASCII digit or of any other Unicode decimal digit (Nd) in the Basic
// Multilingual Plane. A character outside the BMP is two UTF-16 units in
// Java, neither of them a digit, so it is not one here either.
func Digit(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || r >= 0x10000 || !unicode.IsDigit(r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}
