#!/usr/bin/python3
"""Generate the scipy-agreement fixtures for plugins/drift.

Run with Debian's python3 (python3-scipy, python3-numpy):

    /usr/bin/python3 test/drift/scipy/expected.py > plugins/drift/testdata/scipy_expected.json

Samples are small inline lists, or "weyl" generator specs (see common.weyl)
that the Go test rebuilds bit for bit, so the large asymptotic-KS cases need
no large files.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats

sys.path.insert(0, __import__("os").path.dirname(__file__))
import common  # noqa: E402

GOLD = 0.6180339887498949
SQRT2 = 0.4142135623730951
SQRT3 = 0.7320508075688772


def sample(spec):
    if isinstance(spec, list):
        return np.array(spec, dtype=float)
    return common.weyl(**spec)


def spec(n, a, scale=1.0, shift=0.0, square=False, decimals=None):
    s = {"n": n, "a": a, "scale": scale, "shift": shift, "square": square}
    if decimals is not None:
        s["decimals"] = decimals
    return s


rng = np.random.default_rng(20261201)


def small(n, loc=0.0, scale=1.0, decimals=None):
    x = rng.normal(loc, scale, n)
    if decimals is not None:
        x = np.round(x, decimals)
    return [float(v) for v in x]


numeric_cases = [
    # exact, n1 == n2 (the "outside square" formula)
    ("exact_equal_50", small(50), small(50, 0.5)),
    ("exact_equal_same", small(40), small(40)),
    # exact, n1 != n2 (the lattice-path recursion)
    ("exact_unequal_30_45", small(30), small(45, 0.3, 1.2)),
    ("exact_ties_integers", small(60, 3, 2, 0), small(80, 3.5, 2, 0)),
    ("exact_disjoint", small(12, 0, 0.1), small(9, 5, 0.1)),
    ("exact_tiny_p", small(200), small(300, 1.5)),
    ("exact_large_10000_7000", spec(10000, GOLD), spec(7000, SQRT2, 1.0, 0.02)),
    ("exact_large_equal_10000", spec(10000, GOLD, 10, 0, True), spec(10000, SQRT3, 10, 0.1, True)),
    # asymp: max(n1, n2) > 10000; N = round(n1 n2 / (n1 + n2))
    ("asymp_n50_small_d", spec(20000, GOLD), spec(50, SQRT2, 1.0, 0.02)),      # N = 50, Durbin
    ("asymp_n50_mid_d", spec(20000, GOLD), spec(50, SQRT2, 1.0, 0.15)),        # N = 50, Pomeranz
    ("asymp_n50_big_d", spec(20000, GOLD), spec(50, SQRT2, 1.0, 0.45)),        # N = 50, 2*smirnov
    ("asymp_n300_durbin", spec(20000, GOLD), spec(300, SQRT3, 1.0, 0.01)),     # N = 296
    ("asymp_n300_smirnov", spec(20000, GOLD), spec(300, SQRT3, 1.0, 0.2)),
    ("asymp_pelzgood", spec(20000, GOLD), spec(20000, SQRT2, 1.0, 0.004)),   # N = 10000
    ("asymp_smirnov_tiny_p", spec(20000, GOLD), spec(20000, SQRT2, 1.0, 0.05)),
    ("asymp_zero_p", spec(30000, GOLD), spec(15000, SQRT2, 1.0, 0.3)),         # N D^2 >= 370
    ("asymp_ties", spec(20000, GOLD, 10, 0, False, 0), spec(12000, SQRT2, 10, 0.5, False, 0)),
    ("asymp_skewed_large", spec(120000, GOLD, 1, 0, True), spec(110000, SQRT3, 1, 0.001, True)),
]

cases = []
for name, xs, ys in numeric_cases:
    x, y = sample(xs), sample(ys)
    out = {"name": name, "ref": xs, "cur": ys}
    out.update(common.numeric(x, y))
    # Sanity: the method scipy's default picks, and it is not the limit form.
    assert out["ks_exact"] == (max(len(x), len(y)) <= 10000)
    cases.append(out)

# kstwo.sf(d, n) over a grid reaching every branch of _kolmogn.
kstwo = []
for n in [1, 2, 5, 10, 50, 100, 140, 141, 300, 1000, 5000, 10000, 100000, 100001, 500000, 1000000]:
    for d in [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 0.99]:
        kstwo.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})

# And random points around D ~ 1/sqrt(n), where the branches meet.
grid_rng = np.random.default_rng(5)
for _ in range(300):
    n = int(grid_rng.choice([grid_rng.integers(1, 141), grid_rng.integers(141, 3000), grid_rng.integers(3000, 200000)]))
    if grid_rng.random() < 0.8:
        d = grid_rng.uniform(0.2, 3.5) / np.sqrt(n)
    else:
        d = grid_rng.uniform(0, 1)
    d = float(np.clip(d, 1e-6, 0.999999))
    kstwo.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})

categorical_cases = [
    ("shares_shift", {"a": 500, "b": 300, "c": 200}, {"a": 420, "b": 330, "c": 250}),
    ("new_category", {"a": 50, "b": 30}, {"a": 40, "b": 30, "c": 5}),
    ("two_categories", {"yes": 700, "no": 300}, {"yes": 640, "no": 360}),
    ("same", {"x": 10, "y": 20, "z": 30}, {"x": 10, "y": 20, "z": 30}),
    ("one_category", {"only": 10}, {"only": 7}),
    ("many", {str(i): 100 + 7 * i for i in range(40)}, {str(i): 100 + 5 * i + (i % 3) * 9 for i in range(40)}),
]
cats = []
for name, r, c in categorical_cases:
    out = {"name": name, "ref": r, "cur": c}
    out.update(common.categorical(r, c))
    cats.append(out)

json.dump({
    "generator": "test/drift/scipy/expected.py",
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "numeric": cases,
    "kstwo_sf": kstwo,
    "categorical": cats,
}, sys.stdout, indent=1)
sys.stdout.write("\n")
