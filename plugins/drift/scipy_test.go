package drift

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"
)

// The expected values come from scipy via test/drift/scipy/expected.py;
// regenerate them with
//
//	/usr/bin/python3 test/drift/scipy/expected.py > plugins/drift/testdata/scipy_expected.json
type scipyExpected struct {
	Scipy   string `json:"scipy"`
	Numeric []struct {
		Name              string          `json:"name"`
		Ref               json.RawMessage `json:"ref"`
		Cur               json.RawMessage `json:"cur"`
		KS                float64         `json:"ks"`
		KSP               float64         `json:"ks_p"`
		KSExact           bool            `json:"ks_exact"`
		Wasserstein       float64         `json:"wasserstein"`
		RefStd            float64         `json:"ref_std"`
		WassersteinNormed float64         `json:"wasserstein_normed"`
		Edges             []float64       `json:"edges"`
		RefCounts         []float64       `json:"ref_counts"`
		CurCounts         []float64       `json:"cur_counts"`
		binnedExpected
	} `json:"numeric"`
	KStwoSF []struct {
		N  int     `json:"n"`
		D  float64 `json:"d"`
		SF float64 `json:"sf"`
	} `json:"kstwo_sf"`
	Categorical []struct {
		Name   string         `json:"name"`
		Ref    map[string]int `json:"ref"`
		Cur    map[string]int `json:"cur"`
		Labels []string       `json:"labels"`
		binnedExpected
	} `json:"categorical"`
}

type binnedExpected struct {
	PSI           float64 `json:"psi"`
	JensenShannon float64 `json:"jensenshannon"`
	Hellinger     float64 `json:"hellinger"`
	Chi2          float64 `json:"chi2"`
	Chi2P         float64 `json:"chi2_p"`
	Chi2DOF       int     `json:"chi2_dof"`
}

// weylSpec rebuilds common.weyl's deterministic samples bit for bit.
type weylSpec struct {
	N        int      `json:"n"`
	A        float64  `json:"a"`
	Scale    float64  `json:"scale"`
	Shift    float64  `json:"shift"`
	Square   bool     `json:"square"`
	Decimals *float64 `json:"decimals"`
}

func (s weylSpec) sample() []float64 {
	out := make([]float64, s.N)
	for i := range out {
		u := math.Mod(float64(i)*s.A, 1)
		if s.Square {
			u = u * u
		}
		v := u*s.Scale + s.Shift
		if s.Decimals != nil {
			f := math.Pow(10, *s.Decimals)
			v = math.Floor(v*f) / f
		}
		out[i] = v
	}
	return out
}

func decodeSample(t *testing.T, raw json.RawMessage) []float64 {
	t.Helper()
	var list []float64
	if err := json.Unmarshal(raw, &list); err == nil {
		slices.Sort(list)
		return list
	}
	var spec weylSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("sample %s: %v", raw, err)
	}
	x := spec.sample()
	slices.Sort(x)
	return x
}

func loadExpected(t *testing.T) scipyExpected {
	t.Helper()
	b, err := os.ReadFile("testdata/scipy_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e scipyExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

const (
	statTol = 1e-9 // statistics and distances, relative
	pTol    = 1e-6 // p-values, relative
)

// closeRel reports whether got is within tol of want, relatively; zeros
// must match exactly, so a p-value of 3.9e-15 never passes as 0.
func closeRel(got, want, tol float64) bool {
	if want == 0 || got == 0 {
		return got == want || math.Abs(got-want) < 1e-300
	}
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func checkClose(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !closeRel(got, want, tol) {
		rel := math.Abs(got-want) / math.Abs(want)
		t.Errorf("%s = %.17g, scipy %.17g (relative error %.3g > %g)", what, got, want, rel, tol)
	}
}

func checkBinned(t *testing.T, ref, cur []float64, want binnedExpected) {
	t.Helper()
	checkClose(t, "PSI", PSI(ref, cur, DefaultPSIEpsilon), want.PSI, statTol)
	checkClose(t, "Jensen-Shannon", JensenShannon(ref, cur), want.JensenShannon, statTol)
	checkClose(t, "Hellinger", Hellinger(ref, cur), want.Hellinger, statTol)
	chi := Chi2Homogeneity(ref, cur)
	checkClose(t, "chi2", chi.Statistic, want.Chi2, statTol)
	checkClose(t, "chi2 p", chi.PValue, want.Chi2P, pTol)
	if chi.DOF != want.Chi2DOF {
		t.Errorf("chi2 dof = %d, scipy %d", chi.DOF, want.Chi2DOF)
	}
}

func TestNumericAgreesWithScipy(t *testing.T) {
	e := loadExpected(t)
	for _, c := range e.Numeric {
		t.Run(c.Name, func(t *testing.T) {
			ref, cur := decodeSample(t, c.Ref), decodeSample(t, c.Cur)
			ks := KS2Samp(ref, cur)
			checkClose(t, "KS D", ks.Statistic, c.KS, statTol)
			checkClose(t, "KS p", ks.PValue, c.KSP, pTol)
			if ks.Exact != c.KSExact {
				t.Errorf("KS exact = %v, scipy's default picks exact = %v", ks.Exact, c.KSExact)
			}
			w := Wasserstein1(ref, cur)
			checkClose(t, "Wasserstein", w, c.Wasserstein, statTol)
			std := PopulationStd(ref)
			checkClose(t, "reference std", std, c.RefStd, statTol)
			checkClose(t, "Wasserstein normed", WassersteinNormed(w, std), c.WassersteinNormed, statTol)
			edges := QuantileEdges(ref, DefaultPSIBins)
			if !slices.Equal(edges, c.Edges) {
				t.Errorf("decile edges = %v, numpy %v", edges, c.Edges)
			}
			rc, cc := BinCounts(ref, edges), BinCounts(cur, edges)
			if !slices.Equal(rc, c.RefCounts) || !slices.Equal(cc, c.CurCounts) {
				t.Errorf("bin counts = %v / %v, numpy %v / %v", rc, cc, c.RefCounts, c.CurCounts)
			}
			checkBinned(t, rc, cc, c.binnedExpected)
		})
	}
}

func TestKolmogorovSFAgreesWithScipy(t *testing.T) {
	e := loadExpected(t)
	for _, c := range e.KStwoSF {
		got := KolmogorovSF(c.N, c.D)
		if !closeRel(got, c.SF, pTol) {
			t.Errorf("kstwo.sf(%g, %d) = %.17g, scipy %.17g", c.D, c.N, got, c.SF)
		}
	}
}

func TestCategoricalAgreesWithScipy(t *testing.T) {
	e := loadExpected(t)
	for _, c := range e.Categorical {
		t.Run(c.Name, func(t *testing.T) {
			labels, ref, cur := CategoryCounts(c.Ref, c.Cur)
			if !slices.Equal(labels, c.Labels) {
				t.Errorf("labels = %v, want %v", labels, c.Labels)
			}
			checkBinned(t, ref, cur, c.binnedExpected)
		})
	}
}
