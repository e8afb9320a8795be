"""The cluster bootstrap (correlations, claim 3): exact resampled means, complete tasks only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from instructmtl.analysis import Panel, ScoreRecord, task_correlation
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


def test_task_correlation_recovers_a_perfect_relation_and_drops_incomplete_tasks() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 12, 3))
    y = 2 * x + 1
    y[0, 3, 1] = np.nan  # task t3 misses a seed in y: left out
    intervals, tasks, _, _ = task_correlation(_panel(x), _panel(y), np.random.default_rng(0), 300)
    assert "t3" not in tasks and len(tasks) == 11
    assert intervals["pearson"].estimate == pytest.approx(1.0)
    assert intervals["pearson"].low == pytest.approx(1.0)
