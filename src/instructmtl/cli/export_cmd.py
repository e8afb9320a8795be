"""``instructmtl export STUDY_DIR``: write the study's score table as CSV or parquet.

The export is the scores table plus each checkpoint's step fraction: enough to
recompute every claim of the report (see :func:`instructmtl.analysis.read_scores_csv`).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from instructmtl.errors import InstructMTLError
from instructmtl.results.store import ResultsStore, results_path


class ExportFormat(str, Enum):
    """File formats of ``instructmtl export``."""

    csv = "csv"
    parquet = "parquet"


def export(
    study_dir: Annotated[Path, typer.Argument(help="The study's output folder (holds results.sqlite).")],
    format: Annotated[ExportFormat, typer.Option("--format", help="csv or parquet.")] = ExportFormat.csv,  # noqa: A002
    out: Annotated[Path | None, typer.Option(help="Output file (default: STUDY_DIR/scores.<format>).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a summary.")] = False,
) -> None:
    """Export every score row of STUDY_DIR/results.sqlite."""
    store_file = results_path(study_dir)
    if not store_file.is_file():
        raise InstructMTLError(f"{store_file}: no results store; give a study output folder (run the study first)")
    target = out if out is not None else Path(study_dir) / f"scores.{format.value}"
    with ResultsStore.open(store_file, reset_stale=False) as store:
        n_rows = len(store.scores_frame())
        store.export(target, format=format.value)
    if as_json:
        print(json.dumps({"path": str(target), "format": format.value, "rows": n_rows}))
        return
    Console().print(f"wrote {n_rows} score rows to {target}", highlight=False)
