package drift

import "math"

// This file computes the survival function of the exact one-sample
// Kolmogorov distribution, P(D_n ≥ x), which scipy's ks_2samp uses as its
// "asymp" two-sample p-value (scipy.stats.kstwo.sf). It follows the branch
// choice of Simard & L'Ecuyer (2011) as scipy's _ksstats._kolmogn does, so
// the numbers agree with scipy's and not merely with the limiting formula:
// Ruben–Gambino near the ends, 2·smirnov where the one-sided tail is exact,
// Durbin's matrix (Marsaglia–Tsang–Wang) and Pomeranz's recursion for
// small n, Pelz–Good for large n.

const (
	e128        = 128
	logMinFloat = -708 // exp below this underflows
)

var (
	ep128 = math.Ldexp(1, e128)
	em128 = math.Ldexp(1, -e128)
)

// KolmogorovSF returns P(D_n ≥ x) for the two-sided one-sample statistic D_n.
func KolmogorovSF(n int, x float64) float64 {
	if n <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	fn := float64(n)
	t := fn * x
	if t <= 1 { // Ruben–Gambino: 1/2n < x ≤ 1/n
		if t <= 0.5 {
			return 1
		}
		var cdf float64
		if n <= 140 {
			cdf = 1.0
			for i := 1; i <= n; i++ {
				cdf *= float64(i) * (1.0 / fn) * (2*t - 1)
			}
		} else {
			cdf = math.Exp(logFactorialOverPower(fn) + fn*math.Log(2*t-1))
		}
		return clip01(1 - cdf)
	}
	if t >= fn-1 { // Ruben–Gambino at the top end
		return clip01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 {
		return clip01(2 * smirnov(n, x))
	}
	nx2 := t * x
	if n <= 140 {
		switch {
		case nx2 <= 0.754693:
			return clip01(1 - durbinCDF(n, x))
		case nx2 <= 4:
			return clip01(1 - pomeranzCDF(n, x))
		}
		return clip01(2 * smirnov(n, x))
	}
	if nx2 >= 370 {
		return 0
	}
	if nx2 >= 2.2 {
		return clip01(2 * smirnov(n, x))
	}
	var cdf float64
	if n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4 {
		cdf = durbinCDF(n, x)
	} else {
		cdf = pelzGoodCDF(n, x)
	}
	return clip01(1 - cdf)
}

// stirlingCoeffs are the coefficients (highest power first) of the Stirling
// series correction to log n!.
var stirlingCoeffs = []float64{
	-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2,
}

// logFactorialOverPower is log(n!/n^n) by Stirling's series.
func logFactorialOverPower(n float64) float64 {
	rn := 1 / n
	poly := 0.0
	for _, c := range stirlingCoeffs {
		poly = poly*(rn/n) + c
	}
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*poly
}

// smirnov returns the one-sided P(D⁺_n ≥ x) by the Birnbaum–Tingey sum
// x·Σ_{j=0}^{⌊n(1−x)⌋} C(n,j)·(x + j/n)^(j−1)·(1 − x − j/n)^(n−j). Every term
// is positive, so each is formed in logarithms (no overflow for large n)
// and the sum carries no cancellation.
func smirnov(n int, x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	fn := float64(n)
	last := int(math.Floor(fn * (1 - x)))
	logC := 0.0 // log C(n, j)
	// Sum the terms relative to the largest seen so far, to keep exp in range.
	sum, scale := 0.0, math.Inf(-1)
	for j := 0; j <= last; j++ {
		if j > 0 {
			logC += math.Log(float64(n-j+1) / float64(j))
		}
		fj := float64(j)
		up := x + fj/fn
		down := (fn-fj)/fn - x
		if down <= 0 || up <= 0 {
			continue
		}
		lt := logC + (fj-1)*math.Log(up) + (fn-fj)*math.Log(down)
		if lt > scale {
			sum = sum*math.Exp(scale-lt) + 1
			scale = lt
		} else {
			sum += math.Exp(lt - scale)
		}
	}
	if sum == 0 {
		return 0
	}
	// One exp at the end, so a result in the subnormal range is rounded
	// once rather than losing digits in a product.
	return math.Exp(math.Log(x) + math.Log(sum) + scale)
}

// durbinCDF is P(D_n < x) by Durbin's matrix method as made practical by
// Marsaglia, Tsang and Wang (2003): the (k,k) entry of H^n, with scaling by
// 2^128 to stay in range.
func durbinCDF(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	fn := float64(n)
	nd := fn * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	H := newMatrix(m)
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] = (1 - math.Pow(h, float64(j))) * fac
	}
	tt := math.Pow(math.Max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H[r][i] = w[r-(i-1)]
		}
	}
	for r := 0; r < m; r++ {
		H[r][0] = v[r]
	}
	for c := 0; c < m; c++ {
		H[m-1][c] = v[m-1-c]
	}
	pwr := identity(m)
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			pwr = matmul(pwr, H)
			expnt += hexpnt
		}
		H = matmul(H, H)
		hexpnt *= 2
		if math.Abs(H[k-1][k-1]) > ep128 {
			scaleMatrix(H, 1/ep128)
			hexpnt += e128
		}
	}
	p := pwr[k-1][k-1]
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= e128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

