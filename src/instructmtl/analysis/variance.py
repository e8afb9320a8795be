"""Variance components of a mean over tasks × seeds, its studentized interval, and the design's MDE.

A claim's mean (transfer of a checkpoint, a paired arm difference) is an average of
cells y[t, s], one per held-out task and seed. Under the crossed random-effects model

    y[t, s] = mu + task[t] + seed[s] + (task×seed)[t, s] + within[t, s]

the variance of the grand mean of a design with T tasks, S seeds and m eval instances
per cell is ``var_task / T + var_seed / S + (var_task×seed + var_within(m)) / (T S)``,
where the within-cell (eval-instance) part falls as 1 / m. The components are
estimated by the two-way ANOVA method of moments on the complete tasks × seeds
table; the within-cell part comes from the two disjoint eval halves a and b of
every cell (``E[(a - b)^2] / 4`` is the noise variance of their mean), and the
rest of the residual is task×seed interaction, which includes fine-tune noise.

Why not a percentile bootstrap for means: with 3 seeds a two-way cluster bootstrap
has only 10 distinct seed draws and under-covers (tests/unit/analysis/test_variance.py
measures it). The interval here is the estimate ± t(nu) × SE with the SE from the
components and nu from Satterthwaite's approximation, which is calibrated for few
clusters; the cluster bootstrap stays for statistics without a closed form
(correlations, claim 3's re-chosen arms).

The minimum detectable effect (MDE) is a property of the design, not of the
outcome: the true mean that a two-sided 5% test detects with 80% power,
``(t(nu, 0.975) + t(nu, 0.80)) × SE(design)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from instructmtl.analysis.bootstrap import Interval, Panel

__all__ = [
    "ALPHA",
    "POWER",
    "Components",
    "Design",
    "difference_interval",
    "estimate_components",
    "mean_intervals",
    "studentized_interval",
    "t_quantile",
    "unit_components",
    "within_from_halves",
]

ALPHA = 0.05
POWER = 0.80


@dataclass(frozen=True)
class Design:
    """How many tasks, seeds and eval instances per cell a study has (or would have)."""

    tasks: int
    seeds: int
    instances: float


@dataclass(frozen=True)
class Components:
    """Variance components of one quantity's cells, on the pilot's design.

    Attributes:
        task / seed / interaction / within: variance of the task effect, the seed
            effect, task×seed interaction (fine-tune noise included) and within-cell
            eval-instance noise at the pilot's ``design.instances``; ``within`` is 0
            and ``within_known`` False when the store had no eval halves, in which
            case the interaction holds it too.
        design: the pilot's tasks, seeds and instances per cell.
        estimate: the pilot's grand mean.
    """

    task: float
    seed: float
    interaction: float
    within: float
    within_known: bool
    design: Design
    estimate: float

    @property
    def defined(self) -> bool:
        """Whether the pilot had the 2+ complete tasks the components need."""
        return self.design.tasks >= 2 and math.isfinite(self.task)

    @property
    def residual(self) -> float:
        """Interaction plus within-cell noise: what one cell adds beyond its task and seed."""
        return self.interaction + self.within

    def _residual_at(self, instances: float) -> float:
        return self.interaction + self.within * self.design.instances / max(instances, 1e-12)

    def variance(self, design: Design | None = None) -> float:
        """Variance of the grand mean under ``design`` (default: the pilot's own)."""
        d = design or self.design
        if not self.defined or d.tasks < 1 or d.seeds < 1:
            return float("nan")
        seed_part = self.seed / d.seeds
        return self.task / d.tasks + seed_part + self._residual_at(d.instances) / (d.tasks * d.seeds)

    def dof(self, design: Design | None = None) -> float:
        """Satterthwaite degrees of freedom of the variance estimate under ``design``."""
        d = design or self.design
        if not self.defined:
            return float("nan")
        resid = self._residual_at(d.instances)
        if d.seeds == 1:
            return float(max(d.tasks - 1, 1))
        # expected mean squares of the two-way table with their degrees of freedom, and the
        # coefficients by which the (truncated) variance estimate combines them
        terms = [
            (resid + d.seeds * self.task, d.tasks - 1),
            (resid + d.tasks * self.seed, d.seeds - 1),
        ]
        residual_weight = 1.0 - (self.task > 0) - (self.seed > 0)
        coefficient = [float(self.task > 0), float(self.seed > 0)]
        terms.append((resid, (d.tasks - 1) * (d.seeds - 1)))
        coefficient.append(residual_weight)
        total = sum(c * ms for c, (ms, _) in zip(coefficient, terms, strict=True))
        denominator = sum((c * ms) ** 2 / df for c, (ms, df) in zip(coefficient, terms, strict=True) if df > 0)
        return float(max(total**2 / denominator, 1.0)) if denominator > 0 else float(max(d.tasks - 1, 1))

    def se(self, design: Design | None = None) -> float:
        """Standard error of the grand mean under ``design``."""
        variance = self.variance(design)
        return math.sqrt(max(variance, 0.0)) if math.isfinite(variance) else float("nan")

    def half_width(self, design: Design | None = None) -> float:
        """Half-width of the design's 95% interval (the precision a study reaches)."""
        return t_quantile(1 - ALPHA / 2, self.dof(design)) * self.se(design)

    def mde(self, design: Design | None = None, power: float = POWER) -> float:
        """Smallest true mean a two-sided 5% test detects with ``power`` under ``design``."""
        df = self.dof(design)
        return (t_quantile(1 - ALPHA / 2, df) + t_quantile(power, df)) * self.se(design)

    def shares(self) -> dict[str, float]:
        """Each component's share of the pilot's variance of the mean (task, seed, task×seed, instances)."""
        d = self.design
        if not self.defined:
            return {}
        parts = {
            "task": self.task / d.tasks,
            "seed": self.seed / d.seeds,
            "task×seed": self.interaction / (d.tasks * d.seeds),
            "instances": self.within / (d.tasks * d.seeds),
        }
        total = sum(parts.values())
        return {k: (v / total if total > 0 else float("nan")) for k, v in parts.items()}


def complete_table(values: np.ndarray) -> np.ndarray:
    """Keeps seeds with any measured cell, then tasks measured at every kept seed: a ``(tasks, seeds)`` table."""
    values = values[:, np.isfinite(values).any(axis=0)]
    complete: np.ndarray = values[np.isfinite(values).all(axis=1)]
    return complete


def within_from_halves(half_a: np.ndarray, half_b: np.ndarray) -> float:
    """Eval-instance noise variance of a full cell from its two halves: mean of ``(a - b)^2 / 4``.

    Returns NaN when no cell has both halves.
    """
    diff = half_a - half_b
    diff = diff[np.isfinite(diff)]
    return float(np.mean(diff**2) / 4.0) if len(diff) else float("nan")


def estimate_components(values: np.ndarray, *, within: float = float("nan"), instances: float = 1.0) -> Components:
    """Two-way ANOVA (method of moments) components of a ``(tasks, seeds)`` table; NaN cells drop their task.

    Args:
        values: one value per (task, seed); a task missing at some seed is left out.
        within: the within-cell eval-instance variance (:func:`within_from_halves`), or NaN if unknown.
        instances: eval instances per cell in the pilot (scales ``within`` for other designs).

    Returns:
        The components, truncated at 0. With one seed the seed effect is 0 and the
        task component holds task×seed and within-cell variance too (the interval
        then covers task-to-task variance only).
    """
    table = complete_table(np.asarray(values, dtype=float))
    n_tasks, n_seeds = table.shape if table.size else (0, 0)
    nan = float("nan")
    if n_tasks < 2:
        return Components(nan, nan, nan, nan, False, Design(n_tasks, n_seeds, instances), nan)
    grand = float(table.mean())
    task_means, seed_means = table.mean(axis=1), table.mean(axis=0)
    ms_task = n_seeds * float(np.sum((task_means - grand) ** 2)) / (n_tasks - 1)
    known = math.isfinite(within)
    if n_seeds == 1:
        # tasks only: the task mean square is all there is; its expectation is var_task + residual
        task = ms_task - (within if known else 0.0)
        return Components(
            max(task, 0.0), 0.0, 0.0, within if known else 0.0, known, Design(n_tasks, 1, instances), grand
        )
    ms_seed = n_tasks * float(np.sum((seed_means - grand) ** 2)) / (n_seeds - 1)
    resid = table - task_means[:, None] - seed_means[None, :] + grand
    ms_resid = float(np.sum(resid**2)) / ((n_tasks - 1) * (n_seeds - 1))
    within_part = min(within, ms_resid) if known else 0.0
    return Components(
        task=max((ms_task - ms_resid) / n_seeds, 0.0),
        seed=max((ms_seed - ms_resid) / n_tasks, 0.0),
        interaction=ms_resid - within_part,
        within=within_part,
        within_known=known,
        design=Design(n_tasks, n_seeds, instances),
        estimate=grand,
    )


def t_quantile(p: float, df: float) -> float:
    """Student t quantile (scipy)."""
    return float(stats.t.ppf(p, df))


def studentized_interval(estimate: float, components: Components) -> Interval:
    """``estimate`` ± t(nu, 0.975) × SE from the components (NaN bounds with under 2 complete tasks)."""
    if not (math.isfinite(estimate) and components.defined):
        return Interval(float(estimate), float("nan"), float("nan"))
    half = components.half_width()
    return Interval(float(estimate), float(estimate - half), float(estimate + half))


def unit_components(panel: Panel, unit: int = 0, halves: tuple[Panel, Panel] | None = None) -> Components:
    """Components of one unit of ``panel``; ``halves`` (the same unit on eval halves a, b) give the within part."""
    within = float("nan")
    if halves is not None:
        a, b = (h.align(panel.tasks, panel.seeds).values[unit] for h in halves)
        within = within_from_halves(a, b)
    return estimate_components(panel.values[unit], within=within)


def mean_intervals(panel: Panel) -> list[Interval]:
    """Each unit's mean over tasks and seeds with its studentized interval."""
    return [studentized_interval(float(est), unit_components(panel, i)) for i, est in enumerate(panel.point_means())]


def difference_interval(a: Panel, b: Panel) -> tuple[Interval, Panel]:
    """Mean of ``a - b`` over cells measured in both (paired by task and seed).

    Args:
        a, b: single-unit panels.

    Returns:
        The interval and the difference panel (for counting tasks and seeds, and its components).
    """
    tasks = sorted(set(a.tasks) | set(b.tasks))
    seeds = sorted(set(a.seeds) | set(b.seeds))
    diff = Panel(
        ("difference",), tuple(tasks), tuple(seeds), a.align(tasks, seeds).values[:1] - b.align(tasks, seeds).values[:1]
    )
    return mean_intervals(diff)[0], diff
