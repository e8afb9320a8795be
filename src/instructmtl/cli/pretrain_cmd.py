"""``instructmtl pretrain``: get the built-in base model (shipped, cached or trained now).

Parses the options into a :class:`~instructmtl.workflows.pretrain.PretrainConfig`
and calls the workflow; with ``--json`` it prints one JSON object (path,
params, seconds, source, ...) for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from instructmtl.models.builtin import PretrainRecipe
from instructmtl.models.builtin.presets import Precision
from instructmtl.workflows.pretrain import PretrainConfig, main


def pretrain(
    preset: Annotated[str, typer.Option(help="Model size: micro (tests), tiny (CPU default), small (GPU).")] = "tiny",
    seed: Annotated[int, typer.Option(help="Seeds the initialisation, the corpus and the tokenizer sample.")] = 0,
    steps: Annotated[int | None, typer.Option(min=1, help="Optimiser steps (default: the preset's).")] = None,
    precision: Annotated[Precision | None, typer.Option(help="bf16 autocast or fp32 (default: the preset's).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the model here instead of the cache.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a summary.")] = False,
    force: Annotated[bool, typer.Option(help="Train even if a shipped or cached model matches.")] = False,
    probe: Annotated[
        bool, typer.Option(help="After training, measure ICL on the held-out built-in tasks (stored in the metadata).")
    ] = False,
) -> None:
    """Pretrain the built-in base model, or return it at once when it already exists."""
    recipe = PretrainRecipe(preset=preset, seed=seed, steps=steps, precision=precision)
    config = PretrainConfig(recipe=recipe, out=out, force=force, probe=probe, show_progress=not as_json)
    outcome = main(config)
    meta = outcome.metadata
    if as_json:
        # plain print, not rich: rich would wrap long lines and break the JSON
        print(
            json.dumps(
                {
                    "path": str(outcome.path),
                    "source": outcome.source,
                    "params": meta.params,
                    "seconds": round(outcome.seconds, 3),
                    "preset": meta.recipe.preset,
                    "key": meta.key,
                    "steps": meta.steps,
                    "tokens_seen": meta.tokens_seen,
                    "final_loss": meta.final_loss,
                    "train_seconds": meta.seconds,
                    "command": meta.command,
                    "icl_heldout": None
                    if meta.icl_heldout is None
                    else {k: fig.model_dump() for k, fig in meta.icl_heldout.items()},
                }
            )
        )
        return
    Console().print(
        f"[bold]{meta.recipe.preset}[/] base model ({meta.params / 1e6:.2f}M parameters, {outcome.source}) "
        f"at {outcome.path}\n  trained {meta.steps} steps on {meta.tokens_seen:,} tokens, final loss "
        f"{meta.final_loss:.3f}; reproduce with: {meta.command}",
        highlight=False,
        soft_wrap=True,
    )
    if meta.icl_heldout is not None:
        curve = ", ".join(f"k={k}: {fig.loss:.3f}" for k, fig in meta.icl_heldout.items())
        Console().print(f"  held-out target loss under pos-k prompts: {curve}", highlight=False)
