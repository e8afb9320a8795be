"""Wall time of the default study (`instructmtl run`) on this machine, and where the time goes.

Runs the default preset in fresh output directories, each as its own
`instructmtl run` process, as a user would:

* *cold*: a fresh, empty cache directory (``INSTRUCTMTL_CACHE``) and output
  directory, as the first run after `pip install`. The base model comes from
  the copy shipped in the package (nothing is pretrained, nothing is written
  to the cache), so cold differs from warm only by first-time costs outside
  the study: files not yet in the OS page cache, first imports.
* *warm*: the same cache again and a new output directory: the figure the
  issue asks to keep under 10 minutes on 2 cores.

Per run it reports the wall time of the whole command (process start,
imports, worker spawn and the report included), the runner's per-stage wall
seconds (``stage_seconds``: time between job completions attributed to the
stage of the job that completed, plus pretrain and report), and the summed
*job* seconds per stage read from the results store (``jobs.seconds``: what
each job took inside its worker), with job counts. Summed job seconds over
wall time shows how well the workers were kept busy. There is no peer tool to
compare with; the machine's load average is recorded because the cores are
shared.

Usage: python bench/default_study.py [--runs cold warm] [--set key=value ...]
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, load_average, log  # noqa: E402


def job_seconds(out: Path) -> dict[str, dict[str, float]]:
    """Per stage: the number of done jobs and their summed and largest seconds, from the store."""
    with sqlite3.connect(out / "results.sqlite") as conn:
        rows = conn.execute(
            "SELECT stage, COUNT(*), SUM(seconds), MAX(seconds) FROM jobs WHERE status = 'done' GROUP BY stage"
        ).fetchall()
    return {
        stage: {"jobs": n, "sum_s": round(total or 0.0, 1), "max_s": round(top or 0.0, 1)}
        for stage, n, total, top in rows
    }


def run_once(out: Path, cache: Path, overrides: list[str]) -> dict:
    """One `instructmtl run` process on a fresh output directory."""
    command = [sys.executable, "-m", "instructmtl", "run", "--out", str(out), "--json"]
    for item in overrides:
        command += ["--set", item]
    env = {**os.environ, "INSTRUCTMTL_CACHE": str(cache)}
    load_before = load_average()[0]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"instructmtl run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stages = result["stage_seconds"]
    return {
        "wall_s": round(seconds, 1),
        "stage_wall_s": stages,
        "jobs_run": result["jobs_run"],
        # process start, imports and config: the part of the wall time no stage accounts for
        "outside_stages_s": round(seconds - sum(stages.values()), 1),
        "job_seconds": job_seconds(out),
        "load_average": [round(load_before, 2), round(load_average()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=("cold", "warm"),
        default=["cold", "warm"],
        help="which runs, in order (default: both)",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="study config override")
    args = parser.parse_args()
    record: dict = {"bench": "default_study", "cpus": os.cpu_count(), "overrides": args.overrides}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in args.runs:
            record[name] = run_once(root / name, root / "cache", args.overrides)
            log(f"{name}: {json.dumps(record[name])}")
    emit(record)


if __name__ == "__main__":
    main()
