// Package drift holds the integration tests of check_drift: the built
// binary against scipy run live on freshly generated data.
package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

const python = "/usr/bin/python3" // Debian's, with python3-scipy and python3-numpy

func requireScipy(t *testing.T) {
	t.Helper()
	testenv.RequireFile(t, python)
	err := exec.Command(python, "-c", "import numpy, scipy").Run()
	testenv.Require(t, err == nil, "python3-scipy and python3-numpy for "+python)
}

func runPython(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", python, args, err, stderr.String())
	}
	return out
}

// perfdata runs check_drift and returns its perfdata values by label.
func perfdata(t *testing.T, bin string, args ...string) (map[string]float64, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("check_drift: %v", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	_, perf, ok := strings.Cut(first, " | ")
	if !ok {
		t.Fatalf("no perfdata in %q", out)
	}
	vals := map[string]float64{}
	for _, item := range strings.Fields(perf) {
		label, rest, _ := strings.Cut(item, "=")
		num, _, _ := strings.Cut(rest, ";")
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			t.Fatalf("perfdata %q: %v", item, err)
		}
		vals[label] = v
	}
	return vals, string(out), code
}

// TestAgreesWithScipyLive generates new data each run (the seed is logged;
// DRIFT_SEED repeats a run), sizes that reach KS's exact square, exact
// lattice and asymptotic branches, and compares every statistic check_drift
// prints with scipy's: statistics and distances to 1e-9 relative, p-values
// to 1e-6.
func TestAgreesWithScipyLive(t *testing.T) {
	requireScipy(t)
	bin := testenv.Build(t, "plugins/cmd/check_drift")
	root := testenv.RepoRoot()
	seed := time.Now().UnixNano() % 1_000_000
	if s := os.Getenv("DRIFT_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Logf("seed %d (DRIFT_SEED=%d repeats this run)", seed, seed)

	sizes := [][2]int{{300, 250}, {500, 500}, {8000, 6000}, {30000, 400}, {60000, 50000}}
	for k, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			dir := t.TempDir()
			runPython(t, filepath.Join(root, "test/drift/scipy/gen_live.py"), dir, fmt.Sprint(seed+int64(k)), fmt.Sprint(sz[0]), fmt.Sprint(sz[1]))
			ref, cur := filepath.Join(dir, "reference.csv"), filepath.Join(dir, "current.csv")
			var want map[string]map[string]any
			if err := json.Unmarshal(runPython(t, filepath.Join(root, "test/drift/scipy/drift_scipy.py"), "--all", ref, cur), &want); err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, m := range []string{"ks", "wasserstein", "psi", "jensenshannon", "chi2", "hellinger"} {
				vals, out, code := perfdata(t, bin, "--reference", ref, "--current", cur, "--method", m)
				if code == 3 {
					t.Fatalf("--method %s: UNKNOWN\n%s", m, out)
				}
				for k, v := range vals {
					got[k] = v
				}
			}
			compared := 0
			for col, stats := range want {
				for name, tol := range map[string]float64{
					"ks": 1e-9, "ks_p": 1e-6, "wasserstein": 1e-9, "wasserstein_normed": 1e-9,
					"psi": 1e-9, "jensenshannon": 1e-9, "hellinger": 1e-9, "chi2": 1e-9, "chi2_p": 1e-6,
				} {
					label := col + "_" + name
					if name == "ks" {
						label = col + "_ks_d"
					}
					w := stats[name].(float64)
					g, ok := got[label]
					if !ok {
						t.Errorf("no perfdata %s", label)
						continue
					}
					compared++
					if !closeEnough(g, w, tol) {
						t.Errorf("%s = %.12g, scipy %.17g (relative error %.3g > %g)", label, g, w, math.Abs(g-w)/math.Abs(w), tol)
					}
				}
			}
			if compared != 9*len(want) || len(want) != 4 {
				t.Errorf("compared %d statistics over %d columns, want 9 x 4", compared, len(want))
			}
		})
	}
}

// closeEnough compares relatively; perfdata keeps 12 significant digits,
// so a p-value of 1e-200 still compares by its digits, and zero only
// equals zero.
//
// Below the smallest normal double (p < 2.2e-308) a float64 keeps fewer
// digits and scipy's own value drifts: for kstwo.sf(0.11624, 27273) scipy
// gives 1.59e-321, a 40-digit evaluation of the same sum 1.665e-321 and
// check_drift 1.67e-321. There both sides must only agree that p is that
// small.
func closeEnough(got, want, tol float64) bool {
	const minNormal = 2.2250738585072014e-308
	if math.Abs(want) < minNormal && math.Abs(got) < minNormal {
		return true
	}
	if want == 0 || got == 0 {
		return got == want
	}
	return math.Abs(got-want) <= tol*math.Abs(want)
}
