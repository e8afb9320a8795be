"""``instructmtl plan STUDY_DIR | CONFIG``: how large a study must be, and what one will cost.

Given a pilot study's folder:
The pilot's variance components give each claim's MDE (and 95% half-width) for any
number of held-out tasks, seeds and eval instances per cell; its measured job times
give the wall time of that design on the same machine. Targets are per claim, in the
claim's own unit: ``--mde 1=0.05`` (minimum detectable effect at 80% power) or
``--half-width 1.nll=0.15``; without any, the default study's precision aims are used.
``--tasks/--seeds/--instances`` evaluate one design instead of searching.

Given a preset name or YAML instead (no study yet): per stage, the tokens, FLOPs, peak
memory per job, whether each job fits, and the wall time on a device class — the 2-core
CPU fitted on measured studies (``bench/cost_model.py``), or a GPU given by
``--gpu-tflops`` (peak bf16) and ``--gpu-memory``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from instructmtl.analysis.cost_model import gpu_device, shipped_cpu_device
from instructmtl.analysis.planning import (
    DEFAULT_AIMS,
    MIN_SEEDS,
    DesignCost,
    Target,
    candidate_designs,
    cheapest_design,
    cost_of,
)
from instructmtl.analysis.variance import Design
from instructmtl.errors import ConfigError
from instructmtl.report.planning import Pilot, read_pilot
from instructmtl.study.config import load_study_config
from instructmtl.study.cost import estimate_config


def _targets(mde: list[str], half_width: list[str]) -> list[Target]:
    targets = []
    for measure, items in (("mde", mde), ("half-width", half_width)):
        for item in items:
            claim, sep, value = item.partition("=")
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not sep or not claim or not math.isfinite(number) or number <= 0:
                raise ConfigError(f"--{measure} {item!r}: give CLAIM=VALUE with a positive number, e.g. 1=0.05")
            targets.append(Target(claim, measure, number))
    return targets


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "unreachable"
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _design(d: Design) -> str:
    return f"{d.tasks} tasks × {d.seeds} seeds × {d.instances:.0f} instances"


def _claims_table(pilot: Pilot, design: Design, title: str) -> Table:
    table = Table(title=title)
    for header in ("claim", "kind", "MDE", "95% half-width", "variance of the mean by source"):
        table.add_column(header, overflow="fold")
    for p in pilot.precisions:
        shares = p.components.shares() if p.components is not None and p.components.defined else {}
        parts = ", ".join(f"{k} {v:.0%}" for k, v in shares.items() if math.isfinite(v))
        if p.kind == "point correlation":
            parts = "points are arms × checkpoints: tasks do not size it"
        elif p.kind == "task correlation" and p.ceiling is not None:
            parts = f"reliability ceiling on r {p.ceiling:.2f}"
        table.add_row(p.claim_id, p.kind, _fmt(p.mde(design)), _fmt(p.half_width(design)), parts)
    return table


def _sized(target: Target, pilot: Pilot, designs: list[Design]) -> DesignCost | None:
    return cheapest_design([target], pilot.precisions, pilot.costs, designs)


def plan(
    target: Annotated[
        str,
        typer.Argument(
            help="A pilot study's folder (holds results.sqlite), or a preset / YAML to price before it runs."
        ),
    ],
    mde: Annotated[list[str] | None, typer.Option(help="Target MDE, CLAIM=VALUE (repeat).")] = None,
    half_width: Annotated[list[str] | None, typer.Option(help="Target 95% half-width, CLAIM=VALUE (repeat).")] = None,
    tasks: Annotated[int | None, typer.Option(min=2, help="Evaluate this many held-out tasks.")] = None,
    seeds: Annotated[int | None, typer.Option(min=1, help="Evaluate this many seeds.")] = None,
    instances: Annotated[int | None, typer.Option(min=1, help="Evaluate this many eval instances per cell.")] = None,
    max_tasks: Annotated[int, typer.Option(min=10, help="Largest held-out task count to search.")] = 200,
    study: Annotated[str | None, typer.Option(help="Study id, when the store holds several.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override when pricing a CONFIG.")] = None,
    gpu_tflops: Annotated[
        float | None,
        typer.Option(min=0.1, help="Price a CONFIG on a GPU of this peak bf16 TFLOP/s (e.g. 989 for an H100)."),
    ] = None,
    gpu_memory: Annotated[float, typer.Option(min=1, help="That GPU's memory in GiB.")] = 80.0,
) -> None:
    """Size a study from a pilot (claims' MDEs, cheapest design), or price a config before it runs."""
    if not Path(target).is_dir():
        price_config(target, set_ or [], gpu_tflops, gpu_memory, as_json)
        return
    study_dir = Path(target)
    pilot = read_pilot(study_dir, study)
    targets = _targets(mde or [], half_width or []) or list(DEFAULT_AIMS)
    known = {p.claim_id for p in pilot.precisions}
    unknown = [t.claim_id for t in targets if t.claim_id not in known]
    if unknown:
        raise ConfigError(f"claim '{unknown[0]}' is not one this pilot can size; claims: {', '.join(sorted(known))}")
    designs = candidate_designs(pilot.design, max_tasks=max_tasks)
    asked = None
    if tasks is not None or seeds is not None or instances is not None:
        d = pilot.design
        asked = Design(tasks or d.tasks, seeds or d.seeds, float(instances) if instances else d.instances)
    per_target = [(t, _sized(t, pilot, designs)) for t in targets]
    overall = cheapest_design(targets, pilot.precisions, pilot.costs, designs)
    if as_json:
        typer.echo(json.dumps(_as_json(pilot, targets, per_target, overall, asked), allow_nan=False, default=str))
        return
    console = Console()
    console.print(
        f"pilot {pilot.study_id}: {_design(pilot.design)}; measured "
        f"{_minutes(pilot.measured_wall_seconds['total'])} of job time over {pilot.costs.workers} workers "
        f"(tune {_minutes(pilot.measured_wall_seconds['tune'])}, eval "
        f"{_minutes(pilot.measured_wall_seconds['eval'])}, transfer "
        f"{_minutes(pilot.measured_wall_seconds['transfer'])})"
    )
    console.print(_claims_table(pilot, pilot.design, "Claims at the pilot's design (a property of the design)"))
    if pilot.design.seeds < MIN_SEEDS:
        console.print(
            f"[yellow]the pilot has {pilot.design.seeds} seed(s): its seed component rests on "
            f"{max(pilot.design.seeds - 1, 0)} degree(s) of freedom; a pilot with {MIN_SEEDS}+ seeds "
            "sizes seeds reliably[/yellow]"
        )
    if asked is not None:
        cost = cost_of(asked, pilot.precisions, pilot.costs)
        console.print(_claims_table(pilot, asked, f"At {_design(asked)}: about {_minutes(cost.wall_seconds)}"))
    sized = Table(
        title=f"Smallest design per target (searched: up to {max_tasks} tasks, {MIN_SEEDS}-10 seeds, 1-4× instances)"
    )
    for header in ("claim", "target", "design", "wall time"):
        sized.add_column(header, overflow="fold")
    for aim, found in per_target:
        sized.add_row(
            aim.claim_id,
            f"{aim.measure} ≤ {aim.value:g}",
            _design(found.design) if found else "none searched reaches it",
            _minutes(found.wall_seconds) if found else "",
        )
    console.print(sized)
    if overall is not None:
        console.print(
            f"every target: {_design(overall.design)}, about {_minutes(overall.wall_seconds)} on this "
            "machine (transfer scoring's growth with instances is not modelled)"
        )
    else:
        console.print("no searched design meets every target; raise --max-tasks or relax a target")


def price_config(
    config_name: str, overrides: list[str], gpu_tflops: float | None, gpu_memory: float, as_json: bool
) -> None:
    """Prints the cost estimate of a preset or YAML on the 2-core CPU or the GPU given."""
    config = load_study_config(config_name, overrides)
    device = gpu_device(gpu_tflops, gpu_memory) if gpu_tflops is not None else shipped_cpu_device()
    estimate = estimate_config(config, device)
    totals = estimate.stage_totals()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "config": config.name,
                    "device": device.as_dict(),
                    "workers": estimate.workers,
                    "stages": totals,
                    "wall_seconds": estimate.wall_seconds,
                    "warning": estimate.extrapolation,
                },
                allow_nan=False,
            )
        )
        return
    console = Console()
    console.print(
        f"{config.name} on {device.name} ({device.basis}); {estimate.workers} job(s) at a time, "
        f"{device.memory_gib / estimate.workers:.0f} GiB each"
    )
    table = Table(title="Estimated cost per stage")
    for header in ("stage", "jobs", "tokens", "TFLOPs", "peak GiB / job", "fits", "job time"):
        table.add_column(header, justify="right" if header != "stage" else "left")
    for stage, row in totals.items():
        table.add_row(
            stage,
            f"{row['jobs']:.0f}",
            f"{row['tokens'] / 1e6:.1f}M",
            f"{row['flops'] / 1e12:.1f}",
            f"{row['peak_memory_gib']:.2f}",
            "yes" if row["fits"] else "[red]no[/red]",
            _minutes(row["job_seconds"]),
        )
    console.print(table)
    console.print(f"wall time about {_minutes(estimate.wall_seconds)} (jobs scheduled in dependency order)")
    if estimate.extrapolation:
        console.print(f"[yellow]{estimate.extrapolation}[/yellow]")
    if not all(row["fits"] for row in totals.values()):
        console.print(
            "[red]some jobs do not fit in memory: lower micro_batch_size / max_length, use LoRA, or fewer workers[/red]"
        )


