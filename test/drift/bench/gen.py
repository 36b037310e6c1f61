#!/usr/bin/python3
"""Write the benchmark's reference and current CSV files: ROWS rows of 5
numeric columns each (continuous and integer-valued), the current one
slightly shifted. Usage: gen.py DIR [ROWS]"""
import os
import sys

import numpy as np

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = np.random.default_rng(6)
for name, shift in (("reference.csv", 0.0), ("current.csv", 0.05)):
    cols = np.column_stack([
        rng.normal(shift, 1, rows),
        rng.exponential(1 + shift, rows),
        rng.integers(0, 100, rows) + (shift > 0),
        rng.lognormal(shift, 0.5, rows),
        rng.uniform(shift, 1, rows),
    ])
    np.savetxt(os.path.join(out, name), cols, delimiter=",", fmt=["%.6f", "%.6f", "%d", "%.6f", "%.6f"],
               header="normal,exponential,integer,lognormal,uniform", comments="")
