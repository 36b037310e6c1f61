#!/usr/bin/python3
"""check_drift's job done with numpy/scipy, for the live cross-check and the
benchmark.

    drift_scipy.py REFERENCE.csv CURRENT.csv [--all] [--bins N]

Reads two numeric CSV files with a header line (numpy.loadtxt) and prints
one JSON object: column -> statistics. By default it computes what
check_drift computes without --method (Evidently's choice: KS when both
samples have at most 1000 values, else the Wasserstein distance normed by
the reference's standard deviation); with --all every statistic of
common.numeric.
"""
import argparse
import json
import sys
import os

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def load(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return header, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("current")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--bins", type=int, default=10)
    args = ap.parse_args()
    names, ref = load(args.reference)
    cur_names, cur = load(args.current)
    if names != cur_names:
        sys.exit("different columns")
    out = {}
    for i, name in enumerate(names):
        x, y = ref[:, i], cur[:, i]
        if args.all:
            out[name] = common.numeric(x, y, bins=args.bins)
        elif len(x) <= 1000 and len(y) <= 1000:
            ks = stats.ks_2samp(x, y)
            out[name] = {"method": "ks", "ks_p": float(ks.pvalue), "ks_d": float(ks.statistic)}
        else:
            w = stats.wasserstein_distance(x, y)
            out[name] = {"method": "wasserstein", "wasserstein": float(w),
                         "wasserstein_normed": float(w / max(np.std(x), 0.001))}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
