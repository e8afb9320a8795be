"""Fits the CPU cost model of ``instructmtl plan CONFIG`` on finished studies and checks it on others.

Why: a researcher decides a study's size before running it. ``plan CONFIG`` prices every
job from counted tokens (FLOPs, memory) and a per-stage rate of the device class; on a
CPU those rates are fitted here, on measured job times of finished studies (pilots), and
the fit is judged on a study it was *not* fitted on: the estimate of each stage's summed
job seconds and of the whole study's wall time against what that study measured.

Each store's own config (kept in its ``studies`` table) is re-counted with the current
code, and paired with its jobs' measured seconds. The fitted rates are written to the
package (``instructmtl/assets/cost/cpu-2core.json``) with ``--write``, which is what
``plan CONFIG`` reads.

Usage:
    python bench/cost_model.py --fit /tmp/stab/seeds-a /tmp/smolpilot --check /tmp/smoke1 [--write]

Ends with one JSON line: per checked study, predicted / measured per stage and for the wall time.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from instructmtl.analysis.cost_model import (
    STAGES,
    Measured,
    estimate_study,
    fit_device,
    flops,
    shipped_device_path,
)
from instructmtl.study.config import load_study_config
from instructmtl.study.cost import study_work
from instructmtl.study.runner import resolve_base

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402


def _read_store(folder: Path) -> tuple[str, list[tuple[str, str, float, str, str]]]:
    con = sqlite3.connect(f"file:{folder / 'results.sqlite'}?mode=ro", uri=True)
    try:
        config_yaml = con.execute("SELECT config_yaml FROM studies ORDER BY created_at LIMIT 1").fetchone()[0]
        jobs = con.execute(
            "SELECT job_id, stage, seconds, started_at, finished_at FROM jobs "
            "WHERE status = 'done' AND seconds IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return config_yaml, jobs


def _counted(folder: Path):
    config_yaml, jobs = _read_store(folder)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(config_yaml)
    config = load_study_config(handle.name)
    shape, works = study_work(config, resolve_base(config))
    return config, shape, works, jobs


def _wall(jobs) -> float:
    starts = [datetime.fromisoformat(j[3]) for j in jobs if j[3]]
    ends = [datetime.fromisoformat(j[4]) for j in jobs if j[4]]
    return (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", nargs="+", type=Path, required=True, help="finished study folders to fit on")
    parser.add_argument("--check", nargs="*", type=Path, default=[], help="finished study folders to check on")
    parser.add_argument("--memory-gib", type=float, default=24.0, help="memory of the machine")
    parser.add_argument("--write", action="store_true", help="write the fit into the package")
    args = parser.parse_args()

    samples: list[Measured] = []
    fitted_on = []
    for folder in args.fit:
        config, shape, works, jobs = _counted(folder)
        fitted_on.append(f"{folder.name} ({config.name} study, {shape.params / 1e6:.1f}M-parameter model)")
        by_id = {w.job_id: w for w in works}
        for job_id, stage, seconds, _, _ in jobs:
            if job_id in by_id:
                samples.append(
                    Measured(stage, flops(by_id[job_id], shape), float(seconds), by_id[job_id].tokens, shape.params)
                )
        print(f"fit on {folder}: {len(jobs)} jobs, {shape.params / 1e6:.1f}M parameters", file=sys.stderr)
    basis = "fitted on measured job times of " + ", ".join(fitted_on)
    device = fit_device("cpu-2core", args.memory_gib, samples, basis)
    for stage, rate in device.rates.items():
        print(
            f"  {stage:8s} overhead {rate.overhead_seconds:6.1f} s, {rate.flops_per_second / 1e9:6.2f} GFLOP/s, "
            f"{rate.seconds_per_token * 1e6:6.1f} us per token",
            file=sys.stderr,
        )

    checks = {}
    for folder in args.check:
        config, shape, works, jobs = _counted(folder)
        estimate = estimate_study(works, shape, device, config.executor.workers)
        measured_stage = {s: sum(float(j[2]) for j in jobs if j[1] == s) for s in STAGES}
        predicted_stage = {s: v["job_seconds"] for s, v in estimate.stage_totals().items()}
        measured_wall = _wall(jobs)
        row = {
            s: {
                "predicted": predicted_stage[s],
                "measured": measured_stage[s],
                "ratio": predicted_stage[s] / measured_stage[s] if measured_stage[s] else None,
            }
            for s in STAGES
        }
        row["wall"] = {
            "predicted": estimate.wall_seconds,
            "measured": measured_wall,
            "ratio": estimate.wall_seconds / measured_wall,
        }
        checks[folder.name] = row
        print(
            f"check {folder}: wall predicted {estimate.wall_seconds:.0f} s, measured {measured_wall:.0f} s "
            f"(ratio {row['wall']['ratio']:.2f}); "
            + ", ".join(f"{s} {row[s]['ratio']:.2f}" for s in STAGES if row[s]["ratio"] is not None),
            file=sys.stderr,
        )
    if args.write:
        path = shipped_device_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(device.as_dict(), indent=2) + "\n")
        print(f"wrote {path}", file=sys.stderr)
    emit({"bench": "cost_model", "device": device.as_dict(), "checks": checks})


if __name__ == "__main__":
    main()
