package drift

import "math"

// MinNormStd is the floor Evidently puts under the reference's standard
// deviation when it norms the Wasserstein distance, so a constant reference
// still gives a finite value (1000·W).
const MinNormStd = 0.001

// Wasserstein1 is scipy.stats.wasserstein_distance(u, v) for two ascending
// samples with unit weights: ∫|F_u − F_v| dt, summed over consecutive pooled
// values as Σ |F_u(t_k) − F_v(t_k)|·(t_{k+1} − t_k).
func Wasserstein1(u, v []float64) float64 {
	n1, n2 := float64(len(u)), float64(len(v))
	var i, j int
	var sum, comp float64 // Neumaier-compensated sum
	// Walk the distinct pooled values t_k in order.
	next := func() (float64, bool) {
		switch {
		case i >= len(u) && j >= len(v):
			return 0, false
		case i >= len(u):
			return v[j], true
		case j >= len(v):
			return u[i], true
		}
		return min(u[i], v[j]), true
	}
	t, ok := next()
	for ok {
		for i < len(u) && u[i] <= t {
			i++
		}
		for j < len(v) && v[j] <= t {
			j++
		}
		tn, more := next()
		if !more {
			break
		}
		term := math.Abs(float64(i)/n1-float64(j)/n2) * (tn - t)
		s := sum + term
		if math.Abs(sum) >= math.Abs(term) {
			comp += (sum - s) + term
		} else {
			comp += (term - s) + sum
		}
		sum = s
		t = tn
	}
	return sum + comp
}

// PopulationStd is numpy.std(x) (ddof 0), computed in two passes.
func PopulationStd(x []float64) float64 {
	n := float64(len(x))
	mean := compensatedSum(x, func(v float64) float64 { return v }) / n
	ss := compensatedSum(x, func(v float64) float64 { d := v - mean; return d * d })
	return math.Sqrt(ss / n)
}

func compensatedSum(x []float64, f func(float64) float64) float64 {
	var sum, comp float64
	for _, v := range x {
		term := f(v)
		s := sum + term
		if math.Abs(sum) >= math.Abs(term) {
			comp += (sum - s) + term
		} else {
			comp += (term - s) + sum
		}
		sum = s
	}
	return sum + comp
}

// WassersteinNormed is Evidently's "wasserstein normed" drift score: the
// distance divided by the reference's standard deviation, floored at
// MinNormStd.
func WassersteinNormed(w, refStd float64) float64 {
	return w / math.Max(refStd, MinNormStd)
}
