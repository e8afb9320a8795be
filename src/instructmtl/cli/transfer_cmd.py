"""``instructmtl transfer``: few-shot fine-tune checkpoints on held-out tasks and print the scores.

Parses the options into a :class:`~instructmtl.config.tasks.TasksConfig` and a
:class:`~instructmtl.evaluation.finetune_config.FinetuneConfig` (the config
edge), loads every checkpoint, and calls
:func:`~instructmtl.evaluation.transfer.run_transfer`. With ``--base`` the
base model is fine-tuned too and ``transfer = score(c) - score(base)`` is
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


def _load_models(paths: list[str], device: str) -> tuple[dict[str, Any], Any]:
    """Loads every checkpoint; they must share one tokenizer (fine-tunes of one base model)."""
    from instructmtl.models import ModelSpec, load_model

    models, tokenizer = {}, None
    for path in paths:
        loaded = load_model(validate(ModelSpec, {"name_or_path": path, "device": device}, f"--checkpoint {path}"))
        if tokenizer is not None and loaded.tokenizer.get_vocab() != tokenizer.get_vocab():
            raise ConfigError(
                f"--checkpoint {path}: its tokenizer differs from that of {paths[0]}; transfer compares "
                "checkpoints of one base model, give checkpoints that share a tokenizer"
            )
        tokenizer = tokenizer or loaded.tokenizer
        models[path] = loaded.model
    return models, tokenizer


def _table(rows: list[Any], title: str, signed: bool) -> Table:
    """One line per (checkpoint, task, n, seed), one column per metric present (``signed``: show +/-)."""
    grouped: dict[tuple, dict[str, float]] = {}
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
    base: Annotated[str | None, typer.Option(help="The base model directory: also fine-tuned, and transfer "
                                                  "= score(checkpoint) - score(base) is printed.")] = None,
    tasks: Annotated[str, typer.Option(help="builtin, an SNI folder or a task file.")] = "builtin",
    held_out_split: Annotated[str, typer.Option(help="The split whose test tasks are held out.")] = "default",
    task: Annotated[list[str] | None, typer.Option("--task", help="Only this held-out task; repeat for several.")] = None,
    n: Annotated[str, typer.Option("--n", help="Training-instance counts, comma-separated (0: no update).")] = "0,5,10,20,40",
    encoding: Annotated[str, typer.Option(help="Prompt encoding: id (task identifier) or pos-k.")] = "id",
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps of every fine-tune.")] = 20,
    batch_size: Annotated[int, typer.Option(min=1, help="Instances per step at most.")] = 8,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 3e-4,
    mode: Annotated[str, typer.Option(help="full (batched) or lora (one by one).")] = "full",
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated.")] = "0",
    max_eval_instances: Annotated[int, typer.Option(min=1, help="Eval instances per task at most.")] = 50,
    one_by_one: Annotated[bool, typer.Option(help="Run full fine-tunes one at a time (the reference).")] = False,
    workers: Annotated[int | None, typer.Option(min=1, help="Grid chunks, fine-tunes and scorings run at once, "
                                                             "one core each (default: one per core on CPU).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    predictions: Annotated[Path | None, typer.Option(help="Write per-instance predictions here (JSONL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Few-shot fine-tune each checkpoint on each held-out task; print scores per (checkpoint, task, n)."""
    from instructmtl.config.tasks import HeldOutConfig, TasksConfig, build_study_split
    from instructmtl.evaluation.finetune_config import FinetuneConfig
    from instructmtl.evaluation.transfer import run_transfer, transfer_deltas

    config = validate(FinetuneConfig, {"n": _int_list(n, "--n"), "encoding": encoding, "steps": steps,
                                       "batch_size": batch_size, "lr": lr, "mode": mode,
                                       "seeds": _int_list(seeds, "--seeds"), "workers": workers}, "transfer options")
    tasks_config = validate(TasksConfig, {"source": tasks, "held_out": HeldOutConfig(split=held_out_split),
                                          "held_out_max_eval_instances": max_eval_instances}, "--tasks")
    _, study = build_study_split(tasks_config)
    held = [s for s in study.held_out_tasks if not task or s.name in task]
    missing = sorted(set(task or ()) - {s.name for s in held})
    if missing:
        raise ConfigError(f"--task {missing[0]}: not a held-out task of split '{held_out_split}'; "
                          f"choose from {', '.join(study.held_out_names)}")
    paths = ([base] if base is not None else []) + [c for c in checkpoint if c != base]
    if len(set(paths)) != len(paths):
        raise ConfigError("--checkpoint: a directory is given twice; give each checkpoint once")
    models, tokenizer = _load_models(paths, device)
    console = Console(stderr=True)
    show = None if as_json else (lambda line: console.print(escape(line), highlight=False))
    result = run_transfer(models, tokenizer, held, config, batched=not one_by_one, progress=show)
    deltas = transfer_deltas(result.scores, base) if base is not None and len(paths) > 1 else []
    if predictions is not None:
        predictions.write_text("".join(json.dumps(asdict(p)) + "\n" for p in result.predictions), encoding="utf-8")
    if as_json:
        print(json.dumps({"scores": [asdict(s) for s in result.scores], "transfer": [asdict(d) for d in deltas],
                          "skipped": [asdict(s) for s in result.skipped]}))
        return
    out = Console()
    out.print(_table([s for s in result.scores if s.subset == ""], "fine-tuned scores", signed=False))
    if deltas:
        out.print(_table(deltas, f"transfer: score - score(base {escape(base or '')})", signed=True))
    for skip in result.skipped:
        out.print(f"skipped {escape(skip.task)} n={skip.n}: the task has {skip.available} train instances")
