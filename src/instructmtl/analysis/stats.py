"""Correlation coefficients: scipy for point estimates, row-wise numpy for bootstraps.

A bootstrap needs one coefficient per resample (thousands of short vectors).
``scipy.stats.pearsonr`` and ``rankdata`` take an ``axis`` and are used for
that; ``scipy.stats.kendalltau`` accepts ``axis`` too but loops in Python per
row (about 0.3 s for 2000 rows), so tau-b is written here from sign matrices,
which no library offers row-wise. The tests check every row-wise version
against scipy's 1-D result.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

__all__ = ["CORRELATIONS", "correlation", "correlation_rows"]

CORRELATIONS: tuple[str, ...] = ("pearson", "spearman", "kendall")


def correlation(x: np.ndarray, y: np.ndarray, method: str) -> float:
    """One correlation coefficient of two 1-D samples (scipy).

    Args:
        x, y: equal-length samples.
        method: ``pearson``, ``spearman`` or ``kendall`` (tau-b).

    Returns:
        The coefficient; NaN when fewer than 3 points or a sample is constant
        (the coefficient is undefined there, not zero).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        if method == "pearson":
            return float(stats.pearsonr(x, y).statistic)
        if method == "spearman":
            return float(stats.spearmanr(x, y).statistic)
        if method == "kendall":
            return float(stats.kendalltau(x, y).statistic)
    raise ValueError(f"unknown correlation {method!r}; use one of {CORRELATIONS}")


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / den
    # a constant row is undefined; test it exactly, since the mean's rounding can leave den tiny but nonzero
    r[(np.ptp(x, axis=1) == 0) | (np.ptp(y, axis=1) == 0) | ~np.isfinite(r)] = np.nan
    clipped: np.ndarray = np.clip(r, -1.0, 1.0)
    return clipped


def _kendall_rows(x: np.ndarray, y: np.ndarray, max_elements: int = 4_000_000) -> np.ndarray:
    n_rows, n = x.shape
    out = np.empty(n_rows)
    chunk = max(1, max_elements // max(1, n * n))
    n_ordered_pairs = n * (n - 1)  # both orders of every pair; the ratio below is unchanged by doubling
    for start in range(0, n_rows, chunk):
        xs = x[start : start + chunk]
        ys = y[start : start + chunk]
        sx = np.sign(xs[:, :, None] - xs[:, None, :])
        sy = np.sign(ys[:, :, None] - ys[:, None, :])
        s = (sx * sy).sum(axis=(1, 2))
        ties_x = (sx == 0).sum(axis=(1, 2)) - n  # minus the diagonal
        ties_y = (sy == 0).sum(axis=(1, 2)) - n
        den = np.sqrt((n_ordered_pairs - ties_x).astype(float) * (n_ordered_pairs - ties_y))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + chunk] = np.where(den > 0, s / den, np.nan)
    return out


def correlation_rows(x: np.ndarray, y: np.ndarray, method: str) -> np.ndarray:
    """The coefficient of each row pair of two ``(rows, n)`` arrays.

    Returns:
        ``(rows,)`` coefficients; NaN for rows with a constant sample or NaNs.
    """
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"need two equal 2-D arrays, got {x.shape} and {y.shape}")
    if x.shape[1] < 3:
        return np.full(x.shape[0], np.nan)
    if method == "pearson":
        return _pearson_rows(x, y)
    if method == "spearman":
        # Spearman's rho is Pearson's r of the ranks (ties get their average rank, as in scipy)
        return _pearson_rows(stats.rankdata(x, axis=1), stats.rankdata(y, axis=1))
    if method == "kendall":
        return _kendall_rows(x, y)
    raise ValueError(f"unknown correlation {method!r}; use one of {CORRELATIONS}")
