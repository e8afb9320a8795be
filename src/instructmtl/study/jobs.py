"""The job graph of a study and what each job does.

A study is a static graph, known before anything runs: one ``tune`` job per
arm × seed; for the base model (one per seed) and every checkpoint a tuning
run will write (their steps follow from the config), an ``eval`` job (ICL on
held-out tasks, MTL generalization and fit on train tasks) and a ``transfer``
job (the few-shot fine-tuning grid over held-out tasks). Job ids are stable
strings, so the results store can tell what is done and a restarted study runs
only the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch

from instructmtl.config.tasks import build_study_split
from instructmtl.models import ModelSpec
from instructmtl.models.checkpoint import read_checkpoint_metadata
from instructmtl.results.records import (
    CheckpointRecord,
    Measure,
    MetricName,
    Prediction,
    RunRecord,
    ScoreRow,
    TaskRole,
)
from instructmtl.results.store import ResultsStore, default_worker
from instructmtl.study.config import StudyConfig
from instructmtl.training.config import run_dir
from instructmtl.workflows import icl_eval, transfer
from instructmtl.workflows import tune as tune_workflow
from instructmtl.workflows.icl_eval import ScoreRecord

BASE_ARM = "base"


@dataclass(frozen=True)
class CheckpointRef:
    """A model to evaluate: the base (step 0) or a tuning checkpoint."""

    checkpoint_id: str
    arm: str
    seed: int
    step: int
    fraction: float
    run_id: str


@dataclass(frozen=True)
class Job:
    """One unit of work; ``deps`` are job ids that must be done first."""

    job_id: str
    stage: str  # "tune" | "eval" | "transfer"
    deps: tuple[str, ...]
    arm: str
    seed: int
    checkpoint: CheckpointRef | None = None


@dataclass(frozen=True)
class StudyContext:
    """What every job needs, picklable so worker processes and Ray tasks can receive it."""

    config: StudyConfig
    study_id: str
    base: ModelSpec
    out_dir: Path

    @property
    def store_path(self) -> Path:
        return self.out_dir / "results.sqlite"


def build_jobs(config: StudyConfig, base: ModelSpec) -> list[Job]:
    """The whole graph, in an order that respects dependencies."""
    jobs: list[Job] = []
    for seed in config.seeds:
        ref = CheckpointRef(f"{BASE_ARM}-seed{seed}", BASE_ARM, seed, 0, 0.0, f"{BASE_ARM}-seed{seed}")
        jobs += _evaluations(ref, ())
    for arm in config.arms:
        for seed in config.seeds:
            tune_id = f"tune|{arm.name}|seed{seed}"
            jobs.append(Job(tune_id, "tune", (), arm.name, seed))
            tune = config.tune_config(arm, seed, base)
            for step in tune.checkpoint_steps():
                ref = CheckpointRef(
                    f"{arm.name}-seed{seed}-step{step}",
                    arm.name,
                    seed,
                    step,
                    step / tune.steps,
                    f"{arm.name}-seed{seed}",
                )
                jobs += _evaluations(ref, (tune_id,))
    return jobs


def _evaluations(ref: CheckpointRef, deps: tuple[str, ...]) -> list[Job]:
    return [
        Job(f"eval|{ref.checkpoint_id}", "eval", deps, ref.arm, ref.seed, ref),
        Job(f"transfer|{ref.checkpoint_id}", "transfer", deps, ref.arm, ref.seed, ref),
    ]


def checkpoint_path(ctx: StudyContext, ref: CheckpointRef) -> Path:
    """Where a checkpoint's weights are (the base model's own directory for step 0)."""
    if ref.step == 0:
        return Path(ctx.base.name_or_path)
    return run_dir(ctx.out_dir, ref.arm, ref.seed) / "checkpoints" / f"step-{ref.step:06d}"


def execute(job: Job, ctx: StudyContext, threads: int | None = None) -> bool:
    """Claims and runs one job, writing its results in one transaction; False when it was not ours to run.

    A failure marks the job failed (with its one-line error) and re-raises.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    worker = default_worker()  # host:pid of the process that runs it, so a dead worker's job is reclaimed
    with ResultsStore.open(ctx.store_path, reset_stale=False) as store:
        if not store.claim_job(job.job_id, job.stage, worker):
            return False
        started = time.perf_counter()
        try:
            scores, predictions = _RUNNERS[job.stage](job, ctx, store)
        except BaseException as err:
            store.fail_job(job.job_id, " ".join(str(err).split()) or type(err).__name__)
            raise
        store.complete_job(job.job_id, scores, predictions, seconds=time.perf_counter() - started)
    return True


