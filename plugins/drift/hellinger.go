package drift

import "math"

// Hellinger is the Hellinger distance of two count or share vectors over the
// same bins, ‖√p − √q‖₂/√2 in [0, 1]. This form equals
// √(1 − Σ√(pᵢqᵢ)) but keeps its digits when the distributions are close.
func Hellinger(p, q []float64) float64 {
	p, q = shares(p), shares(q)
	sum := 0.0
	for i := range p {
		d := math.Sqrt(p[i]) - math.Sqrt(q[i])
		sum += d * d
	}
	return math.Sqrt(sum) / math.Sqrt2
}
