"""Pretraining throughput of the built-in ``tiny`` base model on this machine, fp32 against bf16 autocast.

Runs the real pretraining code (:func:`instructmtl.models.builtin.pretrain_model`:
corpus generation, packing, forward, backward, clipping, AdamW, schedule) for a
few steps in each precision and times whole optimiser steps with a
``torch.optim`` hook (the first step, with kernel selection, is left out).
From the median step it projects the wall time of the full ``tiny`` recipe,
and it reports what the shipped model's metadata recorded when it was trained.

It also reports what the pretraining buys: the ICL probe (mean per-token
target NLL under ``pos-k`` prompts, and greedy exact match) of the shipped
model and of a randomly initialised model of the same size, on the held-out
tasks of the default built-in split (the same probe ``pretrain --probe`` stores).

Run: ``/work/venv/bin/python bench/pretrain_tiny.py [--steps 12] [--threads 2]``.
The last stdout line is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from _common import emit, log, machine, optimizer_step_times
from instructmtl.models.builtin import METADATA_FILE, PRESETS, PretrainRecipe, build_model, pretrain_model
from instructmtl.workflows.pretrain import probe_heldout, read_metadata, shipped_dir


def measure(precision: str, steps: int) -> dict[str, float]:
    """Trains ``tiny`` for ``steps`` steps in ``precision``; returns tokens/s and timings."""
    preset = PRESETS.get("tiny")
    recipe = PretrainRecipe(preset="tiny", steps=steps, precision=precision)
    started = time.perf_counter()
    with optimizer_step_times() as stamps:
        pretrain_model(recipe, preset, show_progress=False)
    wall = time.perf_counter() - started
    step_seconds = statistics.median(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    tokens_per_step = preset.batch_size * preset.context_len
    return {
        "tokens_per_second": round(tokens_per_step / step_seconds, 1),
        "step_seconds": round(step_seconds, 4),
        "wall_seconds": round(wall, 2),
        "projected_full_run_minutes": round(preset.steps * step_seconds / 60, 1),
    }


def icl_figures(model_dir: Path) -> dict[str, dict[int, dict[str, float]]]:
    """The held-out ICL probe of the shipped model and of a random init with its tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    pretrained = AutoModelForCausalLM.from_pretrained(model_dir)
    random_init = build_model(PRESETS.get("tiny"), tokenizer, seed=1)
    return {
        name: {k: fig.model_dump() for k, fig in probe_heldout(model, tokenizer).items()}
        for name, model in (("pretrained", pretrained), ("random_init", random_init))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="optimiser steps per precision (>= 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    record: dict[str, object] = {"bench": "pretrain_tiny", "machine": machine(), "steps": args.steps}
    for precision in ("fp32", "bf16"):
        log(f"pretraining tiny for {args.steps} steps in {precision} ...")
        record[precision] = measure(precision, args.steps)
        log(f"  {record[precision]}")
    shipped = shipped_dir("tiny")
    if (shipped / METADATA_FILE).is_file():
        meta = read_metadata(shipped)
        record["shipped"] = {
            "steps": meta.steps,
            "tokens_seen": meta.tokens_seen,
            "train_seconds": meta.seconds,
            "tokens_per_second": meta.tokens_per_second,
            "precision": meta.precision,
            "command": meta.command,
        }
        log("probing ICL on the held-out built-in tasks (shipped model and random init) ...")
        record["icl_heldout"] = icl_figures(shipped)
    record["bf16_speedup"] = round(record["bf16"]["tokens_per_second"] / record["fp32"]["tokens_per_second"], 2)
    emit(record)


if __name__ == "__main__":
    main()
