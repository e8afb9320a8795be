"""Claims 2 and 5: does transfer predict in-context learning?

DESIGN.md asks for correlations of *changes from the base*, not of levels:
per-task levels mostly rank tasks by difficulty, which every model shares, so
a high r between levels says little about instruction-tuning. All three are
Pearson r with a cluster-bootstrap interval, judged against the stated
threshold (:mod:`~instructmtl.analysis.verdict`):

* ``2.change``: across held-out tasks, transfer of the final baseline
  checkpoint measured on eval half ``b`` against its ICL change from the base
  measured on half ``a``. Independent halves keep eval-instance noise shared
  by both sides from inflating r; the details give each side's split-half
  reliability and the ceiling it puts on r;
* ``2.points``: across (arm, checkpoint) points, mean transfer against mean
  ICL change; judged without the base point (which sits at (0, 0) by
  definition and would pull r up), reported with it in the details;
* ``2.levels``: the paper's own statistic, fine-tuned target NLL against ICL
  target NLL per task (levels), with the same r on the base model in the
  details, so a reader sees how much of it is task difficulty;
* ``5``: across held-out tasks, transfer at the baseline arm's earliest
  checkpoint against ICL change at its final one; ``invalid`` when the two are
  the same checkpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from instructmtl.analysis.bootstrap import Interval, Panel, task_correlation, unit_correlation
from instructmtl.analysis.measures import QUANTITIES, ResultTable
from instructmtl.analysis.records import ScoreRecord
from instructmtl.analysis.reliability import attenuation_ceiling, split_half_reliability
from instructmtl.analysis.verdict import Claim, Details, correlation_claim, inconclusive_claim

__all__ = [
    "arm_steps",
    "checkpoint_panels",
    "claim_change",
    "claim_early",
    "claim_levels",
    "claim_points",
    "panel_reliability",
]

HALVES = ("a", "b")


def arm_steps(table: ResultTable, arm: str, pick: Callable[[list[int]], int]) -> dict[int, int]:
    """Per seed, the step ``pick`` chooses among ``arm``'s tuned checkpoints (``max``: final, ``min``: earliest).

    Taken over every record of the arm, so both sides of a correlation come
    from the same checkpoint even when one side's jobs are further along.
    """
    steps: dict[int, list[int]] = defaultdict(list)
    for r in table.records:
        if r.arm == arm and r.step > 0:
            steps[r.seed].append(r.step)
    return {seed: pick(values) for seed, values in steps.items()}


def _panel_at(table: ResultTable, quantity: str, arm: str, steps: dict[int, int], subset: str = "") -> Panel:
    rows = [r for r in table.rows(QUANTITIES[quantity], arm=arm, subset=subset) if steps.get(r.seed) == r.step]
    return Panel.from_rows(rows, lambda r: r.arm, units=[arm])


def _task_means(panel: Panel) -> dict[str, float]:
    """Each task's mean over its measured seeds (tasks with none are left out)."""
    values = panel.values[0]
    measured = np.isfinite(values)
    counts = measured.sum(axis=1)
    sums = np.where(measured, values, 0.0).sum(axis=1)
    return {t: float(s / c) for t, s, c in zip(panel.tasks, sums, counts, strict=True) if c > 0}


def panel_reliability(half_a: Panel, half_b: Panel) -> tuple[float, float, int]:
    """Split-half r and its Spearman-Brown reliability across tasks (means over seeds), and the task count."""
    a, b = _task_means(half_a), _task_means(half_b)
    tasks = sorted(set(a) & set(b))
    r_half, rel = split_half_reliability(np.array([a[t] for t in tasks]), np.array([b[t] for t in tasks]))
    return r_half, rel, len(tasks)


def _reliability_details(label: str, half_a: Panel, half_b: Panel) -> tuple[Details, float, float]:
    r_half, rel, n_tasks = panel_reliability(half_a, half_b)
    details: Details = {
        f"{label}: split-half r (halves a vs b, {n_tasks} tasks)": r_half,
        f"{label}: reliability (Spearman-Brown)": rel,
    }
    return details, r_half, rel


def claim_change(table: ResultTable, arm: str, rng: np.random.Generator, n_resamples: int, threshold: float) -> Claim:
    """Claim 2 on changes from the base: transfer (half b) against ICL change (half a) across tasks."""
    statement = (
        f"Transfer predicts ICL change: Pearson r across held-out tasks between transfer of the final "
        f"'{arm}' checkpoint (n > 0, eval half b) and its ICL change from the base (eval half a) is "
        f"positive and not below {threshold}."
    )
    final = arm_steps(table, arm, max)
    x = {h: _panel_at(table, "transfer", arm, final, h) for h in HALVES}
    y = {h: _panel_at(table, "icl_change", arm, final, h) for h in HALVES}
    missing = [
        f"{name} on half {h}"
        for name, panels in (("transfer", x), ("ICL change", y))
        for h in HALVES
        if panels[h].n_tasks == 0
    ]
    if x["b"].n_tasks == 0 or y["a"].n_tasks == 0:
        return inconclusive_claim(
            "2.change",
            statement,
            "no eval-half scores at the final checkpoint ("
            + ", ".join(missing)
            + " missing); score held-out tasks on subsets a and b",
        )
    intervals, tasks, _, _ = task_correlation(x["b"], y["a"], rng, n_resamples)
    x_details, x_half, rel_x = _reliability_details("transfer", x["a"], x["b"])
    y_details, y_half, rel_y = _reliability_details("ICL change", y["a"], y["b"])
    details: Details = {
        **x_details,
        **y_details,
        "ceiling on r: sqrt(rel_x * rel_y)": attenuation_ceiling(rel_x, rel_y),
        # r is measured half against half, whose own reliabilities are the uncorrected split-half r
        "ceiling for half-vs-half r: sqrt(r_half_x * r_half_y)": attenuation_ceiling(x_half, y_half),
    }
    if missing:
        details["missing"] = ", ".join(missing)
    return correlation_claim(
        "2.change", statement, intervals, len(tasks), (len(tasks), x["b"].n_seeds), threshold, details
    )


