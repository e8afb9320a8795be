"""The report's tables and figure data, as pure functions of a :class:`ResultTable`.

* :func:`arm_table`: per arm, MTL fit, MTL generalization, ICL and transfer at
  the final checkpoints, each with its interval;
* :func:`task_table`: per held-out task, transfer at the earliest and final
  checkpoint and ICL at the base and final checkpoint (claim 5, task by task);
* :func:`curves`: a quantity over training (x = step fraction), per arm,
  with intervals; the base model is the point at fraction 0 of every arm;
* :func:`transfer_heatmap`: transfer per task × checkpoint of one arm.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from instructmtl.analysis.bootstrap import Interval, Panel
from instructmtl.analysis.measures import QUANTITIES, ResultTable, at_earliest, at_final
from instructmtl.analysis.records import ScoreRecord
from instructmtl.analysis.variance import mean_intervals

__all__ = [
    "ARM_QUANTITIES",
    "ArmRow",
    "Curve",
    "Heatmap",
    "TaskRow",
    "arm_table",
    "curves",
    "final_task_means",
    "task_table",
    "transfer_heatmap",
]

ARM_QUANTITIES: tuple[str, ...] = ("mtl_fit", "mtl_gen", "icl", "transfer")


@dataclass(frozen=True)
class ArmRow:
    """One arm at its final checkpoints; ``values`` maps each of :data:`ARM_QUANTITIES` to its interval."""

    arm: str
    values: dict[str, Interval]
    n_seeds: int


@dataclass(frozen=True)
class TaskRow:
    """One held-out task of one arm (means over seeds; NaN where not measured)."""

    task: str
    early_transfer: float
    final_transfer: float
    icl_base: float
    icl_final: float


@dataclass(frozen=True)
class Curve:
    """One arm's trajectory of a quantity; arrays share the checkpoints' order."""

    arm: str
    quantity: str
    fractions: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class Heatmap:
    """Mean transfer (over seeds) per task (rows) and checkpoint step (columns) of one arm."""

    arm: str
    tasks: tuple[str, ...]
    steps: tuple[int, ...]
    fractions: tuple[float, ...]
    values: np.ndarray


def arm_table(table: ResultTable, arms: Sequence[str]) -> list[ArmRow]:
    """Per-arm final-checkpoint means of :data:`ARM_QUANTITIES`, with intervals over tasks and seeds."""
    columns: dict[str, list[Interval]] = {}
    seeds: dict[str, int] = {}
    for quantity in ARM_QUANTITIES:
        panel = Panel.from_rows(at_final(table.rows(QUANTITIES[quantity])), lambda r: r.arm, units=list(arms))
        columns[quantity] = mean_intervals(panel)
    for arm in arms:
        seeds[arm] = len({r.seed for r in table.records if r.arm == arm and r.step > 0})
    return [ArmRow(arm, {q: columns[q][i] for q in ARM_QUANTITIES}, seeds[arm]) for i, arm in enumerate(arms)]


def _task_means(rows: Sequence[ScoreRecord]) -> dict[str, float]:
    """Mean per task of per-seed means (so a seed with more rows does not weigh more)."""
    panel = Panel.from_rows(rows, lambda r: r.task)
    means = panel.point_means()
    return {str(u): float(m) for u, m in zip(panel.units, means, strict=True)}


def task_table(table: ResultTable, arm: str) -> list[TaskRow]:
    """Per held-out task of ``arm``: early and final transfer, base and final ICL."""
    transfer = table.rows(QUANTITIES["transfer"], arm=arm)
    icl_q = QUANTITIES["icl"]
    early = _task_means(at_earliest(transfer))
    final = _task_means(at_final(transfer))
    icl_final = _task_means(at_final(table.rows(icl_q, arm=arm)))
    icl_base = _task_means(table.base_rows(icl_q))
    tasks = sorted(set(early) | set(final) | set(icl_final))
    nan = float("nan")
    return [
        TaskRow(t, early.get(t, nan), final.get(t, nan), icl_base.get(t, nan), icl_final.get(t, nan)) for t in tasks
    ]


def curves(table: ResultTable, quantity: str, arms: Sequence[str]) -> list[Curve]:
    """Mean of ``quantity`` per arm and checkpoint with intervals; x is the step fraction.

    The base model (step 0) starts every arm's curve: its measured value, or
    0 with no spread for transfer, which is 0 at the base by definition.
    """
    q = QUANTITIES[quantity]
    tuned = [r for r in table.rows(q) if r.step > 0 and r.arm in arms]
    base = table.base_rows(q) if q.measure != "transfer" else []
    rows = tuned + [replace(r, arm=arm) for arm in arms for r in base]
    units = sorted({(r.arm, r.step) for r in rows})
    fractions: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in rows:
        fractions[(r.arm, r.step)].append(r.fraction)
    intervals = dict(
        zip(units, mean_intervals(Panel.from_rows(rows, lambda r: (r.arm, r.step), units=units)), strict=True)
    )
    out = []
    for arm in arms:
        points = [(float(np.mean(fractions[u])), intervals[u]) for u in units if u[0] == arm]
        if q.measure == "transfer":
            points.insert(0, (0.0, Interval(0.0, 0.0, 0.0)))
        out.append(
            Curve(
                arm,
                quantity,
                np.array([p[0] for p in points]),
                np.array([p[1].estimate for p in points]),
                np.array([p[1].low for p in points]),
                np.array([p[1].high for p in points]),
            )
        )
    return out


def transfer_heatmap(table: ResultTable, arm: str) -> Heatmap:
    """Mean transfer over seeds for each held-out task and tuned checkpoint of ``arm``."""
    rows = [r for r in table.rows(QUANTITIES["transfer"], arm=arm) if r.step > 0]
    steps = tuple(sorted({r.step for r in rows}))
    by_step = Panel.from_rows(rows, lambda r: r.step, units=steps)
    fractions = tuple(float(np.mean([r.fraction for r in rows if r.step == s])) for s in steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an unmeasured (task, step) stays NaN: a blank cell
        values = np.nanmean(by_step.values, axis=2).T if rows else np.zeros((0, 0))
    return Heatmap(arm, by_step.tasks, steps, fractions, values)


def final_task_means(table: ResultTable, quantity: str, arm: str) -> dict[str, float]:
    """Per task, the mean over seeds of ``quantity`` at ``arm``'s final checkpoints."""
    return _task_means(at_final(table.rows(QUANTITIES[quantity], arm=arm)))
