"""Sweep of the few-shot fine-tuning recipe of the transfer measure, judged on train tasks with the base model.

Why: transfer is ``score(fine-tune(c)) - score(fine-tune(base))``; it only measures
"how well parameters fine-tune" when fine-tuning helps at all. The default study
checks that the base model's score rises from ``n = 0`` to the largest ``n`` on the
held-out tasks (DESIGN.md, "Validity"). The recipe is chosen here, before and apart
from that check, on the study's *train* tasks: the base model has never been tuned
on them either, and choosing on them cannot tune the study toward its claims.

For each recipe (learning rate x steps, batch 4, encoding from the default preset)
it fine-tunes the base model on ``n`` of each train task's instances (taken from
the task's train instances) and scores 24 further train instances of the task,
then reports, per ``n > 0``, the mean score change from ``n = 0`` with a 95%
bootstrap interval over tasks. Ends with one JSON line.

Usage: python bench/transfer_recipe.py [--lr 3e-4 1e-3 3e-3] [--steps 8 16] [--tasks 24]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

N_TRAIN, N_EVAL = 16, 24


def run_recipe(lr: float, steps: int, n_tasks: int, repeats: int) -> dict[str, object]:
    """Fine-tunes the base on each sampled train task and returns the score changes per n."""
    import torch

    torch.set_num_threads(1)
    from instructmtl.analysis.records import PRIMARY_PREFERENCE
    from instructmtl.config.tasks import build_study_split
    from instructmtl.evaluation.icl import stratified_tasks
    from instructmtl.evaluation.transfer import run_transfer
    from instructmtl.models import load_model
    from instructmtl.study.config import load_study_config
    from instructmtl.study.runner import resolve_base
    from instructmtl.tasks.selection import TaskSplit

    study = load_study_config(None)
    base = resolve_base(study)
    _, split = build_study_split(study.tasks)
    big = [s for s in split.train_tasks if len(s.train) >= N_TRAIN + N_EVAL]
    tasks = [
        TaskSplit(s.task, s.train[:N_TRAIN], s.train[N_TRAIN : N_TRAIN + N_EVAL])
        for s in stratified_tasks(big, n_tasks)
    ]
    loaded = load_model(base)
    config = study.transfer.model_copy(update={"lr": lr, "steps": steps, "seeds": tuple(range(repeats)), "workers": 1})
    started = time.perf_counter()
    result = run_transfer({"base": loaded.model}, loaded.tokenizer, tasks, config)
    seconds = time.perf_counter() - started
    whole = [s for s in result.scores if s.subset == ""]
    primary = {}
    for task in {s.task for s in whole}:
        metrics = {s.metric for s in whole if s.task == task}
        primary[task] = next(m for m in PRIMARY_PREFERENCE if m in metrics)
    cell: dict[tuple[str, int], list[float]] = {}
    for s in whole:
        if s.metric == primary[s.task]:
            cell.setdefault((s.task, s.n), []).append(s.value)
    names = sorted(primary)
    curve = {n: [float(np.mean(cell[(t, n)])) for t in names] for n in config.n}
    return {
        "lr": lr,
        "steps": steps,
        "repeats": repeats,
        "tasks": len(names),
        "seconds": round(seconds, 1),
        "curve": curve,
    }


def summarize(row: dict[str, object], rng: np.random.Generator) -> dict[str, object]:
    """Mean change from n = 0 per n > 0, with a bootstrap interval over tasks."""
    curve = {int(k): np.asarray(v) for k, v in row.pop("curve").items()}
    zero = curve[0]
    gains = {}
    for n, values in sorted(curve.items()):
        if n == 0:
            continue
        diffs = values - zero
        boots = diffs[rng.integers(0, len(diffs), size=(2000, len(diffs)))].mean(axis=1)
        low, high = np.percentile(boots, [2.5, 97.5])
        gains[n] = {"mean": float(diffs.mean()), "ci": [float(low), float(high)]}
    return {**row, "score_n0": float(zero.mean()), "gain": gains}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lr", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3])
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    grid = [(lr, steps) for lr in args.lr for steps in args.steps]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_recipe, lr, steps, args.tasks, args.repeats) for lr, steps in grid]
        rows = [summarize(f.result(), rng) for f in futures]
    print(f"{'lr':>8}{'steps':>7}{'score n=0':>11}  gain over n=0 by n [95% CI]")
    for r in rows:
        gains = "  ".join(
            f"n={n}: {g['mean']:+.3f} [{g['ci'][0]:+.3f}, {g['ci'][1]:+.3f}]" for n, g in r["gain"].items()
        )
        print(f"{r['lr']:>8.0e}{r['steps']:>7}{r['score_n0']:>11.3f}  {gains}")
    emit({"bench": "transfer_recipe", "rows": rows})


if __name__ == "__main__":
    sys.exit(main())
