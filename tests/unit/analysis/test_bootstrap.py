"""The cluster bootstrap: exact point estimates, seeded determinism, honest coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from instructmtl.analysis import Panel, ScoreRecord, difference_interval, mean_intervals, task_correlation
from instructmtl.analysis.bootstrap import boot_unit_means, draw_counts


def _panel(values: np.ndarray) -> Panel:
    u, t, s = values.shape
    return Panel(tuple(range(u)), tuple(f"t{i}" for i in range(t)), tuple(range(s)), values)


def _simulated(rng: np.random.Generator, mu: float, n_tasks: int = 15, n_seeds: int = 3) -> Panel:
    """mu + task effect + seed effect + noise: tasks and seeds are clusters."""
    task = rng.normal(0, 1.0, (n_tasks, 1))
    seed = rng.normal(0, 0.3, (1, n_seeds))
    return _panel((mu + task + seed + rng.normal(0, 0.5, (n_tasks, n_seeds)))[None])


def _record(task: str, seed: int, value: float, k: int = 0) -> ScoreRecord:
    return ScoreRecord("a", seed, 10, 1.0, task, "held_out", "icl", "e", k, "rouge_l", value, "c")


def test_panel_averages_duplicates_and_marks_missing_cells() -> None:
    rows = [_record("t1", 0, 1.0, k=0), _record("t1", 0, 3.0, k=2), _record("t2", 1, 5.0)]
    panel = Panel.from_rows(rows, lambda r: r.arm)
    assert panel.tasks == ("t1", "t2") and panel.seeds == (0, 1)
    assert panel.values[0, 0, 0] == 2.0 and panel.values[0, 1, 1] == 5.0
    assert math.isnan(panel.values[0, 0, 1])
    assert panel.point_means()[0] == pytest.approx(3.5)  # mean of the two measured cells


def test_weighted_means_equal_an_explicit_resample() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 5, 3))
    values[1, 2, 0] = np.nan
    panel = _panel(values)
    tc, sc = draw_counts(rng, 4, 5), draw_counts(rng, 4, 3)
    assert (tc.sum(axis=1) == 5).all() and (sc.sum(axis=1) == 3).all()
    boot = boot_unit_means(panel, tc, sc)
    for b in range(4):
        tasks = np.repeat(np.arange(5), tc[b].astype(int))
        seeds = np.repeat(np.arange(3), sc[b].astype(int))
        for u in range(2):
            grid = values[u][np.ix_(tasks, seeds)]
            expected = np.nanmean(grid) if np.isfinite(grid).any() else np.nan
            np.testing.assert_allclose(boot[b, u], expected)


def test_same_seed_same_interval_and_other_seed_differs() -> None:
    panel = _simulated(np.random.default_rng(3), mu=0.0)
    a = mean_intervals(panel, np.random.default_rng(7), 500)
    b = mean_intervals(panel, np.random.default_rng(7), 500)
    c = mean_intervals(panel, np.random.default_rng(8), 500)
    assert a == b
    assert a[0].estimate == c[0].estimate and a[0].low != c[0].low


def test_interval_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    hits = []
    for _ in range(80):
        iv = mean_intervals(_simulated(rng, mu=2.0), rng, 400)[0]
        hits.append(iv.low <= 2.0 <= iv.high)
        assert iv.low < iv.estimate < iv.high
    # percentile intervals over 15 tasks run a little narrow; far below 95% would mean clustering is ignored
    assert 0.8 <= np.mean(hits) <= 1.0


def test_intervals_widen_with_task_spread() -> None:
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.1, (1, 20, 3))
    narrow = mean_intervals(_panel(noise), np.random.default_rng(0), 500)[0]
    spread = mean_intervals(_panel(noise + rng.normal(0, 1.0, (1, 20, 1))), np.random.default_rng(0), 500)[0]
    assert (spread.high - spread.low) > 3 * (narrow.high - narrow.low)


def test_paired_difference_uses_cells_present_in_both() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(size=(1, 10, 2))
    a, b = _panel(base + 0.5), _panel(base.copy())
    a.values[0, 0, 0] = np.nan  # a missing cell is left out, not treated as zero
    iv, diff = difference_interval(a, b, np.random.default_rng(0), 300)
    assert iv.estimate == pytest.approx(0.5) and iv.low == pytest.approx(0.5) and iv.high == pytest.approx(0.5)
    assert diff.n_tasks == 10


def test_task_correlation_recovers_a_perfect_relation_and_drops_incomplete_tasks() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 12, 3))
    y = 2 * x + 1
    y[0, 3, 1] = np.nan  # task t3 misses a seed in y: left out
    intervals, tasks, _, _ = task_correlation(_panel(x), _panel(y), np.random.default_rng(0), 300)
    assert "t3" not in tasks and len(tasks) == 11
    assert intervals["pearson"].estimate == pytest.approx(1.0)
    assert intervals["pearson"].low == pytest.approx(1.0)
