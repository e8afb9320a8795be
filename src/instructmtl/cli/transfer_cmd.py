"""``instructmtl transfer``: few-shot fine-tune checkpoints on held-out tasks and print the scores.

Parses the options into one :class:`~instructmtl.workflows.transfer.TransferConfig`
(the config edge) and calls :func:`~instructmtl.workflows.transfer.compare`, which
loads the checkpoints and runs the grid; this module only prints. With ``--base``
the base model is fine-tuned too and ``transfer = score(c) - score(base)`` is
printed beside the scores. ``--json`` prints one JSON object for scripts.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from instructmtl.config import validate
from instructmtl.errors import ConfigError

_METRIC_COLUMNS = ("accuracy", "rouge_l", "exact_match", "target_nll")


def _int_list(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} '{text}': give comma-separated integers, e.g. 0,5,10") from None


def _table(rows: list[Any], title: str, signed: bool) -> Table:
    """One line per (checkpoint, task, n, seed), one column per metric present (``signed``: show +/-)."""
    grouped: dict[tuple[str, str, int, int], dict[str, float]] = {}
    for row in rows:
        grouped.setdefault((row.checkpoint, row.task, row.n, row.seed), {})[row.metric] = row.value
    present = [m for m in _METRIC_COLUMNS if any(m in values for values in grouped.values())]
    table = Table("checkpoint", "task", "n", "seed", *present, title=title)
    for (checkpoint, task, n, seed), values in grouped.items():
        cells = [(f"{values[m]:+.4f}" if signed else f"{values[m]:.4f}") if m in values else "" for m in present]
        table.add_row(escape(checkpoint), escape(task), str(n), str(seed), *cells)
    return table


def transfer(
    checkpoint: Annotated[list[str], typer.Option("--checkpoint", help="A model directory; repeat for several.")],
    base: Annotated[
        str | None,
        typer.Option(
            help="The base model directory: also fine-tuned, and transfer = score(checkpoint) - score(base) is printed."
        ),
    ] = None,
    tasks: Annotated[str, typer.Option(help="builtin, an SNI folder or a task file.")] = "builtin",
    held_out_split: Annotated[str, typer.Option(help="The split whose test tasks are held out.")] = "default",
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Only this held-out task; repeat for several.")
    ] = None,
    n: Annotated[
        str, typer.Option("--n", help="Training-instance counts, comma-separated (0: no update).")
    ] = "0,5,10,20,40",
    encoding: Annotated[str, typer.Option(help="Prompt encoding: id (task identifier) or pos-k.")] = "id",
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps of every fine-tune.")] = 20,
    batch_size: Annotated[int, typer.Option(min=1, help="Instances per step at most.")] = 8,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 3e-4,
    mode: Annotated[str, typer.Option(help="full (batched) or lora (one by one).")] = "full",
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated.")] = "0",
    max_eval_instances: Annotated[int, typer.Option(min=1, help="Eval instances per task at most.")] = 50,
    one_by_one: Annotated[bool, typer.Option(help="Run full fine-tunes one at a time (the reference).")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Grid chunks, fine-tunes and scorings run at once, one core each (default: one per core on CPU).",
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    predictions: Annotated[Path | None, typer.Option(help="Write per-instance predictions here (JSONL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Few-shot fine-tune each checkpoint on each held-out task; print scores per (checkpoint, task, n)."""
    from instructmtl.config.tasks import HeldOutConfig, TasksConfig
    from instructmtl.evaluation.finetune_config import FinetuneConfig
    from instructmtl.workflows.transfer import TransferConfig, compare

    finetune = validate(
        FinetuneConfig,
        {
            "n": _int_list(n, "--n"),
            "encoding": encoding,
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "mode": mode,
            "seeds": _int_list(seeds, "--seeds"),
            "workers": workers,
        },
        "transfer options",
    )
    tasks_config = validate(
        TasksConfig,
        {
            "source": tasks,
            "held_out": HeldOutConfig(split=held_out_split),
            "held_out_max_eval_instances": max_eval_instances,
        },
        "--tasks",
    )
    config = TransferConfig(
        checkpoints=tuple(checkpoint),
        base=base,
        tasks=tasks_config,
        only_tasks=tuple(task or ()),
        finetune=finetune,
        batched=not one_by_one,
        device=device,
        predictions=predictions,
    )
    console = Console(stderr=True)
    show = None if as_json else (lambda line: console.print(escape(line), highlight=False))
    outcome = compare(config, progress=show)
    result, deltas = outcome.result, outcome.deltas
    if as_json:
        print(
            json.dumps(
                {
                    "scores": [asdict(s) for s in result.scores],
                    "transfer": [asdict(d) for d in deltas],
                    "skipped": [asdict(s) for s in result.skipped],
                }
            )
        )
        return
    out = Console()
    out.print(_table([s for s in result.scores if s.subset == ""], "fine-tuned scores", signed=False))
    if deltas:
        out.print(_table(deltas, f"transfer: score - score(base {escape(base or '')})", signed=True))
    for skip in result.skipped:
        out.print(f"skipped {escape(skip.task)} n={skip.n}: the task has {skip.available} train instances")
