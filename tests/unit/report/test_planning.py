"""`instructmtl plan` on a pilot store whose variance components are known by construction.

The pilot: 30 held-out tasks, 3 seeds, 24 eval instances per cell, scored on two halves.
Transfer of the baseline's final checkpoint per (task, seed) is
``mu + task + seed + task×seed`` plus eval-instance noise, variances 0.01, 0.002, 0.0009
and 0.0016 (full cell; each half has twice that). Job times: tune 100 s, eval 10 s,
transfer 50 s per job, 2 workers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from instructmtl.analysis.variance import Design, t_quantile
from instructmtl.cli import app
from instructmtl.errors import InstructMTLError
from instructmtl.report.planning import read_pilot
from instructmtl.results.records import CheckpointRecord, RunRecord, ScoreRow, StudyRecord
from instructmtl.results.store import ResultsStore, results_path

TASK, SEED, INTERACTION, WITHIN = 0.01, 0.002, 0.0009, 0.0016
TASKS, SEEDS, INSTANCES = 30, 3, 24
CONFIG = "name: pilot\narms:\n  - name: baseline\n  - name: other\nexecutor: {kind: local, workers: 2}\n"
runner = CliRunner()


def _score(arm: str, seed: int, step: int, task: str, k: int, value: float, subset: str) -> ScoreRow:
    return ScoreRow(
        study_id="pilot",
        checkpoint_id=f"{arm}-s{seed}-{step}",
        arm=arm,
        seed=seed,
        step=step,
        task=task,
        task_role="held_out",
        measure="finetune",
        encoding="id",
        k=k,
        metric="rouge_l",
        value=value,
        n_instances=INSTANCES // 2 if subset else INSTANCES,
        subset=subset,
    )


@pytest.fixture(scope="module")
def pilot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("pilot")
    base = rng.uniform(0.3, 0.6, TASKS)
    transfer = (
        -0.05
        + rng.normal(0, math.sqrt(TASK), (TASKS, 1))
        + rng.normal(0, math.sqrt(SEED), (1, SEEDS))
        + rng.normal(0, math.sqrt(INTERACTION), (TASKS, SEEDS))
    )
    with ResultsStore.open(results_path(folder)) as store:
        store.record_study(StudyRecord("pilot", "pilot", CONFIG, "hash", {"numpy": np.__version__}))
        for arm, step, stage, seconds in (("base", 0, "eval", 10.0), ("baseline", 40, "tune", 100.0)):
            for seed in range(SEEDS):
                store.record_run(
                    RunRecord(
                        f"{arm}-s{seed}",
                        "pilot",
                        arm,
                        seed,
                        "base" if step == 0 else "tune",
                        "done",
                        seconds=seconds,
                        examples_seen=1,
                    )
                )
                store.record_checkpoint(
                    CheckpointRecord(
                        f"{arm}-s{seed}-{step}", f"{arm}-s{seed}", arm, seed, step, step / 40, "/nowhere", 0
                    )
                )
                rows = []
                for t in range(TASKS):
                    halves = [
                        base[t] + (0.0 if step == 0 else transfer[t, seed] + rng.normal(0, math.sqrt(2 * WITHIN)))
                        for _ in "ab"
                    ]
                    for k in (0, 16):
                        rows += [
                            _score(arm, seed, step, f"task{t:02d}", k, v, s)
                            for v, s in ((np.mean(halves), ""), (halves[0], "a"), (halves[1], "b"))
                        ]
                job = f"transfer|{arm}-s{seed}"
                assert store.claim_job(job, "transfer", "test")
                store.complete_job(job, rows, seconds=50.0)
                for stage_job, stage_seconds in ((f"{stage}|{arm}-s{seed}", seconds),):
                    assert store.claim_job(stage_job, stage, "test")
                    store.complete_job(stage_job, [], seconds=stage_seconds)
    return folder


def test_components_match_the_construction_within_their_sampling_error(pilot_dir: Path) -> None:
    pilot = read_pilot(pilot_dir)
    assert pilot.design == Design(TASKS, SEEDS, INSTANCES)
    claim1 = next(p for p in pilot.precisions if p.claim_id == "1").components
    assert claim1 is not None and claim1.within_known
    # standard errors of the ANOVA estimates at 30 tasks x 3 seeds: task ~ sqrt(2/29) (0.01 + 0.0025/3) ≈ 0.0028;
    # residual mean square ~ sqrt(2/58) * 0.0025 ≈ 0.0005; within from 90 half-pairs ~ 0.0016 * sqrt(2/90) ≈ 0.0002
    assert claim1.task == pytest.approx(TASK, abs=3 * 0.0028)
    assert claim1.residual == pytest.approx(INTERACTION + WITHIN, abs=3 * 0.0005)
    assert claim1.within == pytest.approx(WITHIN, abs=3 * 0.0003)
    assert claim1.seed >= 0.0  # 2 degrees of freedom: no tighter statement holds for one pilot


def test_plan_is_the_closed_form_of_its_components(pilot_dir: Path) -> None:
    pilot = read_pilot(pilot_dir)
    claim1 = next(p for p in pilot.precisions if p.claim_id == "1")
    c = claim1.components
    assert c is not None
    design = Design(60, 5, 48)
    variance = c.task / 60 + c.seed / 5 + (c.interaction + c.within * INSTANCES / 48) / (60 * 5)
    df = c.dof(design)
    assert claim1.mde(design) == pytest.approx((t_quantile(0.975, df) + t_quantile(0.8, df)) * math.sqrt(variance))
    # measured: 3 tune jobs (300 s), 3 eval (30 s), 6 transfer (300 s), over 2 workers
    assert pilot.measured_wall_seconds == {"tune": 150.0, "eval": 15.0, "transfer": 150.0, "total": 315.0}
    wall = pilot.costs.wall_seconds(Design(60, 6, 48))  # 2x tasks, 2x seeds, 2x instances
    assert wall == {"tune": 300.0, "eval": 120.0, "transfer": 600.0, "total": 1020.0}


def test_plan_command_finds_the_cheapest_design_meeting_the_target(pilot_dir: Path) -> None:
    pilot = read_pilot(pilot_dir)
    claim1 = next(p for p in pilot.precisions if p.claim_id == "1")
    target = claim1.mde(pilot.design) / 2  # half the pilot's MDE
    result = runner.invoke(app, ["plan", str(pilot_dir), "--mde", f"1={target}", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    found = data["targets"][0]["design"]
    assert found["mde"]["1"] <= target
    chosen = Design(**found["design"])
    assert chosen.tasks > TASKS or chosen.seeds > SEEDS or chosen.instances > INSTANCES
    # nothing cheaper in the searched grid meets it
    from instructmtl.analysis.planning import candidate_designs

    for design in candidate_designs(pilot.design, max_tasks=200):
        if pilot.costs.wall_seconds(design)["total"] < found["wall_seconds"]:
            assert claim1.mde(design) > target
    text = runner.invoke(app, ["plan", str(pilot_dir), "--tasks", "60", "--seeds", "4"])
    assert text.exit_code == 0 and "At 60 tasks × 4 seeds × 24 instances" in text.stdout


def test_plan_refuses_what_it_cannot_size(pilot_dir: Path, tmp_path: Path) -> None:
    # user errors are InstructMTLError: the CLI's entry point prints them as one line (exit status 2)
    for args, words in (
        (["plan", str(tmp_path)], "no results store"),
        (["plan", str(tmp_path / "default.yaml")], "neither a preset"),
        (["plan", str(pilot_dir), "--mde", "9=0.1"], "claim '9'"),
        (["plan", str(pilot_dir), "--mde", "1=-3"], "CLAIM=VALUE"),
    ):
        result = runner.invoke(app, args)
        assert isinstance(result.exception, InstructMTLError) and words in str(result.exception)
        assert "\n" not in str(result.exception)