def checkpoint_panels(table: ResultTable) -> tuple[Panel, Panel]:
    """Transfer and ICL change on (arm, step) units of every tuned checkpoint (claim 2's points)."""
    transfer = [r for r in table.rows(QUANTITIES["transfer"]) if r.step > 0]
    change = [r for r in table.rows(QUANTITIES["icl_change"]) if r.step > 0]
    units = sorted({(r.arm, r.step) for r in transfer} & {(r.arm, r.step) for r in change})
    return (
        Panel.from_rows(transfer, lambda r: (r.arm, r.step), units=units),
        Panel.from_rows(change, lambda r: (r.arm, r.step), units=units),
    )


def _with_base_point(panel: Panel) -> Panel:
    # the base model's transfer and ICL change are 0 by definition, for every task and seed
    zeros = np.zeros((1, len(panel.tasks), len(panel.seeds)))
    return Panel((*panel.units, ("base", 0)), panel.tasks, panel.seeds, np.concatenate([panel.values, zeros]))


def claim_points(table: ResultTable, rng: np.random.Generator, n_resamples: int, threshold: float) -> Claim:
    """Claim 2 across checkpoints and arms: mean transfer against mean ICL change from the base."""
    x, y = checkpoint_panels(table)
    without, with_base = rng.spawn(2)
    result = unit_correlation(x, y, without, n_resamples)
    details: Details = {}
    if result.units:
        based = unit_correlation(_with_base_point(x), _with_base_point(y), with_base, n_resamples)
        details["pearson with the base point (0, 0)"] = str(based.intervals["pearson"])
    statement = (
        f"Transfer predicts ICL change: Pearson r across (arm, checkpoint) points (base point left out) "
        f"between mean transfer and mean ICL change from the base on held-out tasks is positive and not "
        f"below {threshold}."
    )
    return correlation_claim(
        "2.points", statement, result.intervals, len(result.units), (x.n_tasks, x.n_seeds), threshold, details
    )


def _levels_r(
    x_rows: Sequence[ScoreRecord], y_rows: Sequence[ScoreRecord], rng: np.random.Generator, n_resamples: int
) -> tuple[dict[str, Interval], tuple[str, ...], int]:
    x = Panel.from_rows(x_rows, lambda r: "x", units=["x"])
    y = Panel.from_rows(y_rows, lambda r: "x", units=["x"])
    intervals, tasks, _, _ = task_correlation(x, y, rng, n_resamples)
    return intervals, tasks, x.n_seeds


def claim_levels(table: ResultTable, arm: str, rng: np.random.Generator, n_resamples: int, threshold: float) -> Claim:
    """Claim 2 as the paper computes it: per-task levels of fine-tuned vs ICL target NLL."""
    final = arm_steps(table, arm, max)

    def at_final(quantity: str) -> list[ScoreRecord]:
        return [r for r in table.rows(QUANTITIES[quantity], arm=arm) if final.get(r.seed) == r.step]

    tuned_rng, base_rng = rng.spawn(2)
    intervals, tasks, n_seeds = _levels_r(at_final("finetune_nll"), at_final("icl_nll"), tuned_rng, n_resamples)
    base, base_tasks, _ = _levels_r(
        table.base_rows(QUANTITIES["finetune_nll"]), table.base_rows(QUANTITIES["icl_nll"]), base_rng, n_resamples
    )
    details: Details = {f"same r on the base model ({len(base_tasks)} tasks: task difficulty)": str(base["pearson"])}
    statement = (
        f"The paper's own statistic (levels, not changes; r = 0.936 in the paper): Pearson r across "
        f"held-out tasks between fine-tuned target NLL and ICL target NLL of the final '{arm}' checkpoint "
        f"is positive and not below {threshold}."
    )
    return correlation_claim("2.levels", statement, intervals, len(tasks), (len(tasks), n_seeds), threshold, details)


def claim_early(table: ResultTable, arm: str, rng: np.random.Generator, n_resamples: int, threshold: float) -> Claim:
    """Claim 5: per-task transfer at the earliest checkpoint against ICL change at the final one."""
    early, final = arm_steps(table, arm, min), arm_steps(table, arm, max)
    x = _panel_at(table, "transfer", arm, early)
    y = _panel_at(table, "icl_change", arm, final)
    intervals, tasks, _, _ = task_correlation(x, y, rng, n_resamples)
    statement = (
        f"Early training predicts per task: Pearson r across held-out tasks between transfer at the "
        f"earliest '{arm}' checkpoint and ICL change from the base at the final one is positive and not "
        f"below {threshold}."
    )
    details: Details = {
        "earliest step": ", ".join(map(str, sorted(set(early.values())))),
        "final step": ", ".join(map(str, sorted(set(final.values())))),
    }
    claim = correlation_claim("5", statement, intervals, len(tasks), (len(tasks), x.n_seeds), threshold, details)
    if early and early == final:  # one checkpoint: "early predicts final" would compare it with itself
        return replace(claim, verdict="invalid", reason="needs >= 2 checkpoints")
    return claim
