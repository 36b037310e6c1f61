package drift

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// writeBenchCSV writes rows of 5 numeric columns like the benchmark
// (test/drift/bench runs the full 1,000,000-row job side by side with scipy).
func writeBenchCSV(b *testing.B, path string, rows int, shift float64, seed uint64) {
	b.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	buf := []byte("normal,exponential,integer,lognormal,uniform\n")
	for i := 0; i < rows; i++ {
		buf = fmt.Appendf(buf, "%.6f,%.6f,%d,%.6f,%.6f\n", r.NormFloat64()+shift, r.ExpFloat64()*(1+shift),
			r.IntN(100), r.NormFloat64()*0.5+shift, shift+r.Float64()*(1-shift))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.Fatal(err)
	}
}

func benchmarkCheck(b *testing.B, rows int, method string) {
	dir := b.TempDir()
	ref, cur := filepath.Join(dir, "ref.csv"), filepath.Join(dir, "cur.csv")
	writeBenchCSV(b, ref, rows, 0, 1)
	writeBenchCSV(b, cur, rows, 0.05, 2)
	b.ResetTimer()
	for b.Loop() {
		res := Check(context.Background(), Options{Reference: ref, Current: cur, Method: method}, plugin.Thresholds{})
		if res.Status == plugin.Unknown {
			b.Fatal(res.Render("DRIFT"))
		}
	}
}

func BenchmarkCheckCSV100k(b *testing.B)    { benchmarkCheck(b, 100_000, MethodAuto) }
func BenchmarkCheckCSV100kKS(b *testing.B)  { benchmarkCheck(b, 100_000, MethodKS) }
func BenchmarkCheckCSV100kPSI(b *testing.B) { benchmarkCheck(b, 100_000, MethodPSI) }

func BenchmarkKS2SampExact10k(b *testing.B) {
	x, y := benchSamples(10_000, 9_000)
	for b.Loop() {
		KS2Samp(x, y)
	}
}

func BenchmarkKS2SampAsymp1M(b *testing.B) {
	x, y := benchSamples(1_000_000, 1_000_000)
	for b.Loop() {
		KS2Samp(x, y)
	}
}

func benchSamples(n1, n2 int) ([]float64, []float64) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float64, n1), make([]float64, n2)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	for i := range y {
		y[i] = r.NormFloat64() + 0.01
	}
	slices.Sort(x)
	slices.Sort(y)
	return x, y
}
