"""``instructmtl tune CONFIG``: instruction-tune a base model with one arm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from instructmtl.config import apply_overrides, read_yaml, validate
from instructmtl.training.config import TuneConfig


def tune(
    config: Annotated[Path, typer.Argument(help="YAML file of a TuneConfig (model, arm, tasks, steps, optim...)")],
    out: Annotated[Path, typer.Option(help="run directory (checkpoints, state, log)")] = Path("runs/tune"),
    override: Annotated[list[str] | None, typer.Option("--set", help="dotted override, e.g. optim.lr=1e-4")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as one JSON object")] = False,
) -> None:
    """Instruction-tune (or resume, if OUT holds a killed run of the same config)."""
    from instructmtl.workflows import tune as workflow  # heavy imports only when the command runs

    data = apply_overrides(read_yaml(config), override or [])
    parsed = validate(TuneConfig, data, str(config))
    result = workflow.main(parsed, out, progress=not as_json)
    summary = {
        "run_dir": str(result.run_dir),
        "checkpoints": {str(k): str(v) for k, v in sorted(result.checkpoints.items())},
        "examples_seen": result.examples_seen,
        "padding_fraction": round(result.padding_fraction, 4),
        "seconds": round(result.seconds, 2),
    }
    typer.echo(json.dumps(summary) if as_json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
