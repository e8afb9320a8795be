"""``instructmtl run [CONFIG]`` (the whole study) and ``instructmtl config show [CONFIG]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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
    table = Table("claim", "what", "estimate", "95% CI", "verdict", title="Claims (full statements in the report)")
    for claim in result.claims:
        title = claim.statement.split(":", 1)[0]
        table.add_row(claim.id, title, _fmt(claim.estimate), f"[{_fmt(claim.ci_low)}, {_fmt(claim.ci_high)}]",
                      claim.verdict)
    console.print(table)
    console.print(f"report: {result.report_html}  (and {result.report_md})")


@config_app.command("show")
def show(config: ConfigArg = None, override: Overrides = None) -> None:
    """Print the resolved config (defaults filled in) as YAML."""
    from instructmtl.config import dump_yaml
    from instructmtl.study.config import load_study_config

    typer.echo(dump_yaml(load_study_config(config, override)))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _claim_dict(claim) -> dict:
    return {"id": claim.id, "statement": claim.statement, "estimate": claim.estimate,
            "ci_low": claim.ci_low, "ci_high": claim.ci_high, "verdict": claim.verdict}
