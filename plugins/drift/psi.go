package drift

import "math"

// DefaultPSIEpsilon replaces an empty bin's share, as Evidently and most PSI
// write-ups do (no renormalisation, no additive smoothing).
const DefaultPSIEpsilon = 1e-4

// DefaultPSIBins is the usual ten reference-quantile (decile) bins.
const DefaultPSIBins = 10

// PSI is the population stability index of two binned counts over the same
// bins: Σ (qᵢ − pᵢ)·ln(qᵢ/pᵢ) with pᵢ, qᵢ the reference and current shares
// and every zero share replaced by eps. It is symmetric and ≥ 0.
func PSI(refCounts, curCounts []float64, eps float64) float64 {
	p, q := shares(refCounts), shares(curCounts)
	sum := 0.0
	for i := range p {
		pi, qi := p[i], q[i]
		if pi == 0 {
			pi = eps
		}
		if qi == 0 {
			qi = eps
		}
		sum += (qi - pi) * math.Log(qi/pi)
	}
	return sum
}
