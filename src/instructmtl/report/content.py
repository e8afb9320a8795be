"""Everything a report shows, gathered from the results store into one typed object.

The renderers (:mod:`~instructmtl.report.markdown`, :mod:`~instructmtl.report.html`)
only format a :class:`ReportContent`; all numbers come from
:mod:`instructmtl.analysis` applied to the store's score rows, so a report
can always be rebuilt from the store alone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from instructmtl.analysis import (
    ArmRow,
    Check,
    Claim,
    ResultTable,
    TaskRow,
    arm_table,
    curves,
    evaluate_claims,
    final_task_means,
    records_from_rows,
    task_table,
    transfer_heatmap,
)
from instructmtl.analysis.claims_icl import checkpoint_panels
from instructmtl.analysis.validity import final_checkpoint_ids, study_checks
from instructmtl.errors import InstructMTLError
from instructmtl.report import figures
from instructmtl.results.records import JobRecord, RunRecord, StudyRecord
from instructmtl.results.store import ResultsStore

__all__ = ["CostComparison", "FigureImage", "ReportContent", "StageSummary", "collect", "pick_study"]

CURVE_QUANTITIES: tuple[str, ...] = ("icl", "transfer", "mtl_gen")


@dataclass(frozen=True)
class FigureImage:
    """One rendered figure: file stem, title, caption and PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class StageSummary:
    """Jobs of one stage by status, their summed wall time, and what was estimated before the run.

    Attributes:
        estimated_seconds: summed job seconds that ``instructmtl plan``'s cost model gave for
            the stage when the study was set up (``None`` when no estimate was recorded).
    """

    stage: str
    counts: dict[str, int]
    seconds: float
    estimated_seconds: float | None = None


@dataclass(frozen=True)
class CostComparison:
    """The whole study's estimated wall time (made at setup) beside its measured one.

    Attributes:
        device: the device class the estimate priced the study on, and how its rates were obtained.
        estimated_seconds: the scheduled wall time of the estimate.
        measured_seconds: first job start to last job end (includes any time a killed run stood still).
    """

    device: str
    estimated_seconds: float
    measured_seconds: float | None


@dataclass(frozen=True)
class ReportContent:
    """What the report shows (see the module docstring)."""

    study: StudyRecord
    baseline_arm: str
    replay_arms: tuple[str, ...]
    excluded_arms: tuple[str, ...]
    arms: tuple[str, ...]
    seeds: tuple[int, ...]
    seed: int
    n_resamples: int
    n_scores: int
    checks: tuple[Check, ...]
    claims: tuple[Claim, ...]
    arm_rows: tuple[ArmRow, ...]
    task_rows: tuple[TaskRow, ...]
    figures: tuple[FigureImage, ...]
    runs: tuple[RunRecord, ...]
    stages: tuple[StageSummary, ...]
    cost: CostComparison | None = None
    notes: tuple[str, ...] = ()


def pick_study(store: ResultsStore, study_id: str | None) -> StudyRecord:
    """The study to report: the one asked for, or the store's only one.

    Raises:
        InstructMTLError: no study, an unknown id, or several studies and no id.
    """
    studies = {s.study_id: s for s in store.studies()}
    if study_id is not None:
        if study_id not in studies:
            raise InstructMTLError(f"{store.path}: no study '{study_id}'; studies here: {', '.join(studies) or 'none'}")
        return studies[study_id]
    if len(studies) != 1:
        raise InstructMTLError(
            f"{store.path}: holds {len(studies)} studies ({', '.join(studies) or 'none'}); "
            "name one with --study (or run the study first)"
        )
    return next(iter(studies.values()))


def _stages(jobs: Sequence[JobRecord], estimate: dict[str, Any] | None) -> tuple[StageSummary, ...]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    seconds: dict[str, float] = defaultdict(float)
    for job in jobs:
        counts[job.stage][job.status] += 1
        seconds[job.stage] += job.seconds or 0.0
    estimated = (estimate or {}).get("stages", {})
    return tuple(
        StageSummary(stage, dict(counts[stage]), seconds[stage], estimated.get(stage, {}).get("job_seconds"))
        for stage in sorted(counts)
    )


def _cost(jobs: Sequence[JobRecord], estimate: dict[str, Any] | None) -> CostComparison | None:
    """The setup's cost estimate (fact ``cost.estimate``) beside the jobs' measured span."""
    if not estimate or "wall_seconds" not in estimate:
        return None
    starts = [datetime.fromisoformat(j.started_at) for j in jobs if j.status == "done" and j.started_at]
    ends = [datetime.fromisoformat(j.finished_at) for j in jobs if j.status == "done" and j.finished_at]
    measured = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    device = estimate.get("device", {})
    return CostComparison(
        f"{device.get('name', '?')} ({device.get('basis', '')})", float(estimate["wall_seconds"]), measured
    )


