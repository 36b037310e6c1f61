package drift

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Methods, as --method names them.
const (
	MethodAuto          = "auto"
	MethodPSI           = "psi"
	MethodKS            = "ks"
	MethodWasserstein   = "wasserstein"
	MethodJensenShannon = "jensenshannon"
	MethodChi2          = "chi2"
	MethodHellinger     = "hellinger"
)

// Methods lists every --method value.
var Methods = []string{MethodAuto, MethodPSI, MethodKS, MethodWasserstein, MethodJensenShannon, MethodChi2, MethodHellinger}

// AutoMaxValues is where the default method switches from a test to a
// distance, as Evidently does: with more values a test's p-value flags
// negligible shifts.
const AutoMaxValues = 1000

// Column kinds.
const (
	KindNumeric     = "numeric"
	KindCategorical = "categorical"
)

// statistic is one named number a method produces.
type statistic struct {
	name   string // perfdata suffix: ks_p, wasserstein_normed, …
	value  float64
	pValue bool // a p-value: smaller means more drift
	min    *float64
	max    *float64
}

// methodDefaults are the thresholds a method's decision statistic gets when
// -w/-c are not given: Evidently's drift rules (a drifted column is a
// WARNING), PSI's rules of thumb (0.1 moderate, 0.25 significant).
func methodDefaults(method string) plugin.Thresholds {
	switch method {
	case MethodKS, MethodChi2:
		return plugin.Thresholds{Warning: plugin.MustRange("0.05:")} // alert when p < 0.05
	case MethodPSI:
		return plugin.Thresholds{Warning: plugin.MustRange("0.1"), Critical: plugin.MustRange("0.25")}
	}
	return plugin.Thresholds{Warning: plugin.MustRange("0.1")} // alert when > 0.1
}

// autoMethod is the default choice for a column: numeric KS when both
// samples have at most 1000 values, else normed Wasserstein; categorical
// chi-squared up to 1000 values, else Jensen–Shannon.
func autoMethod(kind string, refN, curN int) string {
	small := refN <= AutoMaxValues && curN <= AutoMaxValues
	switch {
	case kind == KindNumeric && small:
		return MethodKS
	case kind == KindNumeric:
		return MethodWasserstein
	case small:
		return MethodChi2
	}
	return MethodJensenShannon
}

// binOptions configure the binned statistics.
type binOptions struct {
	bins int
	eps  float64
}

// numericStats computes a method's statistics on two ascending samples; the
// decision statistic comes first.
func numericStats(method string, ref, cur []float64, bo binOptions) ([]statistic, error) {
	switch method {
	case MethodKS:
		r := KS2Samp(ref, cur)
		return []statistic{
			{name: "ks_p", value: r.PValue, pValue: true, min: plugin.Float(0), max: plugin.Float(1)},
			{name: "ks_d", value: r.Statistic, min: plugin.Float(0), max: plugin.Float(1)},
		}, nil
	case MethodWasserstein:
		w := Wasserstein1(ref, cur)
		return []statistic{
			{name: "wasserstein_normed", value: WassersteinNormed(w, PopulationStd(ref)), min: plugin.Float(0)},
			{name: "wasserstein", value: w, min: plugin.Float(0)},
		}, nil
	}
	edges := QuantileEdges(ref, bo.bins)
	return binnedStats(method, BinCounts(ref, edges), BinCounts(cur, edges), bo)
}

// binnedStats computes a method on counts over shared bins or categories.
func binnedStats(method string, ref, cur []float64, bo binOptions) ([]statistic, error) {
	switch method {
	case MethodPSI:
		return []statistic{{name: "psi", value: PSI(ref, cur, bo.eps), min: plugin.Float(0)}}, nil
	case MethodJensenShannon:
		return []statistic{{name: "jensenshannon", value: JensenShannon(ref, cur), min: plugin.Float(0), max: plugin.Float(1)}}, nil
	case MethodHellinger:
		return []statistic{{name: "hellinger", value: Hellinger(ref, cur), min: plugin.Float(0), max: plugin.Float(1)}}, nil
	case MethodChi2:
		r := Chi2Homogeneity(ref, cur)
		return []statistic{
			{name: "chi2_p", value: r.PValue, pValue: true, min: plugin.Float(0), max: plugin.Float(1)},
			{name: "chi2", value: r.Statistic, min: plugin.Float(0)},
		}, nil
	case MethodKS, MethodWasserstein:
		return nil, fmt.Errorf("%s needs numeric values; use psi, jensenshannon, chi2 or hellinger for categories", method)
	}
	return nil, fmt.Errorf("unknown method %q", method)
}

// scaleRange divides a p-value range's finite ends by m (Bonferroni).
func scaleRange(r *plugin.Range, m int) *plugin.Range {
	if r == nil || m <= 1 {
		return r
	}
	out := *r
	if !math.IsInf(out.Start, 0) {
		out.Start /= float64(m)
	}
	if !math.IsInf(out.End, 0) {
		out.End /= float64(m)
	}
	return &out
}

// describeRange says in words when a range alerts: "< 0.05", "> 0.1",
// otherwise the range itself.
func describeRange(r *plugin.Range) string {
	if r == nil {
		return ""
	}
	switch {
	case !r.Inside && math.IsInf(r.End, 1) && !math.IsInf(r.Start, -1):
		return "< " + formatShort(r.Start)
	case !r.Inside && r.Start == 0 && !math.IsInf(r.End, 1):
		return "> " + formatShort(r.End)
	case !r.Inside && math.IsInf(r.Start, -1) && !math.IsInf(r.End, 1):
		return "> " + formatShort(r.End)
	}
	return "outside " + r.String()
}

func describeThresholds(t plugin.Thresholds) string {
	var parts []string
	if t.Warning != nil {
		parts = append(parts, "warning "+describeRange(t.Warning))
	}
	if t.Critical != nil {
		parts = append(parts, "critical "+describeRange(t.Critical))
	}
	if len(parts) == 0 {
		return "no threshold"
	}
	return strings.Join(parts, ", ")
}

// formatShort prints a number for people: 4 significant digits, exponent
// for the very small (perfdata uses plugin.FormatNumber instead).
func formatShort(v float64) string {
	if v != 0 && math.Abs(v) < 1e-4 {
		return strings.Replace(fmt.Sprintf("%.3g", v), "e-0", "e-", 1)
	}
	s := fmt.Sprintf("%.4g", v)
	if strings.Contains(s, "e+") {
		return fmt.Sprintf("%.0f", v)
	}
	return s
}

func validMethod(m string) bool { return slices.Contains(Methods, m) }
