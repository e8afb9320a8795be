"""Does the base model learn in context? Its ICL score minus a no-skill answer, per task category.

Why: the ICL claims compare checkpoints' in-context learning on held-out tasks. They
mean something only when the base model does better in context than an answer that
ignores the task (the study's "base ICL above chance" check: majority label for
classification, the better of echoing the input and a constant answer for generation,
in ROUGE-L). This bench scores the base on *every* task of the built-in suite, each
task a held-out task of its own (label-balanced eval instances, as the default
study draws them), so a researcher sees which categories a base can be studied on
before choosing the held-out split. It reads nothing a claim tests: only the base.

Per category: tasks, mean (score - no-skill) with a 95% bootstrap interval over
tasks, and how many tasks are above. Ends with one JSON line.

Usage: python bench/base_icl_chance.py [--encoding def+pos-2] [--eval 24] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402


def per_task_excess(encoding: str, n_eval: int, overrides: list[str]) -> tuple[dict[str, list[float]], dict]:
    """Scores the base on every task; returns category → excess per task, and the run's facts."""
    import torch

    torch.set_num_threads(2)
    from instructmtl.config.tasks import build_study_split
    from instructmtl.evaluation.icl import evaluate_tasks
    from instructmtl.models import load_model
    from instructmtl.study.config import load_study_config
    from instructmtl.study.runner import resolve_base
    from instructmtl.study.setup_facts import chance_levels
    from instructmtl.tasks.selection import InstanceCaps, split_instances

    study = load_study_config(None, overrides)
    collection, _ = build_study_split(study.tasks)
    caps = InstanceCaps(train=16, eval=n_eval, balance_labels=True)
    seed = study.tasks.split_seed
    splits = [s for s in (split_instances(collection.task(n), caps, seed) for n in collection.tasks) if s.eval]
    loaded = load_model(resolve_base(study))
    out = evaluate_tasks(
        loaded.model,
        loaded.tokenizer,
        splits,
        [encoding],
        measure="icl",
        role="held_out",
        seed=0,
        max_length=study.icl.max_length,
    )
    chance = chance_levels(splits)
    scores = {(r.task, r.metric): r.value for r in out.records if r.subset == ""}
    by_category: dict[str, list[float]] = defaultdict(list)
    for split in splits:
        level = chance[split.name]
        by_category[split.task.categories[0]].append(scores[(split.name, level["metric"])] - float(level["value"]))
    return by_category, {
        "base": study.base.name_or_path,
        "encoding": encoding,
        "eval_per_task": n_eval,
        "suite_seed": study.tasks.suite_seed,
        "split_seed": seed,
    }


def interval(values: list[float], rng: np.random.Generator, n: int = 2000) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap 95% interval over tasks."""
    arr = np.asarray(values)
    if len(arr) < 2:
        return float(arr.mean()), float("nan"), float("nan")
    means = arr[rng.integers(0, len(arr), (n, len(arr)))].mean(axis=1)
    return float(arr.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoding", default="def+pos-2")
    parser.add_argument("--eval", type=int, default=24, help="eval instances per task")
    parser.add_argument("--set", nargs="*", default=[], help="study config overrides (key=value)")
    args = parser.parse_args()
    by_category, facts = per_task_excess(args.encoding, args.eval, args.set)
    rng = np.random.default_rng(0)
    rows = {}
    print(f"{'category':24s} {'tasks':>5s} {'above':>5s}  mean excess [95% CI]")
    for category, values in sorted(by_category.items()):
        mean, low, high = interval(values, rng)
        above = sum(v > 0 for v in values)
        rows[category] = {"tasks": len(values), "above": above, "excess": mean, "ci": [low, high]}
        print(f"{category:24s} {len(values):5d} {above:5d}  {mean:+.3f} [{low:+.3f}, {high:+.3f}]")
    everything = [v for values in by_category.values() for v in values]
    mean, low, high = interval(everything, rng)
    above_all = sum(v > 0 for v in everything)
    print(f"{'all':24s} {len(everything):5d} {above_all:5d}  {mean:+.3f} [{low:+.3f}, {high:+.3f}]")
    selectable = sorted((c for c, row in rows.items() if row["excess"] > 0), key=lambda c: -rows[c]["excess"])
    print(f"selectable (positive mean excess): {', '.join(selectable)}")
    emit(
        {
            "bench": "base_icl_chance",
            **facts,
            "all": {"excess": mean, "ci": [low, high]},
            "categories": rows,
            "selectable": selectable,
        }
    )


if __name__ == "__main__":
    main()
