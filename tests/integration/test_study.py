"""A whole (micro) study end to end: it is resumable after SIGKILL with exactly the uninterrupted results."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

MICRO = Path(__file__).resolve().parents[1] / "fixtures" / "studies" / "micro.yaml"
SCORE_KEY = "checkpoint_id, task, measure, encoding, k, metric, subset"


def command(out: Path, model: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "instructmtl",
        "run",
        str(MICRO),
        "--out",
        str(out),
        "--set",
        f"base.name_or_path={model}",
        "--json",
    ]


def environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def scores(out: Path) -> dict[tuple, float]:
    with sqlite3.connect(out / "results.sqlite") as conn:
        rows = conn.execute(f"SELECT {SCORE_KEY}, value FROM scores").fetchall()
    table = {tuple(row[:-1]): row[-1] for row in rows}
    assert len(table) == len(rows)  # nothing counted twice
    return table


def done_jobs(out: Path) -> int:
    try:
        with sqlite3.connect(out / "results.sqlite", timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM jobs WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def uninterrupted(tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("study") / "whole"
    done = subprocess.run(command(out, tiny_lm_dir), env=environment(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(summary["report_html"]).is_file()
    return out


def test_study_writes_every_measure_and_a_report(uninterrupted: Path) -> None:
    table = scores(uninterrupted)
    measures = {key[2] for key in table}
    assert measures == {"icl", "mtl_gen", "mtl_fit", "finetune"}
    checkpoints = {key[0] for key in table}
    # base + 2 arms × 2 checkpoints, one seed
    assert checkpoints == {
        "base-seed0",
        *(f"{arm}-seed0-step{s}" for arm in ("proportional", "proportional-replay") for s in (2, 4)),
    }
    html = (uninterrupted / "report.html").read_text()
    assert "data:image/png;base64," in html and "Claims" in html


def test_killed_study_resumes_to_exactly_the_uninterrupted_results(
    uninterrupted: Path, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    process = subprocess.Popen(
        command(out, tiny_lm_dir), env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 600
    while done_jobs(out) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "the study ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = done_jobs(out)
    assert 3 <= partial < 12  # killed midway: 12 jobs in all

    rerun = subprocess.run(command(out, tiny_lm_dir), env=environment(), capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["jobs_skipped"] >= partial
    assert scores(out) == scores(uninterrupted)


def test_claims_are_recomputed_from_the_csv_export(uninterrupted: Path, tmp_path: Path) -> None:
    import numpy as np

    from instructmtl.analysis import ResultTable, evaluate_claims, records_from_rows
    from instructmtl.results.store import ResultsStore

    csv_path = tmp_path / "scores.csv"
    done = subprocess.run(
        [sys.executable, "-m", "instructmtl", "export", str(uninterrupted), "--format", "csv", "--out", str(csv_path)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with csv_path.open(newline="", encoding="utf-8") as handle:
        from_csv = records_from_rows(list(csv.DictReader(handle)), "csv")
    with ResultsStore.open(uninterrupted / "results.sqlite") as store:
        from_store = records_from_rows(store.scores_frame(), "store")

    def claims(records: list) -> list[dict]:
        table = ResultTable(records)
        found = evaluate_claims(
            table,
            baseline_arm="proportional",
            replay_arms=["proportional-replay"],
            rng=np.random.default_rng(0),
            n_resamples=200,
        )
        return [c.to_json() for c in found]

    assert len(from_csv) == len(scores(uninterrupted))
    assert json.dumps(claims(from_csv), sort_keys=True) == json.dumps(claims(from_store), sort_keys=True)


def test_ray_executor_with_two_workers_gives_the_same_results(
    uninterrupted: Path, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    cmd = [*command(out, tiny_lm_dir), "--set", "executor.kind=ray", "--set", "executor.workers=2"]
    env = {**environment(), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(out / "results.sqlite") as conn:
        workers = {row[0].rsplit(":", 1)[0] for row in conn.execute("SELECT worker FROM jobs")}
        pids = {row[0] for row in conn.execute("SELECT worker FROM jobs")}
    assert len(workers) == 1 and len(pids) >= 2  # one host, several worker processes
    ray_scores, local = scores(out), scores(uninterrupted)
    assert ray_scores.keys() == local.keys()
    # Ray workers run one torch thread each; float sums may then round differently in the last bits
    assert all(abs(ray_scores[k] - local[k]) <= 1e-6 * max(1.0, abs(local[k])) for k in local)


def test_two_local_workers_give_the_same_results_and_the_runner_is_one_of_them(
    uninterrupted: Path, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two-workers"
    process = subprocess.Popen(
        [*command(out, tiny_lm_dir), "--set", "executor.workers=2"],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr[-3000:]
    with sqlite3.connect(out / "results.sqlite") as conn:
        pids = {int(row[0].rsplit(":", 1)[1]) for row in conn.execute("SELECT worker FROM jobs")}
        statuses = {row[0] for row in conn.execute("SELECT status FROM jobs")}
    # the runner process ran jobs itself (in a thread) next to one spawned worker process
    assert process.pid in pids and len(pids) == 2 and statuses == {"done"}
    two, one = scores(out), scores(uninterrupted)
    assert two.keys() == one.keys()
    # both sides run one torch thread per worker, so the numbers are the same to float rounding
    assert all(abs(two[k] - one[k]) <= 1e-6 * max(1.0, abs(one[k])) for k in one)


def test_plan_sizes_a_study_from_a_real_pilot(uninterrupted: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "instructmtl", "plan", str(uninterrupted), "--mde", "1=0.05", "--json"],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    plan = json.loads(done.stdout)
    assert plan["pilot"]["design"]["tasks"] == 2 and plan["pilot"]["design"]["seeds"] == 1
    with sqlite3.connect(uninterrupted / "results.sqlite") as conn:
        measured = conn.execute("SELECT SUM(seconds) FROM jobs WHERE status = 'done'").fetchone()[0]
    # the pilot's own design costs what its jobs took, over its one worker
    assert plan["pilot"]["wall_seconds"]["total"] == pytest.approx(measured)
    ids = [c["id"] for c in plan["claims"]]
    assert ids[:2] == ["1", "1.nll"] and "4.transfer.proportional-replay" in ids
    target = plan["targets"][0]
    assert target["claim"] == "1" and (target["design"] is None or target["design"]["mde"]["1"] <= 0.05)
