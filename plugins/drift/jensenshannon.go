package drift

import "math"

// JensenShannon is scipy.spatial.distance.jensenshannon(p, q, base=2): the
// Jensen–Shannon distance (the square root of the divergence) of two count
// or share vectors, each normalised to sum 1, in [0, 1]. Empty bins need no
// epsilon: 0·ln 0 counts as 0.
func JensenShannon(p, q []float64) float64 {
	p, q = shares(p), shares(q)
	var left, right float64
	for i := range p {
		m := (p[i] + q[i]) / 2
		left += relEntr(p[i], m)
		right += relEntr(q[i], m)
	}
	js := (left + right) / math.Ln2
	return math.Sqrt(math.Max(js/2, 0))
}

// relEntr is scipy.special.rel_entr: x·ln(x/y), 0 for x = 0.
func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	}
	return math.Inf(1)
}
