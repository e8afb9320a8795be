"""``instructmtl run [CONFIG]`` (the whole study) and ``instructmtl config show [CONFIG]``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the analysis stack is imported only when a study runs
    from instructmtl.analysis import Claim

config_app = typer.Typer(help="Show resolved study configs.", no_args_is_help=True)

ConfigArg = Annotated[str | None, typer.Argument(help="a preset (default, smoke, smollm2-sni, gpu) or a YAML path")]
Overrides = Annotated[list[str] | None, typer.Option("--set", help="dotted override, e.g. tune.optim.lr=1e-4")]


def run(
    config: ConfigArg = None,
    out: Annotated[Path | None, typer.Option(help="study output directory (overrides output_dir)")] = None,
    override: Overrides = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as one JSON object")] = False,
) -> None:
    """Run a whole study (the default preset without CONFIG); a rerun resumes where it stopped."""
    from instructmtl.study.config import load_study_config
    from instructmtl.study.runner import main

    parsed = load_study_config(config, override, out)
    console = Console(stderr=as_json)
    result = main(parsed, console=console)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "out_dir": str(result.out_dir),
                    "report_md": str(result.report_md),
                    "report_html": str(result.report_html),
                    "stage_seconds": {k: round(v, 2) for k, v in result.stage_seconds.items()},
                    "jobs_run": result.jobs_run,
                    "jobs_skipped": result.jobs_skipped,
                    "claims": [c.to_json() for c in result.claims],
                }
            )
        )
        return
    console.print(claims_table(result.claims))
    console.print(f"report: {result.report_html}  (and {result.report_md})")


@config_app.command("show")
def show(config: ConfigArg = None, override: Overrides = None) -> None:
    """Print the resolved config (defaults filled in) as YAML."""
    from instructmtl.config import dump_yaml
    from instructmtl.study.config import load_study_config

    typer.echo(dump_yaml(load_study_config(config, override)))


VERDICT_STYLES = {"supported": "green", "not supported": "red", "inconclusive": "yellow", "invalid": "magenta"}


def claims_table(claims: Sequence[Claim]) -> Table:
    """The claims as a terminal table: id, estimate, interval, MDE and verdict, one line per claim.

    The statements and the verdicts' reasons are left to the report: at 80 columns
    either would wrap over several lines and push the numbers off the screen.
    """
    table = Table(title="Claims (statements and reasons in the report)")
    # figures never wrap (a CI split over lines misreads); a long id folds in the width that is left
    table.add_column("claim", overflow="fold", min_width=14)
    for header in ("estimate", "95% CI", "MDE", "verdict"):
        table.add_column(header, no_wrap=True)
    for claim in claims:
        # Text, not markup: "[n/a, n/a]" would otherwise be read as a style tag and vanish
        table.add_row(
            Text(claim.id),
            _fmt(claim.estimate),
            Text(f"[{_fmt(claim.ci_low)}, {_fmt(claim.ci_high)}]"),
            Text("n/a" if claim.mde is None or math.isnan(claim.mde) else f"{claim.mde:.3f}"),
            Text(claim.verdict, style=VERDICT_STYLES[claim.verdict]),
        )
    return table


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:+.3f}"