def _run_tune(job: Job, ctx: StudyContext, store: ResultsStore) -> tuple[list[ScoreRow], list[Prediction]]:
    arm = next(a for a in ctx.config.arms if a.name == job.arm)
    config = ctx.config.tune_config(arm, job.seed, ctx.base)
    result = tune_workflow.main(config, run_dir(ctx.out_dir, job.arm, job.seed), progress=False)
    run_id = f"{job.arm}-seed{job.seed}"
    store.record_run(
        RunRecord(
            run_id,
            ctx.study_id,
            job.arm,
            job.seed,
            "tune",
            "done",
            seconds=result.seconds,
            examples_seen=result.examples_seen,
            task_counts=result.task_counts,
            summary={"padding_fraction": result.padding_fraction},
        )
    )
    store.record_fact(ctx.study_id, f"tune.{run_id}", {"instructions": result.examples_seen}, job.job_id)
    for step, path in sorted(result.checkpoints.items()):
        store.record_checkpoint(
            CheckpointRecord(
                f"{run_id}-step{step}",
                run_id,
                job.arm,
                job.seed,
                step,
                step / config.steps,
                str(path),
                step * config.batch_size,
            )
        )
    return [], []


def _run_eval(job: Job, ctx: StudyContext, store: ResultsStore) -> tuple[list[ScoreRow], list[Prediction]]:
    ref = _checkpoint(job, ctx, store)
    cfg = ctx.config
    _, split = build_study_split(cfg.tasks)
    path = checkpoint_path(ctx, ref)
    drawn = None if ref.step == 0 else read_checkpoint_metadata(path).get("drawn_instances")
    result = icl_eval.main(
        cfg.icl,
        ctx.base.model_copy(update={"name_or_path": str(path)}),
        split,
        job.seed,
        cfg.tune.data.encodings,
        drawn,
    )
    store.record_fact(ctx.study_id, f"mtl_fit.{ref.checkpoint_id}", result.fit_plan, job.job_id)
    predictions = [
        Prediction(task, p.instance_id, p.prediction, p.references, p.score) for task, p in result.predictions
    ]
    return [_row(ctx, ref, r) for r in result.records], predictions


def _run_transfer(job: Job, ctx: StudyContext, store: ResultsStore) -> tuple[list[ScoreRow], list[Prediction]]:
    ref = _checkpoint(job, ctx, store)
    _, split = build_study_split(ctx.config.tasks)
    model = ctx.base.model_copy(update={"name_or_path": str(checkpoint_path(ctx, ref))})
    result = transfer.main(ctx.config.transfer, model, ref.checkpoint_id, split.held_out_tasks, job.seed)
    # the evaluation side names metrics as str; ScoreRow checks every choice when it is built
    rows = [
        ScoreRow(
            ctx.study_id,
            ref.checkpoint_id,
            ref.arm,
            ref.seed,
            ref.step,
            c.task,
            "held_out",
            "finetune",
            c.encoding,
            c.n,
            cast(MetricName, c.metric),
            c.value,
            c.n_instances,
            c.subset,
        )
        for c in result.cells
    ]
    predictions = [Prediction(p.task, p.instance_id, p.prediction, p.references, p.score) for p in result.predictions]
    return rows, predictions


def _checkpoint(job: Job, ctx: StudyContext, store: ResultsStore) -> CheckpointRef:
    ref = job.checkpoint
    assert ref is not None, job.job_id  # eval/transfer jobs always carry one (build_jobs)
    if ref.step == 0:
        store.record_run(RunRecord(ref.run_id, ctx.study_id, BASE_ARM, ref.seed, "base", "done"))
        store.record_checkpoint(
            CheckpointRecord(
                ref.checkpoint_id, ref.run_id, BASE_ARM, ref.seed, 0, 0.0, str(checkpoint_path(ctx, ref)), 0
            )
        )
    return ref


def _row(ctx: StudyContext, ref: CheckpointRef, r: ScoreRecord) -> ScoreRow:
    # the evaluation side types these choices as str; ScoreRow checks each one when it is built
    return ScoreRow(
        ctx.study_id,
        ref.checkpoint_id,
        ref.arm,
        ref.seed,
        ref.step,
        r.task,
        cast(TaskRole, r.task_role),
        cast(Measure, r.measure),
        r.encoding,
        r.k,
        cast(MetricName, r.metric),
        r.value,
        r.n_instances,
        r.subset,
    )


_RUNNERS = {"tune": _run_tune, "eval": _run_eval, "transfer": _run_transfer}
