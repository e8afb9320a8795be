"""Split-half reliability of a per-task quantity, and the ceiling it puts on a correlation.

A correlation across tasks between two measured quantities cannot exceed
what their measurement noise allows: if half of a quantity's spread across
tasks is eval-instance noise, even a perfect underlying relation shows up as
a modest r. Scoring each task's eval instances in two disjoint halves (the
records' ``subset`` ``"a"`` and ``"b"``) measures that noise: the
correlation across tasks between the two halves' values of the *same*
quantity is the split-half reliability of one half; the Spearman-Brown
formula ``2 r / (1 + r)`` extends it to the whole eval set. With
reliabilities ``rel_x`` and ``rel_y``, the largest observable correlation is
``sqrt(rel_x * rel_y)`` (Spearman's attenuation ceiling).
"""

from __future__ import annotations

import math

import numpy as np

from instructmtl.analysis.stats import correlation

__all__ = ["attenuation_ceiling", "spearman_brown", "split_half_reliability"]


def spearman_brown(r_half: float) -> float:
    """Reliability of the whole measure from the correlation ``r_half`` of its two halves.

    Returns:
        ``2 r / (1 + r)``; NaN when ``r_half`` is NaN or -1 (undefined).
    """
    if math.isnan(r_half) or r_half <= -1.0:
        return float("nan")
    return 2.0 * r_half / (1.0 + r_half)


def split_half_reliability(half_a: np.ndarray, half_b: np.ndarray) -> tuple[float, float]:
    """Split-half reliability of a per-task quantity.

    Args:
        half_a, half_b: ``(tasks,)`` values of one quantity measured on the
            two halves of each task's eval instances (same task order).

    Returns:
        ``(r_half, reliability)``: Pearson r across tasks between the halves,
        and its Spearman-Brown correction to the full eval set; NaN when fewer
        than 3 tasks or a half is constant.
    """
    r_half = correlation(np.asarray(half_a, dtype=float), np.asarray(half_b, dtype=float), "pearson")
    return r_half, spearman_brown(r_half)


def attenuation_ceiling(rel_x: float, rel_y: float) -> float:
    """The largest correlation two measures of these reliabilities can show: ``sqrt(rel_x * rel_y)``.

    A reliability at or below 0 means the measure's spread across tasks is all
    noise, so the ceiling is 0 (a product of two negative reliabilities is
    not a reliable signal).
    """
    if math.isnan(rel_x) or math.isnan(rel_y):
        return float("nan")
    return math.sqrt(max(rel_x, 0.0) * max(rel_y, 0.0))
