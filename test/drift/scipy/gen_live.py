#!/usr/bin/python3
"""Fresh random data for the live scipy cross-check.

    gen_live.py DIR SEED NREF NCUR

Writes DIR/reference.csv and DIR/current.csv: a continuous, a skewed, an
integer-valued (ties) and a nearly-equal column, with random shifts, every
value printed with 17 significant digits so Go and numpy read the same
doubles."""
import os
import sys

import numpy as np

out, seed, nref, ncur = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
shift = rng.uniform(0, 0.3)
scale = rng.uniform(0.8, 1.3)
for name, n, cur in (("reference.csv", nref, False), ("current.csv", ncur, True)):
    s, k = (shift, scale) if cur else (0.0, 1.0)
    cols = np.column_stack([
        rng.normal(s, k, n),
        rng.lognormal(s / 2, 0.6 * k, n),
        rng.integers(0, 12, n) + (rng.random(n) < s),
        rng.normal(0, 1, n) + (s / 50),
    ])
    np.savetxt(os.path.join(out, name), cols, delimiter=",", fmt="%.17g",
               header="normal,lognormal,integer,near", comments="")
