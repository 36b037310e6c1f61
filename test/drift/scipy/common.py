"""Drift statistics as the data-science stack computes them (numpy/scipy).

Shared by expected.py (fixtures for the Go unit tests), drift_scipy.py (the
live cross-check and the benchmark's reference implementation). The
conventions are the ones check_drift documents: reference-quantile bins
right-closed, PSI with empty shares replaced by eps, Jensen-Shannon base 2,
chi-squared homogeneity without continuity correction, Hellinger as
||sqrt(p) - sqrt(q)|| / sqrt(2).
"""
import numpy as np
from scipy import stats
from scipy.spatial import distance


def quantile_edges(ref, bins):
    return np.unique(np.quantile(ref, np.arange(1, bins) / bins))


def bin_counts(x, edges):
    return np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1).astype(float)


def psi(ref_counts, cur_counts, eps):
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    p = np.where(p == 0, eps, p)
    q = np.where(q == 0, eps, q)
    return float(np.sum((q - p) * np.log(q / p)))


def hellinger(ref_counts, cur_counts):
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / np.sqrt(2))


def chi2(ref_counts, cur_counts):
    table = np.array([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]  # scipy refuses empty categories
    if table.shape[1] < 2:
        return 0.0, 1.0, 0
    res = stats.chi2_contingency(table, correction=False)
    return float(res[0]), float(res[1]), int(res[2])


def binned(ref_counts, cur_counts, eps=1e-4):
    c2, p2, dof = chi2(ref_counts, cur_counts)
    return {
        "psi": psi(ref_counts, cur_counts, eps),
        "jensenshannon": float(distance.jensenshannon(ref_counts, cur_counts, base=2)),
        "hellinger": hellinger(ref_counts, cur_counts),
        "chi2": c2,
        "chi2_p": p2,
        "chi2_dof": dof,
    }


def numeric(ref, cur, bins=10, eps=1e-4):
    """Every statistic of a numeric column, scipy's defaults where it has them."""
    ks = stats.ks_2samp(ref, cur)
    w = float(stats.wasserstein_distance(ref, cur))
    std = float(np.std(ref))
    edges = quantile_edges(ref, bins)
    rc, cc = bin_counts(ref, edges), bin_counts(cur, edges)
    out = {
        "ks": float(ks.statistic),
        "ks_p": float(ks.pvalue),
        "ks_exact": bool(max(len(ref), len(cur)) <= 10000),
        "wasserstein": w,
        "ref_std": std,
        "wasserstein_normed": w / max(std, 0.001),
        "edges": [float(e) for e in edges],
        "ref_counts": [int(c) for c in rc],
        "cur_counts": [int(c) for c in cc],
    }
    out.update(binned(rc, cc, eps))
    return out


def categorical(ref, cur, eps=1e-4):
    """Statistics of category counts over the sorted union of labels."""
    labels = sorted(set(ref) | set(cur))
    rc = np.array([ref.get(l, 0) for l in labels], dtype=float)
    cc = np.array([cur.get(l, 0) for l in labels], dtype=float)
    out = {"labels": labels}
    out.update(binned(rc, cc, eps))
    return out


def weyl(n, a, scale=1.0, shift=0.0, square=False, decimals=None):
    """A deterministic sample both Python and Go rebuild bit for bit: the
    fractional parts of i*a (basic IEEE operations only), optionally squared
    (a skewed shape), scaled, shifted, and rounded to whole multiples of
    10**-decimals (ties)."""
    out = np.empty(n)
    for i in range(n):
        u = (i * a) % 1.0
        if square:
            u = u * u
        v = u * scale + shift
        if decimals is not None:
            f = 10.0 ** decimals
            v = np.floor(v * f) / f
        out[i] = v
    return out
