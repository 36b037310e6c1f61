package latency

import (
	"math"
	"slices"
	"time"
)

// sampleStats summarises the latencies of the successful requests, in
// milliseconds.
type sampleStats struct {
	n              int
	min, mean, max float64
	sorted         []float64
}

func newSampleStats(durations []time.Duration) sampleStats {
	s := sampleStats{n: len(durations), min: math.NaN(), mean: math.NaN(), max: math.NaN()}
	if s.n == 0 {
		return s
	}
	s.sorted = make([]float64, len(durations))
	sum := 0.0
	for i, d := range durations {
		ms := float64(d) / float64(time.Millisecond)
		s.sorted[i] = ms
		sum += ms
	}
	slices.Sort(s.sorted)
	s.min, s.max = s.sorted[0], s.sorted[s.n-1]
	s.mean = sum / float64(s.n)
	return s
}

// quantile interpolates linearly between the closest ranks, rank = q·(n−1):
// the rule of Prometheus's quantile_over_time and numpy's default, so p50 of
// an even count is the mean of the middle two and p0/p100 are min/max.
func (s sampleStats) quantile(q float64) float64 {
	if s.n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	rank := q * float64(s.n-1)
	lo := math.Floor(rank)
	hi := math.Min(lo+1, float64(s.n-1))
	w := rank - lo
	return s.sorted[int(lo)]*(1-w) + s.sorted[int(hi)]*w
}

// value returns the chosen statistic.
func (s sampleStats) value(st statistic) float64 {
	if st.name == "mean" {
		return s.mean
	}
	return s.quantile(st.q)
}