def _as_json(
    pilot: Pilot,
    targets: list[Target],
    per_target: list[tuple[Target, DesignCost | None]],
    overall: DesignCost | None,
    asked: Design | None,
) -> dict[str, object]:
    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None

    def cost(c: DesignCost | None) -> dict[str, object] | None:
        if c is None:
            return None
        return {
            "design": vars(c.design),
            "wall_seconds": c.wall_seconds,
            "mde": {k: finite(v) for k, v in c.mde.items()},
        }

    return {
        "pilot": {
            "study_id": pilot.study_id,
            "design": vars(pilot.design),
            "wall_seconds": pilot.measured_wall_seconds,
            "workers": pilot.costs.workers,
        },
        "claims": [
            {
                "id": p.claim_id,
                "kind": p.kind,
                "mde": finite(p.mde(pilot.design)),
                "half_width": finite(p.half_width(pilot.design)),
                "components": (
                    {
                        k: finite(v) if isinstance(v, float) else v
                        for k, v in vars(p.components).items()
                        if k != "design"
                    }
                    if p.components is not None
                    else None
                ),
            }
            for p in pilot.precisions
        ],
        "targets": [
            {"claim": t.claim_id, "measure": t.measure, "value": t.value, "design": cost(found)}
            for t, found in per_target
        ],
        "overall": cost(overall),
        "asked": cost(cost_of(asked, pilot.precisions, pilot.costs)) if asked is not None else None,
    }
