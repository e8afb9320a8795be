"""Variance components, studentized intervals and MDE: recovered on data with known components.

The synthetic design is the one a pilot of the default study has: 30 held-out tasks,
3 seeds, every cell scored on two disjoint eval halves. Known components (variances):
task 1.0, seed 0.25, task×seed 0.09, within-cell (full cell) 0.04.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from instructmtl.analysis import Panel, difference_interval, mean_intervals
from instructmtl.analysis.bootstrap import boot_unit_means, draw_counts
from instructmtl.analysis.variance import Design, estimate_components, t_quantile, within_from_halves

TASK, SEED, INTERACTION, WITHIN = 1.0, 0.25, 0.09, 0.04


def _cells(rng: np.random.Generator, tasks: int = 30, seeds: int = 3, mu: float = 0.0):  # type: ignore[no-untyped-def]
    """Cells and their two halves; each half's noise has twice the full cell's variance."""
    signal = (
        mu
        + rng.normal(0, math.sqrt(TASK), (tasks, 1))
        + rng.normal(0, math.sqrt(SEED), (1, seeds))
        + rng.normal(0, math.sqrt(INTERACTION), (tasks, seeds))
    )
    a = signal + rng.normal(0, math.sqrt(2 * WITHIN), (tasks, seeds))
    b = signal + rng.normal(0, math.sqrt(2 * WITHIN), (tasks, seeds))
    return (a + b) / 2, a, b


def _panel(values: np.ndarray) -> Panel:
    return Panel(("u",), tuple(f"t{i}" for i in range(values.shape[0])), tuple(range(values.shape[1])), values[None])


def test_components_are_recovered_within_their_sampling_error() -> None:
    rng = np.random.default_rng(0)
    fits = []
    for _ in range(300):
        full, a, b = _cells(rng)
        fits.append(estimate_components(full, within=within_from_halves(a, b)))
    mean = {name: np.mean([getattr(f, name) for f in fits]) for name in ("task", "seed", "interaction", "within")}
    # averages over 300 pilots: standard errors about 0.015 (task), 0.02 (seed), 0.001 (interaction, within)
    assert mean["task"] == pytest.approx(TASK, abs=0.05)
    assert mean["seed"] == pytest.approx(SEED, abs=0.06)
    assert mean["interaction"] == pytest.approx(INTERACTION, abs=0.006)
    assert mean["within"] == pytest.approx(WITHIN, abs=0.004)
    # one pilot: the within part from 90 half-pairs is within about 15% (its relative SE)
    assert fits[0].within == pytest.approx(WITHIN, rel=0.45)


def test_design_variance_is_the_closed_form() -> None:
    full, a, b = _cells(np.random.default_rng(1))
    c = estimate_components(full, within=within_from_halves(a, b), instances=24)
    bigger = Design(tasks=60, seeds=5, instances=48)
    expected = c.task / 60 + c.seed / 5 + (c.interaction + c.within * 24 / 48) / 300
    assert c.variance(bigger) == pytest.approx(expected)
    assert c.mde(bigger) == pytest.approx(
        (t_quantile(0.975, c.dof(bigger)) + t_quantile(0.8, c.dof(bigger))) * math.sqrt(expected)
    )
    assert c.mde(bigger) < c.mde()  # more tasks, seeds and instances: a smaller detectable effect
    shares = c.shares()
    assert sum(shares.values()) == pytest.approx(1.0) and shares["task"] > shares["instances"]


def _percentile_bootstrap(panel: Panel, rng: np.random.Generator, n: int = 1000) -> tuple[float, float]:
    boot = boot_unit_means(panel, draw_counts(rng, n, len(panel.tasks)), draw_counts(rng, n, len(panel.seeds)))
    low, high = np.percentile(boot[:, 0], [2.5, 97.5])
    return float(low), float(high)


def test_studentized_interval_is_calibrated_with_three_seeds_where_the_bootstrap_is_not() -> None:
    rng = np.random.default_rng(2)
    studentized, percentile = [], []
    replications = 400
    for _ in range(replications):
        full, _, _ = _cells(rng, mu=0.3)
        panel = _panel(full)
        iv = mean_intervals(panel)[0]
        studentized.append(iv.low <= 0.3 <= iv.high)
        low, high = _percentile_bootstrap(panel, rng, 500)
        percentile.append(low <= 0.3 <= high)
    # a calibrated method covers like Binomial(400, 0.95) / 400: within its central 99.9% band, [0.91, 0.9825]
    low, high = stats.binom.ppf([0.0005, 0.9995], replications, 0.95) / replications
    assert low <= np.mean(studentized) <= high
    # 3 seeds give the two-way percentile bootstrap 10 distinct seed draws: it under-covers
    assert np.mean(percentile) < 0.90


def test_power_at_the_mde_is_80_percent() -> None:
    rng = np.random.default_rng(3)
    pilot, a, b = _cells(rng)
    # the MDE of the true components (not a pilot's estimate) is what the simulation can check
    truth = estimate_components(pilot, within=within_from_halves(a, b))
    truth = type(truth)(TASK, SEED, INTERACTION, WITHIN, True, truth.design, 0.0)
    effect = truth.mde()
    rejected = []
    for _ in range(400):
        full, _, _ = _cells(rng, mu=effect)
        iv = mean_intervals(_panel(full))[0]
        rejected.append(iv.low > 0)
    # one-sided rejections of a two-sided test at the MDE: 0.80 in expectation, ±0.05 over 400 runs
    assert 0.72 <= np.mean(rejected) <= 0.88


def test_one_seed_is_tasks_only_and_a_missing_cell_drops_its_task() -> None:
    full, _, _ = _cells(np.random.default_rng(4), seeds=1)
    c = estimate_components(full)
    assert c.seed == 0.0 and c.design.seeds == 1 and c.dof() == 29
    assert c.variance() == pytest.approx(np.var(full, ddof=1) / 30)
    values = _cells(np.random.default_rng(5))[0]
    values[0, 1] = np.nan
    assert estimate_components(values).design.tasks == 29


def test_intervals_widen_with_task_spread() -> None:
    rng = np.random.default_rng(6)
    noise = rng.normal(0, 0.1, (20, 3))
    narrow = mean_intervals(_panel(noise))[0]
    spread = mean_intervals(_panel(noise + rng.normal(0, 1.0, (20, 1))))[0]
    assert (spread.high - spread.low) > 3 * (narrow.high - narrow.low)


def test_paired_difference_uses_cells_present_in_both() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(size=(10, 2))
    a, b = _panel(base + 0.5), _panel(base.copy())
    a.values[0, 0, 0] = np.nan  # a missing cell is left out, not treated as zero
    iv, diff = difference_interval(a, b)
    assert iv.estimate == pytest.approx(0.5) and iv.low == pytest.approx(0.5) and iv.high == pytest.approx(0.5)
    assert diff.n_tasks == 10
