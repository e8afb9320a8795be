"""The typed rows the results store writes and reads back.

Kept apart from :mod:`instructmtl.results.store` so the store module holds only
SQL and transactions. Each record validates its closed vocabularies (measure,
metric, role, status) when it is built: a typo in the runner must fail where it
is made, not show up later as a row that no analysis selects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "JOB_STATUSES",
    "MEASURES",
    "METRICS",
    "CheckpointRecord",
    "JobRecord",
    "Prediction",
    "RunRecord",
    "ScoreRow",
    "StudyRecord",
]

Measure = Literal["icl", "mtl_fit", "mtl_gen", "finetune"]
MetricName = Literal["rouge_l", "exact_match", "accuracy", "accuracy_norm", "target_nll"]
TaskRole = Literal["train", "held_out"]
JobStatus = Literal["pending", "running", "done", "failed"]
RunKind = Literal["base", "tune"]

MEASURES: tuple[str, ...] = ("icl", "mtl_fit", "mtl_gen", "finetune")
METRICS: tuple[str, ...] = ("rouge_l", "exact_match", "accuracy", "accuracy_norm", "target_nll")
TASK_ROLES: tuple[str, ...] = ("train", "held_out")
JOB_STATUSES: tuple[str, ...] = ("pending", "running", "done", "failed")
RUN_KINDS: tuple[str, ...] = ("base", "tune")


def _check_choice(kind: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{kind} {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class StudyRecord:
    """One study: its resolved config and the package versions that ran it.

    Attributes:
        study_id: stable id (the runner's choice, e.g. the config hash).
        name: human-readable name.
        config_yaml: the resolved config, verbatim, so a report can show it.
        config_hash: hash of the resolved config; stamped on every score row.
        versions: package name → version, stamped on every score row.
        created_at: ISO-8601 UTC time; filled by the store when empty.
    """

    study_id: str
    name: str
    config_yaml: str
    config_hash: str
    versions: Mapping[str, str] = field(default_factory=dict)
    created_at: str = ""


@dataclass(frozen=True)
class RunRecord:
    """One instruction-tuning run (an arm × seed), or the base model (kind ``base``).

    Attributes:
        run_id: stable id chosen by the runner.
        study_id: the study it belongs to.
        arm: arm name (the base model's run uses the runner's base arm name).
        seed: training seed.
        kind: ``base`` or ``tune``.
        status: free text kept by the runner (e.g. ``running``, ``done``).
        started_at / finished_at: ISO-8601 UTC times, empty when unknown.
        seconds: wall time of the run, ``None`` while unknown.
        examples_seen: training examples consumed, ``None`` while unknown.
        task_counts: training examples drawn per task (what the sampler did).
        summary: small JSON-able facts the runner wants kept (final loss, ...).
    """

    run_id: str
    study_id: str
    arm: str
    seed: int
    kind: RunKind
    status: str
    started_at: str = ""
    finished_at: str = ""
    seconds: float | None = None
    examples_seen: int | None = None
    task_counts: Mapping[str, int] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_choice("run kind", self.kind, RUN_KINDS)


@dataclass(frozen=True)
class CheckpointRecord:
    """One evaluated model: a tuning checkpoint, or the base model at step 0.

    Attributes:
        checkpoint_id: stable id chosen by the runner.
        run_id: the run that produced it.
        arm / seed: copied from the run, so score rows can be read alone.
        step: optimiser step; 0 is the base model.
        fraction: ``step / total steps`` of the run (0 for the base); the
            x-axis of the report's curves, comparable across arms.
        path: where the weights are.
        examples_seen: training examples consumed up to this step.
    """

    checkpoint_id: str
    run_id: str
    arm: str
    seed: int
    step: int
    fraction: float
    path: str
    examples_seen: int

    def __post_init__(self) -> None:
        if self.step < 0 or not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"checkpoint {self.checkpoint_id}: step must be >= 0 and fraction in [0, 1]")


@dataclass(frozen=True)
class ScoreRow:
    """One task-level score a job produced (what a runner hands to ``complete_job``).

    The store adds the job id, the study's config hash and versions, and the
    time; transfer is never stored (the analysis derives it from ``finetune``
    rows and the step-0 rows of the same seed).

    Attributes:
        study_id: the study (must be recorded first).
        checkpoint_id: the evaluated model.
        arm / seed / step: copied from the checkpoint.
        task: task name.
        task_role: ``train`` (seen in tuning) or ``held_out``.
        measure: ``icl``, ``mtl_fit``, ``mtl_gen`` or ``finetune``.
        encoding: prompt encoding name (e.g. ``def+pos``, ``task_id``).
        k: demonstrations in the prompt (icl) or training instances (finetune);
            0 for the MTL measures.
        metric: ``rouge_l``, ``exact_match``, ``accuracy`` or ``target_nll``.
        value: the task-level score (finite).
        n_instances: eval instances it was computed on.
        subset: ``""`` for all the task's eval instances, ``"a"`` / ``"b"`` for one of two
            disjoint halves of them (held-out tasks' ICL and fine-tuning, so claim 2 can score
            each side on its own half).
    """

    study_id: str
    checkpoint_id: str
    arm: str
    seed: int
    step: int
    task: str
    task_role: TaskRole
    measure: Measure
    encoding: str
    k: int
    metric: MetricName
    value: float
    n_instances: int
    subset: str = ""

    def __post_init__(self) -> None:
        _check_choice("task_role", self.task_role, TASK_ROLES)
        _check_choice("measure", self.measure, MEASURES)
        _check_choice("metric", self.metric, METRICS)
        _check_choice("subset", self.subset, ("", "a", "b"))
        # NaN would be stored as NULL by SQLite and then poison every mean; a
        # job that cannot score a task must fail instead.
        if not math.isfinite(self.value):
            raise ValueError(f"score of task {self.task} ({self.measure}/{self.metric}) is {self.value}, not finite")
        if self.k < 0 or self.n_instances < 0:
            raise ValueError(f"score of task {self.task}: k and n_instances must be >= 0")


@dataclass(frozen=True)
class Prediction:
    """One model output kept for inspection.

    Attributes:
        task: task name.
        instance_id: the instance's id in its task.
        prediction: generated (or chosen) text.
        references: the acceptable outputs.
        score: its per-instance score, ``None`` when not scored one by one.
    """

    task: str
    instance_id: str
    prediction: str
    references: tuple[str, ...]
    score: float | None = None


@dataclass(frozen=True)
class JobRecord:
    """The state of one job as the store holds it.

    Attributes:
        job_id: deterministic key, e.g. ``icl|<checkpoint_id>|<task>|def+pos-2``.
        stage: the stage that runs it (``tune``, ``icl``, ``transfer``, ...).
        status: ``pending``, ``running``, ``done`` or ``failed``.
        attempts: how many times it was claimed.
        error: last error message (failed jobs, or why a job was reset).
        started_at / finished_at: ISO-8601 UTC times, empty when not set.
        seconds: wall time of the attempt that finished it.
        worker: who holds (or last held) it.
    """

    job_id: str
    stage: str
    status: JobStatus
    attempts: int
    error: str
    started_at: str
    finished_at: str
    seconds: float | None
    worker: str
