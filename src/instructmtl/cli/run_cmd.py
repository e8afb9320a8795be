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
    from instructmtl.analysis.claims import Claim

config_app = typer.Typer(help="Show resolved study configs.", no_args_is_help=True)

ConfigArg = Annotated[str | None, typer.Argument(help="a preset (default, smollm2-sni, gpu) or a YAML path")]
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
        typer.echo(json.dumps({
            "out_dir": str(result.out_dir), "report_md": str(result.report_md), "report_html": str(result.report_html),
            "stage_seconds": {k: round(v, 2) for k, v in result.stage_seconds.items()},
            "jobs_run": result.jobs_run, "jobs_skipped": result.jobs_skipped,
            "claims": [_claim_dict(c) for c in result.claims],
        }))
        return
    console.print(claims_table(result.claims))
    console.print(f"report: {result.report_html}  (and {result.report_md})")


@config_app.command("show")
def show(config: ConfigArg = None, override: Overrides = None) -> None:
    """Print the resolved config (defaults filled in) as YAML."""
    from instructmtl.config import dump_yaml
    from instructmtl.study.config import load_study_config

    typer.echo(dump_yaml(load_study_config(config, override)))


def claims_table(claims: Sequence[Claim]) -> Table:
    """The claims as a terminal table: short statement, estimate, interval, verdict (full text in the report)."""
    table = Table(title="Claims (full statements in the report)")
    # figures never wrap (a CI split over lines misreads); ids fold and the statement wraps in what is left
    table.add_column("claim", overflow="fold", max_width=16)
    table.add_column("what", min_width=14)
    for header in ("estimate", "95% CI", "verdict"):
        table.add_column(header, no_wrap=True)
    for claim in claims:
        title = claim.statement.split(":", 1)[0]
        # Text, not markup: "[n/a, n/a]" would otherwise be read as a style tag and vanish
        table.add_row(Text(claim.id), Text(title), _fmt(claim.estimate),
                      Text(f"[{_fmt(claim.ci_low)}, {_fmt(claim.ci_high)}]"), Text(claim.verdict))
    return table


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:+.3f}"


def _claim_dict(claim) -> dict:
    return {"id": claim.id, "statement": claim.statement, "estimate": claim.estimate,
            "ci_low": claim.ci_low, "ci_high": claim.ci_high, "verdict": claim.verdict}
