"""``instructmtl icl``: in-context learning scores of one model on held-out tasks."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def icl(
    model: Annotated[str, typer.Option(help="hub id, HF model dir, .gguf file or wheel:<pkg>/<file>")],
    tasks: Annotated[str, typer.Option(help="task source: builtin, an SNI dir, a task file, hf:<id>")] = "builtin",
    split: Annotated[str, typer.Option(help="named split whose test side is held out")] = "default",
    encodings: Annotated[str, typer.Option(help="comma-separated prompt encodings")] = "def,def+pos-2,pos-4",
    max_eval: Annotated[int, typer.Option(help="most eval instances per task")] = 50,
    max_length: Annotated[int, typer.Option(help="context budget in tokens")] = 1024,
    seed: Annotated[int, typer.Option(help="selects instance split and demonstrations")] = 0,
    batch_size: Annotated[int, typer.Option(help="sequences per forward pass")] = 16,
    train_tasks: Annotated[
        bool, typer.Option(help="also score the train tasks' eval instances (MTL generalization)")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per score, then per-instance predictions")
    ] = False,
) -> None:
    """Score a model's in-context learning on the held-out tasks, no weight update."""
    from instructmtl.config.tasks import HeldOutConfig, TasksConfig, build_study_split
    from instructmtl.evaluation.icl import evaluate_tasks
    from instructmtl.models import ModelSpec, load_model

    names = [e.strip() for e in encodings.split(",") if e.strip()]
    config = TasksConfig(
        source=tasks,
        held_out=HeldOutConfig(split=split),
        split_seed=seed,
        held_out_max_eval_instances=max_eval,
        max_eval_instances=max_eval,
    )
    _, study = build_study_split(config)
    loaded = load_model(ModelSpec(name_or_path=model))
    outputs = [
        evaluate_tasks(
            loaded.model,
            loaded.tokenizer,
            study.held_out_tasks,
            names,
            measure="icl",
            role="held_out",
            seed=seed,
            max_length=max_length,
            batch_size=batch_size,
        )
    ]
    if train_tasks:
        outputs.append(
            evaluate_tasks(
                loaded.model,
                loaded.tokenizer,
                study.train_tasks,
                names,
                measure="mtl_gen",
                role="train",
                seed=seed,
                max_length=max_length,
                batch_size=batch_size,
            )
        )
    records = [r for out in outputs for r in out.records]
    if as_json:
        for r in records:
            typer.echo(json.dumps({"model": model, **r.__dict__}))
        for out in outputs:
            for (task, encoding), preds in out.predictions.items():
                for p in preds:
                    row = {
                        "prediction": p.prediction,
                        "references": list(p.references),
                        "score": p.score,
                        "task": task,
                        "encoding": encoding,
                        "instance_id": p.instance_id,
                    }
                    typer.echo(json.dumps(row))
        return
    table = Table("task", "measure", "encoding", "metric", "value", "n", title=f"ICL of {model}")
    for r in records:
        table.add_row(r.task, r.measure, r.encoding, r.metric, f"{r.value:.4f}", str(r.n_instances))
    Console().print(table)
