package drift

import (
	"math"
)

// KSExactMaxN is the largest sample size for which scipy's ks_2samp, in its
// default method='auto', computes the exact p-value; above it (in either
// sample) it uses the asymptotic one.
const KSExactMaxN = 10000

// KSResult is the two-sample Kolmogorov–Smirnov test of two samples.
type KSResult struct {
	Statistic float64 // D = sup |F1 - F2|
	PValue    float64 // two-sided
	Exact     bool    // exact distribution (true) or asymp (kstwo at round(n1n2/(n1+n2)))
}

// KS2Samp runs the two-sided two-sample KS test on two sorted samples the
// way scipy.stats.ks_2samp(x, y) does by default: the statistic over all
// pooled values (ties included), the exact p-value when both samples have at
// most KSExactMaxN values, else kstwo.sf(D, round-half-even(n1·n2/(n1+n2))).
// Both slices must be sorted ascending, free of NaN and non-empty.
func KS2Samp(x, y []float64) KSResult {
	n1, n2 := int64(len(x)), int64(len(y))
	k := ksMaxCountDiff(x, y) // max |c1·n2 − c2·n1|
	g := gcd(n1, n2)
	lcm := (n1 / g) * n2
	h := k / g // D = h/lcm exactly
	d := float64(h) / float64(lcm)
	if max(n1, n2) <= KSExactMaxN {
		if p, ok := ksExactPValue(n1, n2, g, h); ok {
			return KSResult{Statistic: d, PValue: p, Exact: true}
		}
		// scipy falls back to asymp (with a RuntimeWarning) when the exact
		// value leaves [0, 1] through rounding.
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	p := KolmogorovSF(int(math.RoundToEven(en)), d)
	return KSResult{Statistic: d, PValue: clip01(p), Exact: false}
}

// ksMaxCountDiff walks both sorted samples together and returns the largest
// |c1(t)·n2 − c2(t)·n1| over all pooled values t, where ci(t) counts values
// ≤ t. Integer arithmetic keeps D exact (n1·n2 ≤ 2^63 for any sample that
// fits in memory).
func ksMaxCountDiff(x, y []float64) int64 {
	n1, n2 := int64(len(x)), int64(len(y))
	var i, j int
	var best int64
	for i < len(x) || j < len(y) {
		// The next pooled value t; advance past every copy of it in both
		// samples (right-continuous ECDF).
		var t float64
		switch {
		case i >= len(x):
			t = y[j]
		case j >= len(y):
			t = x[i]
		default:
			t = min(x[i], y[j])
		}
		for i < len(x) && x[i] <= t {
			i++
		}
		for j < len(y) && y[j] <= t {
			j++
		}
		diff := int64(i)*n2 - int64(j)*n1
		if diff < 0 {
			diff = -diff
		}
		if diff > best {
			best = diff
		}
	}
	return best
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func clip01(p float64) float64 {
	switch {
	case p < 0:
		return 0
	case p > 1:
		return 1
	}
	return p
}

// ksExactPValue is scipy's _attempt_exact_2kssamp for the two-sided case:
// the chance that two samples of sizes n1, n2 from one distribution give
// D ≥ h/lcm(n1, n2). ok is false when the value computed leaves [0, 1],
// where scipy switches to the asymptotic method.
func ksExactPValue(n1, n2, g, h int64) (p float64, ok bool) {
	if h == 0 {
		return 1, true
	}
	if n1 == n2 {
		p = probOutsideSquare(n1, h)
	} else {
		p = probOutsideBand(n1, n2, g, h)
	}
	if !(p >= 0 && p <= 1) {
		return p, false
	}
	return p, true
}

// probOutsideSquare is P(D ≥ h/n) for two samples of n values each:
// 2·Σ_{i≥1} (−1)^(i−1)·C(2n, n−ih)/C(2n, n), evaluated Horner-like from the
// innermost term so that no binomial coefficient is formed and the
// alternating sum does not cancel.
func probOutsideSquare(n, h int64) float64 {
	p := 0.0
	for k := n / h; k >= 0; k-- {
		a := 1.0
		for j := int64(0); j < h; j++ {
			a = float64(n-k*h-j) * a / float64(n+k*h+j+1)
		}
		p = a * (1 - p)
	}
	return 2 * p
}

// probOutsideBand is, for n1 ≠ n2, the share of monotone lattice paths from
// (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm: Hodges' inside
// method, recast by Viehmann (2021) to carry that share (not path counts)
// column by column, so nothing overflows. Only the window of y inside the
// band is kept per column.
func probOutsideBand(m, n, g, h int64) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	ceilDiv := func(a, b int64) int64 { return int64(math.Ceil(float64(a) / float64(b))) }
	floorDiv := func(a, b int64) int64 { return int64(math.Floor(float64(a) / float64(b))) }
	minj, maxj := int64(0), min(ceilDiv(h, mg), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	a := make([]float64, lenA)
	for i := range a {
		a[i] = 1
	}
	for i := minj; i < maxj; i++ {
		a[i] = 0
	}
	for i := int64(1); i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(floorDiv(ng*i-h, mg)+1, 0)
		minj = min(minj, n)
		maxj = min(ceilDiv(ng*i+h, mg), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		fi := float64(i)
		for jj := int64(0); jj < maxj-minj; jj++ {
			j := jj + minj
			val = (a[jj+minj-lastminj]*fi + val*float64(j)) / (fi + float64(j))
			a[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for t := maxj - minj; t < maxj-minj+(lastlen-curlen) && t < lenA; t++ {
				a[t] = 1
			}
		}
	}
	return a[maxj-minj-1]
}
