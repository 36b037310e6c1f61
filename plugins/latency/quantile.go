package latency

import (
	"math"
	"sort"
)

// Bucket is one cumulative histogram bucket: the count of observations less
// than or equal to UpperBound (the "le" label).
type Bucket struct {
	UpperBound float64
	Count      float64
}

// smallDeltaTolerance is the relative difference between neighbouring bucket
// counts that Prometheus treats as floating-point noise.
const smallDeltaTolerance = 1e-12

// BucketQuantile returns the q-quantile of a classic histogram exactly as
// Prometheus's histogram_quantile computes it (promql/quantile.go, 3.x):
// linear interpolation inside the bucket that holds rank q·total, the
// lowest bucket interpolated from 0 (or its bound returned when that bound is
// <= 0), and the second-highest bound returned when the rank falls in the
// +Inf bucket. It returns NaN when q is NaN, when the highest bound is not
// +Inf, when fewer than two buckets remain after merging equal bounds, and
// when there are no observations; -Inf for q < 0 and +Inf for q > 1.
//
// The slice is sorted and modified in place; pass a copy to keep it.
func BucketQuantile(q float64, buckets []Bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	if len(buckets) == 0 {
		return math.NaN()
	}
	sort.SliceStable(buckets, func(i, j int) bool { return buckets[i].UpperBound < buckets[j].UpperBound })
	if !math.IsInf(buckets[len(buckets)-1].UpperBound, 1) {
		return math.NaN()
	}
	buckets = mergeEqualBounds(buckets)
	forceMonotonic(buckets, smallDeltaTolerance)
	if len(buckets) < 2 {
		return math.NaN()
	}
	total := buckets[len(buckets)-1].Count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	// The +Inf bucket is left out of the search: a rank beyond every finite
	// bucket lands on index len-1 without comparing against it.
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].Count >= rank })
	if b == len(buckets)-1 {
		// No extrapolation into +Inf: the highest finite bound is the answer.
		return buckets[len(buckets)-2].UpperBound
	}
	if b == 0 && buckets[0].UpperBound <= 0 {
		return buckets[0].UpperBound
	}
	start, end, count := 0.0, buckets[b].UpperBound, buckets[b].Count
	if b > 0 {
		start = buckets[b-1].UpperBound
		count -= buckets[b-1].Count
		rank -= buckets[b-1].Count
	}
	return start + (end-start)*(rank/count)
}

// mergeEqualBounds adds up the counts of buckets sharing an upper bound; the
// input is sorted.
func mergeEqualBounds(buckets []Bucket) []Bucket {
	out := buckets[:1]
	for _, b := range buckets[1:] {
		last := &out[len(out)-1]
		if b.UpperBound == last.UpperBound {
			last.Count += b.Count
			continue
		}
		out = append(out, b)
	}
	return out
}

// forceMonotonic repairs counts that do not grow with the bound, as
// Prometheus does: a count within the relative tolerance of the last accepted
// one, in either direction, is set to it (float noise), and a count below it
// is raised to it. The last accepted count only moves on a real increase.
func forceMonotonic(buckets []Bucket, tolerance float64) {
	prev := buckets[0].Count
	for i := 1; i < len(buckets); i++ {
		curr := buckets[i].Count
		switch {
		case curr == prev:
		case almostEqual(prev, curr, tolerance), curr < prev:
			buckets[i].Count = prev
		default:
			prev = curr
		}
	}
}

// minNormal is the smallest positive normal float64.
var minNormal = math.Float64frombits(0x0010000000000000)

// almostEqual reports whether a and b differ by less than epsilon relative to
// their magnitude (Prometheus util/almost.Equal).
func almostEqual(a, b, epsilon float64) bool {
	if math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	if a == b {
		return true
	}
	absSum := math.Abs(a) + math.Abs(b)
	diff := math.Abs(a - b)
	if a == 0 || b == 0 || absSum < minNormal {
		return diff < epsilon*minNormal
	}
	return diff/math.Min(absSum, math.MaxFloat64) < epsilon
}
