package javavalues

import "testing"

// Expectations are Java 17's Character.digit(char, 10); U+1D7CE is two chars
// in Java (a surrogate pair), neither of them a digit.
func TestDigit(t *testing.T) {
	for _, c := range []struct {
		r    rune
		want int
		ok   bool
	}{
		{'0', 0, true}, {'9', 9, true}, {'a', 0, false}, {'\u0661', 1, true}, {'\u0669', 9, true},
		{'\uff15', 5, true}, {'\u0966', 0, true}, {'\U0001D7CE', 0, false}, {'\u00b2', 0, false},
	} {
		if got, ok := Digit(c.r); got != c.want || ok != c.ok {
			t.Errorf("Digit(%U) = %d, %v; Java: %d, %v", c.r, got, ok, c.want, c.ok)
		}
	}
}
