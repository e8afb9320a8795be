"""Synthetic score tables whose truth is known by construction (for analysis and report tests).

Model, per held-out task ``t`` (fraction ``f`` of training done):

* fine-tune score  = base_t + f * (forget_arm + d_t) + noise, for n in 0/5/10;
  fine-tune NLL    = 2 - 1.5 * fine-tune score (so transfer_nll = -1.5 * transfer);
* ICL score        = icl_base_t + f * (icl_shift_arm + link * d_t) + noise, where
  icl_base_t = coupling * base_t + (1 - coupling) * u_t; ICL NLL = 2 - 1.5 * ICL score;
* seen tasks: MTL fit / generalization NLL move from 2.0 at the base to the
  arm's value at the end.

With ``halves=True`` every held-out score is also drawn on eval subsets ``a``
and ``b`` (same truth, independent noise), as the producer of subset rows does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instructmtl.analysis import ScoreRecord, records_from_rows
from instructmtl.results.records import CheckpointRecord, RunRecord, ScoreRow, StudyRecord
from instructmtl.results.store import ResultsStore, default_worker

STUDY = "synthetic"
BASE_ARM = "base"


@dataclass(frozen=True)
class ArmTruth:
    """What an arm does, by construction."""

    forget: float = -0.1
    icl_shift: float = 0.0
    gen_nll: float = 1.0
    fit_nll: float = 0.8


def _row(
    arm: str,
    seed: int,
    step: int,
    total: int,
    task: str,
    role: str,
    measure: str,
    encoding: str,
    k: int,
    metric: str,
    value: float,
    subset: str = "",
) -> dict[str, Any]:
    checkpoint = f"{arm}-s{seed}-{step}"
    row = {
        "study_id": STUDY,
        "job_id": f"{measure}|{checkpoint}|{task}|{encoding}-{k}{subset}",
        "checkpoint_id": checkpoint,
        "arm": arm,
        "seed": seed,
        "step": step,
        "fraction": step / total,
        "task": task,
        "task_role": role,
        "measure": measure,
        "encoding": encoding,
        "k": k,
        "metric": metric,
        "value": float(value),
        "n_instances": 10,
    }
    if subset:  # rows of the whole eval set keep the older export shape (no subset column)
        row["subset"] = subset
    return row


def synthetic_rows(
    arms: Mapping[str, ArmTruth],
    *,
    rng: np.random.Generator,
    n_tasks: int = 12,
    n_train: int = 6,
    seeds: Sequence[int] = (0, 1, 2),
    steps: Sequence[int] = (10, 20, 40),
    noise: float = 0.01,
    coupling: float = 0.0,
    link: float = 0.0,
    task_spread: float = 0.05,
    halves: bool = False,
) -> list[dict[str, Any]]:
    """Rows in the store's export shape (see the module docstring for the model)."""
    total = max(steps)
    held = [f"held{t:02d}" for t in range(n_tasks)]
    train = [f"seen{t:02d}" for t in range(n_train)]
    base_ft = rng.uniform(0.3, 0.7, n_tasks)
    icl_base = coupling * base_ft + (1 - coupling) * rng.uniform(0.3, 0.7, n_tasks)
    d = rng.normal(0.0, task_spread, n_tasks)
    rows: list[dict[str, Any]] = []
    models = [(BASE_ARM, ArmTruth(), 0)] + [(a, truth, s) for a, truth in arms.items() for s in steps]
    for arm, truth, step in models:
        f = step / total
        for seed in seeds:
            for i, task in enumerate(held):
                for subset in ("", "a", "b") if halves else ("",):
                    for n in (0, 5, 10):
                        ft = base_ft[i] + f * (truth.forget + d[i]) + rng.normal(0, noise)
                        for metric, value in (("rouge_l", ft), ("target_nll", 2 - 1.5 * ft)):
                            rows.append(
                                _row(
                                    arm,
                                    seed,
                                    step,
                                    total,
                                    task,
                                    "held_out",
                                    "finetune",
                                    "task_id",
                                    n,
                                    metric,
                                    value,
                                    subset,
                                )
                            )
                    for k in (0, 2):
                        icl = icl_base[i] + f * (truth.icl_shift + link * d[i]) + rng.normal(0, noise)
                        for metric, value in (("rouge_l", icl), ("target_nll", 2 - 1.5 * icl)):
                            rows.append(
                                _row(
                                    arm, seed, step, total, task, "held_out", "icl", "def+pos", k, metric, value, subset
                                )
                            )
            for task in train:
                for measure, end in (("mtl_fit", truth.fit_nll), ("mtl_gen", truth.gen_nll)):
                    value = 2.0 + f * (end - 2.0) + rng.normal(0, noise)
                    rows.append(_row(arm, seed, step, total, task, "train", measure, "def+pos", 0, "target_nll", value))
    return rows


def synthetic_records(arms: Mapping[str, ArmTruth], **kwargs: Any) -> list[ScoreRecord]:
    """:func:`synthetic_rows` as analysis records."""
    return records_from_rows(synthetic_rows(arms, **kwargs), "synthetic")


CONFIG_YAML = """\
name: synthetic
arms:
  - name: baseline
  - name: uniform
  - name: replay_0.2
seeds: [0, 1, 2]
analysis:
  baseline_arm: null
  replay_arms: null
  n_bootstrap: 100
  seed: 0
"""


def fill_store(path: Path, rows: Sequence[Mapping[str, Any]], config_yaml: str = CONFIG_YAML) -> None:
    """Writes synthetic rows into a results store the way a runner would (one job per job_id)."""
    grouped: dict[str, list[ScoreRow]] = defaultdict(list)
    with ResultsStore.open(path) as store:
        store.record_study(
            StudyRecord(STUDY, "synthetic study", config_yaml, "hash-synthetic", {"numpy": np.__version__})
        )
        runs = {(r["arm"], r["seed"]) for r in rows}
        for arm, seed in sorted(runs):
            kind = "base" if arm == BASE_ARM else "tune"
            store.record_run(
                RunRecord(f"{arm}-s{seed}", STUDY, arm, seed, kind, "done", seconds=1.5, examples_seen=100)
            )
        checkpoints = {r["checkpoint_id"]: r for r in rows}
        for cid, r in checkpoints.items():
            store.record_checkpoint(
                CheckpointRecord(
                    cid, f"{r['arm']}-s{r['seed']}", r["arm"], r["seed"], r["step"], r["fraction"], "/nowhere", 0
                )
            )
        for r in rows:
            # rows without a subset key are scores of the whole eval set (ScoreRow's default)
            grouped[r["job_id"]].append(ScoreRow(**{k: r[k] for k in ScoreRow.__dataclass_fields__ if k in r}))
        for job_id, scores in grouped.items():
            assert store.claim_job(job_id, job_id.split("|")[0], default_worker())
            store.complete_job(job_id, scores)
