"""A pilot study's store → the precision model of its claims and the cost of other designs (``instructmtl plan``).

Everything comes from the pilot's results store: the scores (variance components,
reliabilities), the study config it ran with (which arm is the baseline, how many
workers ran side by side) and the jobs table (measured seconds per stage).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from instructmtl.analysis import DEFAULT_THRESHOLD, ResultTable, records_from_rows
from instructmtl.analysis.planning import ClaimPrecision, StageSeconds, claim_precisions
from instructmtl.analysis.variance import Design
from instructmtl.errors import InstructMTLError
from instructmtl.report.build import analysis_settings
from instructmtl.report.content import pick_study
from instructmtl.results.store import ResultsStore, results_path

__all__ = ["Pilot", "read_pilot"]


@dataclass(frozen=True)
class Pilot:
    """What a pilot study tells the planner.

    Attributes:
        study_id: the pilot's study id.
        design: its held-out tasks, seeds and eval instances per cell.
        precisions: each claim's precision model.
        costs: its measured job seconds per stage and its workers.
        measured_wall_seconds: summed job seconds / workers, per stage and ``total``.
    """

    study_id: str
    design: Design
    precisions: tuple[ClaimPrecision, ...]
    costs: StageSeconds
    measured_wall_seconds: dict[str, float]


def _workers(config_yaml: str) -> int:
    config = yaml.safe_load(config_yaml) or {}
    executor = config.get("executor") if isinstance(config, dict) else None
    workers = executor.get("workers", 1) if isinstance(executor, dict) else 1
    return int(workers) if isinstance(workers, int) and workers > 0 else 1


def _instances_per_cell(rows: list[dict[str, object]]) -> float:
    """Mean eval instances behind one held-out fine-tune score on all eval instances."""
    counts = [
        float(r["n_instances"])  # type: ignore[arg-type]  # a store row's n_instances is an int
        for r in rows
        if r["task_role"] == "held_out" and r["measure"] == "finetune" and not r.get("subset")
    ]
    return float(np.mean(counts)) if counts else 1.0


def read_pilot(study_dir: str | Path, study_id: str | None = None) -> Pilot:
    """Reads a pilot study's store.

    Raises:
        InstructMTLError: no store in ``study_dir``, or a store without tuned checkpoints'
            transfer scores (nothing to size).
    """
    path = results_path(study_dir)
    if not path.is_file():
        raise InstructMTLError(
            f"{path}: no results store; `instructmtl plan` needs a pilot study's folder "
            "(run a small study first, e.g. `instructmtl run smoke`)"
        )
    with ResultsStore.open(path, reset_stale=False) as store:
        study = pick_study(store, study_id)
        rows = store.scores_frame(study.study_id)
        jobs = store.jobs()
    settings = analysis_settings(study.config_yaml, f"{path} (study '{study.study_id}' config)")
    table = ResultTable(records_from_rows(rows, str(path)))
    if settings.baseline_arm not in table.arms():
        raise InstructMTLError(
            f"{path}: the pilot has no tuned checkpoint of its baseline arm "
            f"'{settings.baseline_arm}' yet; let the pilot finish (instructmtl run resumes it)"
        )
    instances = _instances_per_cell(rows)
    precisions = claim_precisions(
        table,
        baseline_arm=settings.baseline_arm,
        replay_arms=settings.replay_arms,
        excluded_arms=settings.excluded_arms,
        threshold=DEFAULT_THRESHOLD,
        instances=instances,
    )
    held_out = {r["task"] for r in rows if r["task_role"] == "held_out" and r["measure"] == "finetune"}
    design = Design(len(held_out), len(table.seeds()), instances)
    seconds: dict[str, float] = defaultdict(float)
    for job in jobs:
        if job.status == "done" and job.seconds is not None:
            seconds[job.stage] += job.seconds
    costs = StageSeconds(dict(seconds), design, _workers(study.config_yaml))
    return Pilot(study.study_id, design, tuple(precisions), costs, costs.wall_seconds(design))
