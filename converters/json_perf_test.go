package converters

import (
	"math"
	"math/big"
	"testing"

	"github.com/sluicehq/sluice/internal/javafmt"
)

// decimalEdgeValues are unscaled values around every byte-length boundary
// of the two's-complement encoding, the int64 limits and beyond them.
func decimalEdgeValues() []*big.Int {
	var out []*big.Int
	for shift := uint(0); shift <= 80; shift++ {
		p := new(big.Int).Lsh(big.NewInt(1), shift)
		for _, d := range []int64{-2, -1, 0, 1} {
			v := new(big.Int).Add(p, big.NewInt(d))
			out = append(out, v, new(big.Int).Neg(v))
		}
	}
	return append(out, big.NewInt(0), big.NewInt(math.MaxInt64), big.NewInt(math.MinInt64), big.NewInt(1999950), big.NewInt(-1999950))
}

// TestAppendDecimalBase64MatchesTwosComplement: the allocation-free BASE64
// Decimal encoding writes the bytes of javafmt.TwosComplement (Java's
// BigInteger.toByteArray) for every value, inside and outside int64.
func TestAppendDecimalBase64MatchesTwosComplement(t *testing.T) {
	for _, v := range decimalEdgeValues() {
		want := string(appendBase64(nil, javafmt.TwosComplement(v)))
		if got := string(appendDecimalBase64(nil, v)); got != want {
			t.Errorf("%s: got %s, want %s", v, got, want)
		}
	}
	if got := string(appendDecimalBase64(nil, nil)); got != `"AA=="` {
		t.Errorf("nil: got %s, want \"AA==\"", got)
	}
}

// TestFromTwosComplementMatchesJavafmt: the one-allocation decoding reads
// every encoding (minimal or sign-padded, empty) as javafmt does, and its
// result is an ordinary big.Int that arithmetic may modify.
func TestFromTwosComplementMatchesJavafmt(t *testing.T) {
	inputs := [][]byte{nil, {}, {0}, {0xFF}, {0xFF, 0xFF}, {0, 0, 0x80}, {0x80}, {0x80, 0, 0, 0, 0, 0, 0, 0}, {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}
	for _, v := range decimalEdgeValues() {
		inputs = append(inputs, javafmt.TwosComplement(v))
	}
	for _, b := range inputs {
		want := javafmt.FromTwosComplement(b)
		got := fromTwosComplement(b)
		if got.Cmp(want) != 0 {
			t.Errorf("% x: got %s, want %s", b, got, want)
		}
		got.Add(got, big.NewInt(1))
		if want.Add(want, big.NewInt(1)); got.Cmp(want) != 0 {
			t.Errorf("% x: after +1 got %s, want %s", b, got, want)
		}
	}
}