type matrix [][]float64

func newMatrix(m int) matrix {
	cells := make([]float64, m*m)
	a := make(matrix, m)
	for i := range a {
		a[i] = cells[i*m : (i+1)*m]
	}
	return a
}

func identity(m int) matrix {
	a := newMatrix(m)
	for i := range a {
		a[i][i] = 1
	}
	return a
}

func matmul(a, b matrix) matrix {
	m := len(a)
	c := newMatrix(m)
	for i := 0; i < m; i++ {
		ci := c[i]
		for k := 0; k < m; k++ {
			aik := a[i][k]
			if aik == 0 {
				continue
			}
			bk := b[k]
			for j := 0; j < m; j++ {
				ci[j] += aik * bk[j]
			}
		}
	}
	return c
}

func scaleMatrix(a matrix, f float64) {
	for _, row := range a {
		for j := range row {
			row[j] *= f
		}
	}
}

// pomeranzJ1J2 is the column interval of row i of Pomeranz's recursion.
func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		half, odd := (i+1)/2, (i+1)%2
		if odd == 0 { // i odd
			if half == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = half-1-ll-roundf-1, half+ll-1+ceilf-1
			}
		} else {
			j1, j2 = half-1-ll-1, half+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// pomeranzCDF is P(D_n < x) by Pomeranz's (1974) recursion, a sequence of
// convolutions with powers of g/n, 2g/n and (1−2g)/n, rescaled by 2^128 when
// the row gets small.
func pomeranzCDF(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	gn, twogn, onem2gn := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < npwrs; m++ {
		fm := float64(m)
		gpower[m] = gpower[m-1] * gn / fm
		twogpower[m] = twogpower[m-1] * twogn / fm
		onem2gpower[m] = onem2gpower[m-1] * onem2gn / fm
	}
	v0 := make([]float64, npwrs)
	v1 := make([]float64, npwrs)
	v1[0] = 1
	v0s, v1s := 0, 0
	expnt := 0
	j1, _ := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	var j2 int
	conv := make([]float64, 2*npwrs)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		v0, v1 = v1, v0
		v0s, v1s = v1s, v0s
		clear(v1)
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		default:
			pwrs = onem2gpower
		}
		ln2 := j2 - k1 + 1
		if ln2 <= 0 {
			continue
		}
		a := sliceClamp(v0, k1-v0s, k1-v0s+ln2)
		b := sliceClamp(pwrs, 0, ln2)
		// Full convolution, as numpy.convolve(a, b).
		cl := len(a) + len(b) - 1
		c := conv[:cl]
		clear(c)
		for p := range a {
			for q := range b {
				c[p+q] += a[p] * b[q]
			}
		}
		convStart, convLen := j1-k1, j2-j1+1
		for r := 0; r < convLen && convStart+r < cl; r++ {
			if convStart+r >= 0 {
				v1[r] = c[convStart+r]
			}
		}
		mx := math.Inf(-1)
		for _, val := range v1 {
			mx = math.Max(mx, val)
		}
		if 0 < mx && mx < em128 {
			for r := range v1 {
				v1[r] *= ep128
			}
			expnt -= e128
		}
		v1s = v0s + j1 - k1
	}
	ans := v1[n-v1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += e128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// sliceClamp is s[lo:hi] with Python's clamping of out-of-range bounds.
func sliceClamp(s []float64, lo, hi int) []float64 {
	lo = max(lo, 0)
	hi = min(hi, len(s))
	if lo >= hi {
		return nil
	}
	return s[lo:hi]
}

// pelzGoodCDF is the Pelz–Good (1976) approximation to P(D_n ≤ x):
// K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5 with z = x√n, each Kᵢ written as
// a Jacobi-theta series that converges fast for small z.
func pelzGoodCDF(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	const (
		pi2 = math.Pi * math.Pi
		pi4 = pi2 * pi2
		pi6 = pi4 * pi2
	)
	sqrt2pi := math.Sqrt(2 * math.Pi)
	fn := float64(n)
	z := math.Sqrt(fn) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)
	qlog := -pi2 / 8 / z2
	if qlog < logMinFloat {
		return 0
	}
	q := math.Exp(qlog)
	k1a := -z2
	k1b := pi2 / 4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2 := m * m
		m4, m6 := m2*m2, m2*m2*m2
		qpower := math.Pow(q, float64(8*k))
		coeffs := [4]float64{
			1,
			k1a + k1b*m2,
			k2a + k2b*m2 + k2c*m4,
			k3a + k3b*m2 + k3c*m4 + k3d*m6,
		}
		for i := range K {
			K[i] = K[i]*qpower + coeffs[i]
		}
	}
	div := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] = K[i] * q * sqrt2pi / div[i]
	}
	q = math.Exp(-pi2 / 2 / z2)
	sqrt3z := math.Sqrt(3) * z
	var k2extra, k3extra float64
	for k := maxk; k > 0; k-- {
		fk := float64(k)
		k2 := fk * fk
		qp := math.Pow(q, k2)
		kpi := math.Pi * fk
		k2extra += k2 * qp
		k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp
	}
	K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
	K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
	sum := 0.0
	for i := range K {
		sum += K[i] / math.Pow(fn, float64(i)/2)
	}
	return sum
}
