package latency

import (
	"math"
	"testing"
)

var inf = math.Inf(1)

// interpolate is histogram_quantile's step inside a bucket, written as
// Prometheus evaluates it in float64: start + (end−start)·(rank/count). Go
// would fold a constant expression exactly, which can differ in the last
// bit.
func interpolate(start, end, rank, count float64) float64 {
	return start + (end-start)*(rank/count)
}

// TestBucketQuantile checks BucketQuantile against values worked out by hand
// with Prometheus's histogram_quantile rule: rank = q·total, first bucket
// whose cumulative count >= rank, linear interpolation from the previous
// bound (0 below the lowest bucket), the second-highest bound when the rank
// falls in +Inf.
func TestBucketQuantile(t *testing.T) {
	// 10 observations <= 1, 10 in (1,2], 20 in (2,4], none above 4.
	base := []Bucket{{1, 10}, {2, 20}, {4, 40}, {inf, 40}}
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		want    float64
	}{
		// rank 20 = c[1] exactly: the lower bucket wins, its bound returned.
		{"median on a bucket boundary", 0.5, base, 2},
		{"rank on the first boundary", 0.25, base, 1},
		// rank 4 in the lowest bucket: 0 + 1·4/10.
		{"lowest bucket interpolates from zero", 0.1, base, 0.4},
		// rank 24: bucket (2,4], 4 of its 20: 2 + 2·4/20.
		{"interpolation inside a bucket", 0.6, base, 2.4},
		// rank 40 = c[2]: 2 + 2·20/20.
		{"q=1 ends at the last finite bound with observations", 1, base, 4},
		{"q=0 with a non-empty first bucket", 0, base, 0},
		// 20 of 40 observations above 2: rank 36 is in +Inf, so the
		// second-highest bound, with no extrapolation.
		{"rank in +Inf returns the highest finite bound", 0.9, []Bucket{{1, 10}, {2, 20}, {inf, 40}}, 2},
		{"q=1 with observations in +Inf", 1, []Bucket{{1, 10}, {inf, 11}}, 1},
		// rank 20: bucket (1,2] holds 10, 10 of them: 1 + 1·10/10.
		{"median with +Inf populated", 0.5, []Bucket{{1, 10}, {2, 20}, {inf, 40}}, 2},
		// lowest bound <= 0: the bound itself, no interpolation.
		{"lowest bucket bound negative", 0.1, []Bucket{{-1, 5}, {0, 10}, {1, 20}, {inf, 20}}, -1},
		// rank 8 in (-1,0], 3 of its 5: -1 + 1·3/5.
		{"negative buckets interpolate normally above the lowest", 0.4, []Bucket{{-1, 5}, {0, 10}, {1, 20}, {inf, 20}}, -0.4},
		{"lowest bucket bound zero", 0.2, []Bucket{{0, 5}, {1, 20}, {inf, 20}}, 0},
		// Sorting: the same buckets in any order give the same answer.
		{"unsorted input", 0.6, []Bucket{{inf, 40}, {2, 20}, {4, 40}, {1, 10}}, 2.4},
		// Equal bounds are added: {1:10, 2:20, +Inf:20}, rank 10 -> 1.
		{"equal bounds merged", 0.5, []Bucket{{1, 5}, {1, 5}, {2, 20}, {inf, 20}}, 1},
		// Non-monotonic counts are raised to the running envelope:
		// {1:10, 2:10, 3:20, +Inf:20}; rank 15 -> 2 + 1·5/10.
		{"non-monotonic counts forced up", 0.75, []Bucket{{1, 10}, {2, 8}, {3, 20}, {inf, 20}}, 2.5},
		{"non-monotonic, rank in the raised bucket", 0.5, []Bucket{{1, 10}, {2, 8}, {3, 20}, {inf, 20}}, 1},
		// Float noise: 10 vs 9.999999999999 differs by 5e-14 relative, below
		// 1e-12, so the second count becomes the first. Rank 10 then skips
		// both and lands in (2,3]. Without the fix the answer would be
		// exactly 2.
		{"float noise absorbed", 0.5, []Bucket{{1, 9.999999999999}, {2, 10}, {3, 20}, {inf, 20}},
			interpolate(2, 3, 10-9.999999999999, 20-9.999999999999)},
		// Prometheus default buckets (seconds), 100 observations:
		// 50 <= 5ms, 40 in (5,10]ms, 9 in (10,25]ms, 1 in (25,50]ms.
		// p95: rank 95 in (0.01,0.025]: 0.01 + 0.015·5/9.
		{"default buckets p95", 0.95, []Bucket{{0.005, 50}, {0.01, 90}, {0.025, 99}, {0.05, 100}, {0.075, 100}, {0.1, 100}, {inf, 100}},
			interpolate(0.01, 0.025, 5, 9)},
		// p99: rank 99 = c[2]: 0.025.
		{"default buckets p99 on a boundary", 0.99, []Bucket{{0.005, 50}, {0.01, 90}, {0.025, 99}, {0.05, 100}, {0.075, 100}, {0.1, 100}, {inf, 100}}, 0.025},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BucketQuantile(tt.q, append([]Bucket(nil), tt.buckets...))
			if got != tt.want {
				t.Errorf("BucketQuantile(%v, %v) = %v, want %v", tt.q, tt.buckets, got, tt.want)
			}
		})
	}
}

// TestBucketQuantileUndefined covers the cases where histogram_quantile
// gives NaN or an infinity.
func TestBucketQuantileUndefined(t *testing.T) {
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		want    float64 // NaN, +Inf or -Inf
	}{
		{"no +Inf bucket", 0.5, []Bucket{{1, 10}, {2, 20}}, math.NaN()},
		{"no observations", 0.5, []Bucket{{1, 0}, {inf, 0}}, math.NaN()},
		{"only +Inf", 0.5, []Bucket{{inf, 5}}, math.NaN()},
		{"no buckets", 0.5, nil, math.NaN()},
		// rank 0 in an empty lowest bucket: 0·(0/0).
		{"q=0 with an empty first bucket", 0, []Bucket{{1, 0}, {2, 10}, {inf, 10}}, math.NaN()},
		{"q NaN", math.NaN(), []Bucket{{1, 10}, {inf, 10}}, math.NaN()},
		{"q below 0", -0.1, []Bucket{{1, 10}, {inf, 10}}, math.Inf(-1)},
		{"q above 1", 1.1, []Bucket{{1, 10}, {inf, 10}}, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BucketQuantile(tt.q, tt.buckets)
			same := got == tt.want || (math.IsNaN(got) && math.IsNaN(tt.want))
			if !same {
				t.Errorf("BucketQuantile(%v, %v) = %v, want %v", tt.q, tt.buckets, got, tt.want)
			}
		})
	}
}

func TestAlmostEqual(t *testing.T) {
	tests := []struct {
		a, b float64
		want bool
	}{
		{1, 1, true},
		{10, 10.0000000000001, true},
		{10, 10.00000001, false},
		{0, 1e-300, false},
		{0, 0, true},
		{math.NaN(), math.NaN(), true},
	}
	for _, tt := range tests {
		if got := almostEqual(tt.a, tt.b, smallDeltaTolerance); got != tt.want {
			t.Errorf("almostEqual(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
