"""``instructmtl report STUDY_DIR``: rebuild the study report from its results store alone.

How to analyse comes from the study's own config, stored in the results store
(``analysis.baseline_arm`` / ``analysis.replay_arms``, defaults: the first
arm and the arms whose name contains ``replay``; ``analysis.n_bootstrap`` and
``analysis.seed``); the options override it. Claim 3 leaves out the replay
arms and the arms the config regularizes or trains with LoRA. ``--json``
prints one JSON object (paths, claims and checks) for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from instructmtl.cli.run_cmd import claims_table
from instructmtl.errors import InstructMTLError
from instructmtl.report import AnalysisSettings, analysis_settings, build_report
from instructmtl.report.content import pick_study
from instructmtl.results.store import ResultsStore, results_path


def _stored_settings(store_file: Path, study_id: str | None) -> AnalysisSettings:
    with ResultsStore.open(store_file, reset_stale=False) as store:
        study = pick_study(store, study_id)
    return analysis_settings(study.config_yaml, f"{store_file} (study '{study.study_id}' config)")


def report(
    study_dir: Annotated[Path, typer.Argument(help="The study's output folder (holds results.sqlite).")],
    out: Annotated[Path | None, typer.Option(help="Write the report here (default: STUDY_DIR/report).")] = None,
    baseline_arm: Annotated[str | None, typer.Option(help="Override the config's analysis.baseline_arm.")] = None,
    replay_arm: Annotated[
        list[str] | None, typer.Option(help="Override analysis.replay_arms (repeat for several).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override analysis.seed (the bootstrap's seed).")] = None,
    resamples: Annotated[int | None, typer.Option(min=100, help="Override analysis.n_bootstrap.")] = None,
    study: Annotated[str | None, typer.Option(help="Study id, when the store holds several.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Rebuild report.md and report.html (claims, tables, figures) from STUDY_DIR/results.sqlite."""
    store_file = results_path(study_dir)
    if not store_file.is_file():
        raise InstructMTLError(f"{store_file}: no results store; give a study output folder (run the study first)")
    stored = _stored_settings(store_file, study)
    replay_arms = stored.replay_arms if replay_arm is None else tuple(replay_arm)
    built = build_report(
        store_file,
        out if out is not None else Path(study_dir) / "report",
        baseline_arm=stored.baseline_arm if baseline_arm is None else baseline_arm,
        replay_arms=replay_arms,
        seed=stored.seed if seed is None else seed,
        n_resamples=stored.n_resamples if resamples is None else resamples,
        study_id=study,
        # an arm named as a replay arm on the command line is a replay arm for claim 3 too
        excluded_arms=tuple(dict.fromkeys([*stored.excluded_arms, *replay_arms])),
    )
    if as_json:
        # plain print, not rich: rich would wrap long lines and break the JSON
        print(
            json.dumps(
                {
                    "markdown": str(built.markdown),
                    "html": str(built.html),
                    "claims_json": str(built.claims_json),
                    "figures": [str(p) for p in built.figures],
                    "claims": [c.to_json() for c in built.claims],
                    "checks": [c.to_json() for c in built.checks],
                },
                allow_nan=False,
            )
        )
        return
    console = Console()
    console.print(claims_table(built.claims))
    console.print(
        f"wrote {escape(str(built.markdown))}, {escape(str(built.html))} and {escape(str(built.claims_json))}",
        highlight=False,
    )
