"""``instructmtl run``: the whole study, resumable at any point.

setup: resolve the config and the base model (pretraining the built-in one
when asked), open the results store, record the study → run: every job of the
graph (tune each arm × seed; evaluate and fine-tune every checkpoint and the
base) on the configured executor, skipping what the store says is done →
save: analysis and the report, rebuilt from the store alone → cleanup: print
the claims table.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from instructmtl.analysis import Claim
from instructmtl.analysis.cost_model import shipped_cpu_device
from instructmtl.config import config_hash, dump_yaml
from instructmtl.config.tasks import build_study_split
from instructmtl.errors import ConfigError
from instructmtl.models import ModelSpec
from instructmtl.models.loading import resolve_device
from instructmtl.report import analysis_settings, build_report
from instructmtl.results.records import StudyRecord
from instructmtl.results.store import ResultsStore
from instructmtl.study.config import StudyConfig
from instructmtl.study.corpus_facts import record_corpus_facts
from instructmtl.study.cost import estimate_fact
from instructmtl.study.executors import run_local, run_ray
from instructmtl.study.jobs import Job, StudyContext, build_jobs
from instructmtl.study.setup_facts import setup_facts
from instructmtl.study.validity_notes import validity_notes
from instructmtl.workflows.pretrain import resolve_base as pretrained_dir

VERSIONED = ("instructmtl", "torch", "transformers", "accelerate", "torchjd", "peft", "tokenizers", "rouge-score")


@dataclass(frozen=True)
class StudyResult:
    """Where a finished study left its results, and how long its stages took."""

    out_dir: Path
    report_md: Path
    report_html: Path
    stage_seconds: dict[str, float]
    jobs_run: int
    jobs_skipped: int
    claims: tuple[Claim, ...]


def versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers, stamped on every score row."""
    return {name: metadata.version(name) for name in VERSIONED}


def resolve_base(config: StudyConfig) -> ModelSpec:
    """The base model spec with a built-in preset replaced by its directory (pretraining it if needed)."""
    preset = config.builtin_preset
    if preset is None:
        return config.base
    return config.base.model_copy(update={"name_or_path": str(pretrained_dir(preset))})


def main(config: StudyConfig, console: Console | None = None) -> StudyResult:
    """Runs (or resumes) the study and builds its report."""
    console = console or Console()
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(config))
    stage_seconds: defaultdict[str, float] = defaultdict(float)
    started = time.perf_counter()
    base = resolve_base(config)
    stage_seconds["pretrain"] += time.perf_counter() - started
    study_id = config_hash(config)
    ctx = StudyContext(config=config, study_id=study_id, base=base, out_dir=out)
    jobs = build_jobs(config, base)
    with ResultsStore.open(ctx.store_path) as store:
        store.record_study(StudyRecord(study_id, config.name, dump_yaml(config), study_id, versions()))
        _record_setup_facts(config, ctx, store)
        done = store.done_jobs() & {job.job_id for job in jobs}
    skipped = len(done)
    console.print(f"study [bold]{config.name}[/] → {out}  ({len(jobs)} jobs, {skipped} already done)")
    ran = _run_jobs(config, ctx, jobs, done, stage_seconds)

    report_started = time.perf_counter()
    settings = analysis_settings(dump_yaml(config), str(out / "config.yaml"))
    built = build_report(
        ctx.store_path,
        out,
        baseline_arm=settings.baseline_arm,
        replay_arms=settings.replay_arms,
        excluded_arms=settings.excluded_arms,
        seed=settings.seed,
        n_resamples=settings.n_resamples,
        study_id=study_id,
    )
    stage_seconds["report"] += time.perf_counter() - report_started
    return StudyResult(out, built.markdown, built.html, dict(stage_seconds), ran, skipped, built.claims)


def _record_setup_facts(config: StudyConfig, ctx: StudyContext, store: ResultsStore) -> None:
    """The facts the validity checks need from the split, the config and the corpora.

    The split and config facts are cheap and redone at each start; the corpus scans are
    done once per study. A held-out instance leaked into pretraining or replay text stops
    the study here, before any job, with a one-line error (the fact is stored first).
    """
    _, split = build_study_split(config.tasks)
    baseline = config.analysis.baseline_arm or config.arms[0].name
    for name, value in setup_facts(split, config.arms, baseline, config.tune.data.encodings).items():
        store.record_fact(ctx.study_id, name, value, "setup")
    record_corpus_facts(
        config,
        split,
        ctx.base,
        list(store.facts(ctx.study_id)),
        lambda name, value: store.record_fact(ctx.study_id, name, value, "setup"),
    )
    store.record_fact(ctx.study_id, "notes.validity", validity_notes(config, ctx.base), "setup")
    _record_cost_estimate(config, ctx, store)


def _record_cost_estimate(config: StudyConfig, ctx: StudyContext, store: ResultsStore) -> None:
    """What ``instructmtl plan`` would have said of this study, kept so the report can show it beside the truth.

    Only a CPU study is priced (the fitted 2-core device); a GPU's rates are assumptions the
    report should not set beside a measurement. Done once per study.
    """
    if "cost.estimate" in store.facts(ctx.study_id) or resolve_device(config.base.device).type != "cpu":
        return
    try:
        value: dict[str, object] = estimate_fact(config, ctx.base, shipped_cpu_device())
    except ConfigError as err:  # pricing is advice: a study it cannot price still runs
        value = {"error": str(err)}
    store.record_fact(ctx.study_id, "cost.estimate", value, "setup")


def _run_jobs(
    config: StudyConfig, ctx: StudyContext, jobs: list[Job], done: set[str], stage_seconds: defaultdict[str, float]
) -> int:
    counts = Counter(job.stage for job in jobs)
    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    ran = 0
    with progress:
        bars = {
            stage: progress.add_task(
                stage, total=n, completed=sum(1 for j in jobs if j.stage == stage and j.job_id in done)
            )
            for stage, n in counts.items()
        }
        last = [time.perf_counter()]

        def on_done(job: Job, did_run: bool) -> None:
            nonlocal ran
            now = time.perf_counter()
            stage_seconds[job.stage] += now - last[0]
            last[0] = now
            ran += did_run
            progress.advance(bars[job.stage])

        if config.executor.kind == "ray":
            run_ray(jobs, ctx, done, config.executor.workers, config.executor.address, on_done)
        else:
            run_local(jobs, ctx, done, config.executor.workers, on_done)
    return ran