def _claim_estimate(claims: Sequence[Claim], claim_id: str) -> float:
    return next(c.estimate for c in claims if c.id == claim_id)


def _figures(
    table: ResultTable, arms: Sequence[str], baseline: str, claims: Sequence[Claim], arm_rows: Sequence[ArmRow]
) -> tuple[FigureImage, ...]:
    x, y = checkpoint_panels(table)
    ft = final_task_means(table, "finetune_nll", baseline)
    icl = final_task_means(table, "icl_nll", baseline)
    nll_tasks = sorted(set(ft) & set(icl))
    curve_sets = {q: curves(table, q, arms) for q in CURVE_QUANTITIES}
    return (
        FigureImage(
            "transfer_vs_icl",
            "Transfer vs ICL change (claim 2)",
            "One point per (arm, checkpoint): mean over held-out tasks and seeds of the changes from the "
            "base model, which sits at (0, 0).",
            figures.transfer_icl_scatter(
                x.units, x.point_means(), y.point_means(), _claim_estimate(claims, "2.points"), arms
            ),
        ),
        FigureImage(
            "finetune_nll_vs_icl_nll",
            "Fine-tuning loss vs ICL loss per task (claim 2.levels)",
            f"One point per held-out task, final '{baseline}' checkpoints, mean over seeds; levels, so "
            "task difficulty alone can line the points up.",
            figures.nll_scatter(
                nll_tasks,
                np.array([ft[t] for t in nll_tasks]),
                np.array([icl[t] for t in nll_tasks]),
                _claim_estimate(claims, "2.levels"),
                baseline,
            ),
        ),
        FigureImage(
            "arms",
            "Per-arm results (claims 1, 3, 4)",
            "Final checkpoints; error bars are 95% intervals over tasks and seeds (variance components, t).",
            figures.arm_bars(arm_rows),
        ),
        FigureImage(
            "curves",
            "Over training",
            "Mean over tasks and seeds against the fraction of tuning steps; fraction 0 is the base model; "
            "bands are 95% intervals.",
            figures.curves_figure(curve_sets, arms),
        ),
        FigureImage(
            "transfer_heatmap",
            "Transfer per task and checkpoint (claims 1, 5)",
            "Mean over seeds; blue = better start than the base, red = worse.",
            figures.transfer_heatmaps([transfer_heatmap(table, arm) for arm in arms]),
        ),
    )


def collect(
    store: ResultsStore,
    *,
    baseline_arm: str,
    replay_arms: Sequence[str],
    seed: int,
    n_resamples: int,
    study_id: str | None = None,
    excluded_arms: Sequence[str] = (),
    checks: Sequence[Check] | None = None,
) -> ReportContent:
    """Reads the store and computes every claim, table and figure of the report.

    Args:
        store: the open results store.
        baseline_arm / replay_arms / excluded_arms: see :func:`instructmtl.analysis.evaluate_claims`.
        seed: seeds the bootstrap (same seed, same intervals).
        n_resamples: bootstrap resamples per interval.
        study_id: which study, when the store holds several.
        checks: the study's validity checks; ``None`` computes them from the store (its score
            table and the facts its runner recorded). Shown first, and applied to the claims.
    """
    study = pick_study(store, study_id)
    table = ResultTable(records_from_rows(store.scores_frame(study.study_id), str(store.path)))
    arms = (baseline_arm, *sorted(a for a in table.arms() if a != baseline_arm))
    claims_rng = np.random.default_rng(seed)
    if checks is None:
        checks = study_checks(
            table, store.facts(study.study_id), arms=arms, final_checkpoints=final_checkpoint_ids(table)
        )
    claims = evaluate_claims(
        table,
        baseline_arm=baseline_arm,
        replay_arms=replay_arms,
        rng=claims_rng,
        n_resamples=n_resamples,
        excluded_arms=excluded_arms,
        checks=checks,
    )
    arm_rows = arm_table(table, arms)
    jobs = store.jobs()
    facts = store.facts(study.study_id)
    estimate = facts.get("cost.estimate")
    return ReportContent(
        study=study,
        baseline_arm=baseline_arm,
        replay_arms=tuple(replay_arms),
        excluded_arms=tuple(excluded_arms),
        arms=arms,
        seeds=table.seeds(),
        seed=seed,
        n_resamples=n_resamples,
        n_scores=len(table.records),
        checks=tuple(checks),
        claims=tuple(claims),
        arm_rows=tuple(arm_rows),
        task_rows=tuple(task_table(table, baseline_arm)),
        figures=_figures(table, arms, baseline_arm, claims, arm_rows),
        runs=tuple(r for r in store.runs() if r.study_id == study.study_id),
        stages=_stages(jobs, estimate),
        cost=_cost(jobs, estimate),
        notes=tuple(str(note) for note in facts.get("notes.validity", [])),
    )
