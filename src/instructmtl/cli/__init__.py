"""The ``instructmtl`` command: one typer app, one module per sub-command.

Every user-caused error (:class:`~instructmtl.errors.InstructMTLError`) is
printed as one line and exits with status 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from instructmtl.cli import (
    export_cmd,
    icl_cmd,
    plan_cmd,
    pretrain_cmd,
    report_cmd,
    run_cmd,
    tasks_cmd,
    transfer_cmd,
    tune_cmd,
)
from instructmtl.errors import InstructMTLError

app = typer.Typer(
    name="instructmtl",
    help="Instruction-tuning as multi-task learning: tune, then measure transfer and in-context learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Sub-commands, registered explicitly (no import side effects).
app.command("run")(run_cmd.run)
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(run_cmd.config_app, name="config")
app.command("pretrain")(pretrain_cmd.pretrain)
app.command("report")(report_cmd.report)
app.command("plan")(plan_cmd.plan)
app.command("export")(export_cmd.export)
app.command("tune")(tune_cmd.tune)
app.command("transfer")(transfer_cmd.transfer)
app.command("icl")(icl_cmd.icl)


def main() -> None:
    """Console-script entry point."""
    # our own rich progress shows what runs; transformers' per-load tqdm bars would bury it
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # for spawned workers and Ray tasks
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        app()
    except InstructMTLError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
