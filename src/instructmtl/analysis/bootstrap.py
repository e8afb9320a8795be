"""Cluster bootstrap over tasks and seeds, vectorised: for statistics without a closed form.

Means and paired differences get studentized intervals from their variance
components (:mod:`~instructmtl.analysis.variance`), which stay calibrated with
three seeds; the bootstrap serves correlations and claim 3's re-chosen arms.

The study's uncertainty has two sources: which tasks happened to be held out
(or seen) and which seeds were run. Observations of one task are correlated
across models, and so are those of one seed, so resampling single rows would
understate the spread. Each resample therefore draws tasks with replacement
*and* seeds with replacement (a two-way cluster bootstrap) and recomputes the
statistic; the 95% interval is the 2.5th-97.5th percentile of the resamples.

Data sit in a :class:`Panel`: one value per (unit, task, seed), where a unit
is an arm, an (arm, step) point or a single quantity; NaN marks a missing
cell. A resample is a pair of count vectors (how often each task and each seed
was drawn), so the resampled mean of every unit is two matrix products
(:func:`boot_unit_means`) instead of a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from instructmtl.analysis.records import ScoreRecord
from instructmtl.analysis.stats import CORRELATIONS, correlation, correlation_rows

__all__ = [
    "DEFAULT_RESAMPLES",
    "Interval",
    "Panel",
    "boot_unit_means",
    "draw_counts",
    "percentile_interval",
    "task_correlation",
    "unit_correlation",
    "UnitCorrelation",
]

DEFAULT_RESAMPLES = 2000
# An interval needs most resamples to define the statistic; otherwise (e.g. a
# correlation over 3 tasks, where a third of the resamples repeat one task) it
# is reported as NaN and the verdict is inconclusive.
MIN_VALID_FRACTION = 0.9


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95% bootstrap interval (NaN when undefined)."""

    estimate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:.3g} [{self.low:.3g}, {self.high:.3g}]"


@dataclass(frozen=True)
class Panel:
    """Values on a (unit × task × seed) grid; NaN where nothing was measured.

    Attributes:
        units: unit labels (axis 0).
        tasks: task names (axis 1).
        seeds: seeds (axis 2).
        values: float array of shape ``(len(units), len(tasks), len(seeds))``.
    """

    units: tuple[Hashable, ...]
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    values: np.ndarray

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[ScoreRecord],
        unit: Callable[[ScoreRecord], Hashable],
        *,
        units: Sequence[Hashable] | None = None,
    ) -> Panel:
        """Averages rows into cells (duplicates: other encodings, ``k``, metrics of a quantity).

        Args:
            rows: the rows of one quantity.
            unit: maps a row to its unit label.
            units: unit order; default: sorted labels of the rows.
        """
        rows = list(rows)
        labels = tuple(units) if units is not None else tuple(sorted({unit(r) for r in rows}, key=str))
        tasks = tuple(sorted({r.task for r in rows}))
        seeds = tuple(sorted({r.seed for r in rows}))
        u_ix = {u: i for i, u in enumerate(labels)}
        t_ix = {t: i for i, t in enumerate(tasks)}
        s_ix = {s: i for i, s in enumerate(seeds)}
        total = np.zeros((len(labels), len(tasks), len(seeds)))
        count = np.zeros_like(total)
        for r in rows:
            u = unit(r)
            if u in u_ix:
                idx = (u_ix[u], t_ix[r.task], s_ix[r.seed])
                total[idx] += r.value
                count[idx] += 1
        with np.errstate(invalid="ignore"):
            return cls(labels, tasks, seeds, total / count)

    def align(self, tasks: Sequence[str], seeds: Sequence[int]) -> Panel:
        """The same panel on another task and seed grid (new cells are NaN)."""
        out = np.full((len(self.units), len(tasks), len(seeds)), np.nan)
        t_old = {t: i for i, t in enumerate(self.tasks)}
        s_old = {s: i for i, s in enumerate(self.seeds)}
        t_pairs = [(i, t_old[t]) for i, t in enumerate(tasks) if t in t_old]
        s_pairs = [(i, s_old[s]) for i, s in enumerate(seeds) if s in s_old]
        if t_pairs and s_pairs:
            t_new, t_src = (np.array(v) for v in zip(*t_pairs, strict=True))
            s_new, s_src = (np.array(v) for v in zip(*s_pairs, strict=True))
            out[:, t_new[:, None], s_new[None, :]] = self.values[:, t_src[:, None], s_src[None, :]]
        return Panel(self.units, tuple(tasks), tuple(seeds), out)

    def select_units(self, units: Sequence[Hashable]) -> Panel:
        """The panel restricted to (and ordered as) ``units``."""
        index = [self.units.index(u) for u in units]
        return Panel(tuple(units), self.tasks, self.seeds, self.values[index])

    def point_means(self) -> np.ndarray:
        """Mean of each unit over its measured cells (every cell weighs the same)."""
        ones_t = np.ones((1, len(self.tasks)))
        ones_s = np.ones((1, len(self.seeds)))
        means: np.ndarray = boot_unit_means(self, ones_t, ones_s)[0]
        return means

    @property
    def n_tasks(self) -> int:
        """Tasks with at least one measured cell."""
        return int(np.isfinite(self.values).any(axis=(0, 2)).sum())

    @property
    def n_seeds(self) -> int:
        """Seeds with at least one measured cell."""
        return int(np.isfinite(self.values).any(axis=(0, 1)).sum())


