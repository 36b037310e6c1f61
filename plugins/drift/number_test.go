package drift

import (
	"math"
	"strconv"
	"testing"
)

// FuzzParseNumber: parseNumber is strconv.ParseFloat, bit for bit.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "-12.345678", ".5", "5.", "+3", "0.000001234", "123456789012345", "1234567890123456",
		"9007199254740993", "0.1", "1e5", "nan", "Inf", "", ".", "-", "1.2.3", "0.30000000000000004", "12345.6789012345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseNumber([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil || isRangeErr(err)
		if ok != wantOK {
			t.Fatalf("parseNumber(%q) ok = %v, ParseFloat err = %v", s, ok, err)
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("parseNumber(%q) = %v (%x), ParseFloat %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	})
}
