"""Sweep of the instruction-tuning recipe, judged on the train tasks only.

Why a sweep: the default study must really instruction-tune (DESIGN.md, "Validity"):
on every arm the final checkpoint's content-token NLL on instances it was trained on
must fall to at most 0.75x the base model's, and NLL on the seen tasks' *unseen*
instances (MTL generalization) must fall too, with a paired interval excluding no
change. This script trains one arm per recipe on the default study's split and
measures exactly those two quantities, on the seen tasks MTL fit and generalization
use. It never looks at a held-out task, so choosing the recipe here cannot tune the
study toward its own claims.

For each recipe (learning rate x steps, other settings from the default preset) and
each arm asked for, one tuning run (seed 0 unless ``--seed``) is followed by:

* fit: content NLL of the final checkpoint on the first ``mtl_fit_instances``
  instances it drew from each of the ``mtl_tasks`` seen tasks, over the base's on
  the same instances (ratio of means);
* generalization: per seen task, content NLL on its eval instances, final minus
  base; mean and a 95% bootstrap interval over tasks.

Runs go two at a time, one thread each (the 2-core machine). Prints a table and
ends with one JSON line of the figures.

Usage: python bench/tune_recipe.py [--lr 3e-4 1e-3] [--steps 100 200] [--arms proportional]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402


def run_recipe(lr: float, steps: int, arm_name: str, seed: int, root: str) -> dict[str, object]:
    """Tunes one arm with one recipe and measures fit and generalization on seen tasks."""
    import torch

    torch.set_num_threads(1)
    from instructmtl.config.tasks import build_study_split
    from instructmtl.evaluation.icl import evaluate_fit, stratified_tasks
    from instructmtl.models import load_model
    from instructmtl.models.checkpoint import read_checkpoint_metadata
    from instructmtl.study.config import load_study_config
    from instructmtl.study.runner import resolve_base
    from instructmtl.training.fit_plan import fit_plan
    from instructmtl.workflows import tune

    study = load_study_config(None, [f"tune.optim.lr={lr}", f"tune.steps={steps}", "tune.checkpoints=[1.0]"])
    base = resolve_base(study)
    arm = next(a for a in study.arms if a.name == arm_name)
    config = study.tune_config(arm, seed, base)
    started = time.perf_counter()
    result = tune.main(config, Path(root) / f"{arm_name}-{lr}-{steps}", progress=False)
    seconds = time.perf_counter() - started
    checkpoint = result.checkpoints[steps]
    _, split = build_study_split(study.tasks)
    tasks = stratified_tasks(split.train_tasks, study.icl.mtl_tasks)
    drawn = read_checkpoint_metadata(checkpoint)["drawn_instances"]
    plan = fit_plan(tasks, config.data.encodings, seed, study.icl.mtl_fit_instances, drawn)
    # generalization: the seen tasks' eval instances, scored with the same NLL code as fit
    unseen = [replace(s, train=s.eval) for s in tasks]
    unseen_ids = {s.name: [i.id for i in s.eval] for s in tasks}
    common = dict(seed=seed, max_length=study.icl.max_length, batch_size=study.icl.batch_size)

    def measure(path: str) -> tuple[dict[str, float], dict[str, float]]:
        loaded = load_model(base.model_copy(update={"name_or_path": path}))
        fit = evaluate_fit(
            loaded.model, loaded.tokenizer, tasks, study.icl.mtl_encoding, instances=plan.instances, **common
        )
        gen = evaluate_fit(
            loaded.model, loaded.tokenizer, unseen, study.icl.mtl_encoding, instances=unseen_ids, **common
        )
        return {r.task: r.value for r in fit}, {r.task: r.value for r in gen}

    base_fit, base_gen = measure(base.name_or_path)
    tuned_fit, tuned_gen = measure(str(checkpoint))
    log_path = Path(root) / f"{arm_name}-{lr}-{steps}" / "log.jsonl"
    log = [json.loads(line) for line in log_path.read_text().splitlines()]
    return {
        "lr": lr,
        "steps": steps,
        "arm": arm_name,
        "seed": seed,
        "tune_seconds": round(seconds, 1),
        "fit_tasks": len(tuned_fit),
        "skipped": len(plan.skipped),
        "fit_base": float(np.mean([base_fit[t] for t in tuned_fit])),
        "fit_tuned": float(np.mean(list(tuned_fit.values()))),
        "gen_diff": [tuned_gen[t] - base_gen[t] for t in sorted(tuned_gen)],
        "gen_base": float(np.mean(list(base_gen.values()))),
        "gen_tuned": float(np.mean(list(tuned_gen.values()))),
        "last_content_loss": log[-1].get("content_loss"),
        "last_marker_loss": log[-1].get("marker_loss"),
    }


def summarize(row: dict[str, object], rng: np.random.Generator) -> dict[str, object]:
    """Adds the fit ratio and the bootstrap interval of the generalization change."""
    diffs = np.asarray(row.pop("gen_diff"))
    boots = diffs[rng.integers(0, len(diffs), size=(2000, len(diffs)))].mean(axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {
        **row,
        "fit_ratio": row["fit_tuned"] / row["fit_base"],
        "gen_change": float(diffs.mean()),
        "gen_ci": [float(low), float(high)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lr", type=float, nargs="+", default=[3e-4, 1e-3])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--arms", nargs="+", default=["proportional"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    grid = [(lr, steps, arm) for arm in args.arms for lr in args.lr for steps in args.steps]
    with tempfile.TemporaryDirectory() as root, ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_recipe, lr, steps, arm, args.seed, root) for lr, steps, arm in grid]
        rows = [summarize(f.result(), rng) for f in futures]
    print(f"{'arm':<16}{'lr':>8}{'steps':>7}{'fit base':>10}{'fit':>8}{'ratio':>7}{'gen change [95% CI]':>30}{'s':>7}")
    for r in rows:
        ci = r["gen_ci"]
        print(
            f"{r['arm']:<16}{r['lr']:>8.0e}{r['steps']:>7}{r['fit_base']:>10.3f}{r['fit_tuned']:>8.3f}"
            f"{r['fit_ratio']:>7.2f}{r['gen_change']:>+12.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]{r['tune_seconds']:>7.0f}"
        )
    emit({"bench": "tune_recipe", "rows": rows})


if __name__ == "__main__":
    sys.exit(main())