def draw_counts(rng: np.random.Generator, n_resamples: int, n: int) -> np.ndarray:
    """How often each of ``n`` clusters is drawn in each resample: ``(n_resamples, n)`` floats."""
    if n == 0:
        return np.zeros((n_resamples, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def boot_unit_means(panel: Panel, task_counts: np.ndarray, seed_counts: np.ndarray) -> np.ndarray:
    """Each unit's weighted mean under each resample: ``(resamples, units)``.

    A cell's weight is (times its task was drawn) × (times its seed was
    drawn); missing cells weigh nothing. A unit with no drawn cell is NaN.
    """
    mask = np.isfinite(panel.values)
    filled = np.where(mask, panel.values, 0.0)
    num = np.einsum("uts,bt,bs->bu", filled, task_counts, seed_counts, optimize=True)
    den = np.einsum("uts,bt,bs->bu", mask.astype(float), task_counts, seed_counts, optimize=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def percentile_interval(estimate: float, resampled: np.ndarray) -> Interval:
    """The 95% percentile interval of ``resampled`` around ``estimate``.

    NaN bounds when fewer than :data:`MIN_VALID_FRACTION` of the resamples
    define the statistic.
    """
    finite = resampled[np.isfinite(resampled)]
    if not np.isfinite(estimate) or len(finite) < MIN_VALID_FRACTION * len(resampled):
        return Interval(float(estimate), float("nan"), float("nan"))
    low, high = np.percentile(finite, [2.5, 97.5])
    return Interval(float(estimate), float(low), float(high))


def task_correlation(
    x: Panel, y: Panel, rng: np.random.Generator, n_resamples: int = DEFAULT_RESAMPLES
) -> tuple[dict[str, Interval], tuple[str, ...], np.ndarray, np.ndarray]:
    """Correlation across tasks of two single-unit panels (per-task means over seeds).

    Only tasks measured for every seed in both panels are used (seeds with no
    cell at all are dropped first), so each resample compares like with like.

    Returns:
        Intervals by method (pearson, spearman, kendall), the tasks used and
        the per-task means of x and y.
    """
    tasks = sorted(set(x.tasks) & set(y.tasks))
    seeds = sorted(set(x.seeds) | set(y.seeds))
    xv = x.align(tasks, seeds).values[0]
    yv = y.align(tasks, seeds).values[0]
    seed_keep = (np.isfinite(xv) & np.isfinite(yv)).any(axis=0)
    xv, yv = xv[:, seed_keep], yv[:, seed_keep]
    task_keep = (np.isfinite(xv) & np.isfinite(yv)).all(axis=1)
    xv, yv = xv[task_keep], yv[task_keep]
    used = tuple(t for t, keep in zip(tasks, task_keep, strict=True) if keep)
    n_t, n_s = xv.shape
    if n_t == 0 or n_s == 0:
        nan = Interval(float("nan"), float("nan"), float("nan"))
        return {m: nan for m in CORRELATIONS}, used, np.zeros(0), np.zeros(0)
    x_obs, y_obs = xv.mean(axis=1), yv.mean(axis=1)
    sc = draw_counts(rng, n_resamples, n_s)
    x_seed = sc @ xv.T / n_s  # (B, tasks): each task's mean over the drawn seeds
    y_seed = sc @ yv.T / n_s
    idx = rng.integers(0, n_t, size=(n_resamples, n_t))
    xb = np.take_along_axis(x_seed, idx, axis=1)
    yb = np.take_along_axis(y_seed, idx, axis=1)
    intervals = {
        m: percentile_interval(correlation(x_obs, y_obs, m), correlation_rows(xb, yb, m)) for m in CORRELATIONS
    }
    return intervals, used, x_obs, y_obs


@dataclass(frozen=True)
class UnitCorrelation:
    """A correlation across units (arms, checkpoints) of two quantities.

    Attributes:
        intervals: by method (pearson, spearman, kendall).
        units: the units used (measured in both quantities).
        x_obs, y_obs: each unit's mean, ``(units,)``.
        x_boot, y_boot: each unit's mean under each resample, ``(resamples, units)``.
    """

    intervals: dict[str, Interval]
    units: tuple[Hashable, ...]
    x_obs: np.ndarray
    y_obs: np.ndarray
    x_boot: np.ndarray
    y_boot: np.ndarray


def unit_correlation(
    x: Panel, y: Panel, rng: np.random.Generator, n_resamples: int = DEFAULT_RESAMPLES
) -> UnitCorrelation:
    """Correlation across units of the unit means of two panels.

    When the panels share tasks (both on held-out tasks, say) one task draw
    serves both, so a resample keeps each task's pair together; when they do
    not (seen-task MTL measures against held-out ICL) each task set is drawn
    on its own. Seeds are always drawn once for both.
    """
    x_means, y_means = x.point_means(), y.point_means()
    units = tuple(
        u
        for i, u in enumerate(x.units)
        if u in y.units and np.isfinite(x_means[i]) and np.isfinite(y_means[y.units.index(u)])
    )
    x, y = x.select_units(units), y.select_units(units)
    seeds = sorted(set(x.seeds) | set(y.seeds))
    shared = bool(set(x.tasks) & set(y.tasks))
    if shared:
        tasks = sorted(set(x.tasks) | set(y.tasks))
        x, y = x.align(tasks, seeds), y.align(tasks, seeds)
    else:
        x, y = x.align(x.tasks, seeds), y.align(y.tasks, seeds)
    sc = draw_counts(rng, n_resamples, len(seeds))
    tcx = draw_counts(rng, n_resamples, len(x.tasks))
    tcy = tcx if shared else draw_counts(rng, n_resamples, len(y.tasks))
    xb, yb = boot_unit_means(x, tcx, sc), boot_unit_means(y, tcy, sc)
    x_obs, y_obs = x.point_means(), y.point_means()
    intervals = {
        m: percentile_interval(correlation(x_obs, y_obs, m), correlation_rows(xb, yb, m)) for m in CORRELATIONS
    }
    return UnitCorrelation(intervals, units, x_obs, y_obs, xb, yb)
