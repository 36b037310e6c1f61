package drift

import (
	"gonum.org/v1/gonum/stat/distuv"
)

// Chi2Result is Pearson's chi-squared test of homogeneity.
type Chi2Result struct {
	Statistic float64
	PValue    float64
	DOF       int
}

// Chi2Homogeneity tests whether reference and current counts over the same
// categories come from one distribution, as
// scipy.stats.chi2_contingency([ref, cur], correction=False) does: expected
// counts Eᵢⱼ = rowᵢ·colⱼ/N of the 2×k table, statistic Σ (O − E)²/E,
// k − 1 degrees of freedom, p from the chi-squared survival function.
// Categories empty in both rows are dropped (scipy refuses zero expected
// counts), so a category that is new in the current window stays finite.
// With fewer than two categories left there is nothing to test: statistic
// 0, p-value 1, as scipy returns for zero degrees of freedom.
func Chi2Homogeneity(ref, cur []float64) Chi2Result {
	var rowRef, rowCur float64
	var cols []int
	for i := range ref {
		if ref[i]+cur[i] == 0 {
			continue
		}
		cols = append(cols, i)
		rowRef += ref[i]
		rowCur += cur[i]
	}
	dof := len(cols) - 1
	if dof <= 0 || rowRef == 0 || rowCur == 0 {
		return Chi2Result{Statistic: 0, PValue: 1, DOF: max(dof, 0)}
	}
	total := rowRef + rowCur
	stat := 0.0
	for _, i := range cols {
		col := ref[i] + cur[i]
		for _, c := range [2][2]float64{{ref[i], rowRef}, {cur[i], rowCur}} {
			e := c[1] * col / total
			d := c[0] - e
			stat += d * d / e
		}
	}
	p := distuv.ChiSquared{K: float64(dof)}.Survival(stat)
	return Chi2Result{Statistic: stat, PValue: p, DOF: dof}
}
