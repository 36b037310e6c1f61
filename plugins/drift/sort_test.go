package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortFloatsMatchesSlicesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 10, 5000, 100_000} {
		for _, gen := range []func() float64{
			func() float64 { return r.NormFloat64() * 1e3 },
			func() float64 { return float64(r.IntN(7) - 3) },                   // ties, negatives, zero
			func() float64 { return math.Ldexp(r.Float64(), r.IntN(200)-100) }, // wide exponents
			func() float64 { return -r.ExpFloat64() },
		} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen()
			}
			want := slices.Clone(x)
			slices.Sort(want)
			sortFloats(x)
			if !slices.Equal(x, want) {
				t.Fatalf("n=%d: radix sort differs from slices.Sort", n)
			}
		}
	}
}
