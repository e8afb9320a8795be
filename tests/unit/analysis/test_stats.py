"""Row-wise correlations agree with scipy; the verdict rule reads intervals as documented."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from instructmtl.analysis import CORRELATIONS, Interval, correlation, correlation_rows, verdict

SCIPY = {
    "pearson": lambda x, y: stats.pearsonr(x, y).statistic,
    "spearman": lambda x, y: stats.spearmanr(x, y).statistic,
    "kendall": lambda x, y: stats.kendalltau(x, y).statistic,
}


@pytest.mark.parametrize("method", CORRELATIONS)
@pytest.mark.parametrize("ties", [False, True])
def test_row_wise_correlations_match_scipy(method: str, ties: bool) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 9))
    y = x + rng.normal(size=(40, 9))
    if ties:  # bootstrap resamples repeat tasks, so ties are the normal case
        x, y = np.round(x), np.round(y)
    rows = correlation_rows(x, y, method)
    expected = [SCIPY[method](xi, yi) for xi, yi in zip(x, y, strict=True)]
    np.testing.assert_allclose(rows, expected, rtol=1e-10, atol=1e-12)
    assert correlation(x[0], y[0], method) == pytest.approx(expected[0])


def test_undefined_correlations_are_nan_not_zero() -> None:
    x = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    y = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]])
    for method in CORRELATIONS:
        r = correlation_rows(x, y, method)
        assert math.isnan(r[0]) and r[1] == pytest.approx(1.0)
        assert math.isnan(correlation(x[0], y[0], method))
    assert math.isnan(correlation(np.array([1.0, 2.0]), np.array([2.0, 1.0]), "pearson"))  # two points


@pytest.mark.parametrize(
    ("low", "high", "direction", "threshold", "expected"),
    [
        (-0.3, -0.1, -1, 0.0, "supported"),  # claimed below 0, interval below 0
        (0.1, 0.3, -1, 0.0, "not supported"),  # the opposite side
        (-0.1, 0.2, -1, 0.0, "inconclusive"),
        (0.1, 0.3, 1, 0.0, "supported"),
        (0.5, 0.9, 1, 0.3, "supported"),
        (0.1, 0.6, 1, 0.3, "inconclusive"),  # lower end above 0 but below the stated threshold
        (0.05, 0.25, 1, 0.3, "not supported"),  # above 0 but wholly too weak to "predict"
        (-0.2, 0.6, 1, 0.3, "inconclusive"),
        (-0.6, -0.2, 1, 0.3, "not supported"),
        (-0.5, -0.4, -1, -0.3, "supported"),  # "r below -0.3", cleared
        (float("nan"), float("nan"), 1, 0.0, "inconclusive"),
    ],
)
def test_verdict_rule(low: float, high: float, direction: int, threshold: float, expected: str) -> None:
    iv = Interval((low + high) / 2, low, high)
    assert verdict(iv, direction=direction, threshold=threshold) == expected
