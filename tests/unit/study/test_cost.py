"""Counting a study's work from its config (``instructmtl plan CONFIG``), on the smoke preset."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from instructmtl.analysis.cost_model import shipped_cpu_device
from instructmtl.cli import app
from instructmtl.errors import ConfigError
from instructmtl.study.config import load_study_config
from instructmtl.study.cost import estimate_config, planning_base, study_work

runner = CliRunner()


def _work(*overrides: str):
    config = load_study_config("smoke", list(overrides))
    return config, *study_work(config, planning_base(config))


def _by_stage(works, stage: str):
    return [w for w in works if w.stage == stage]


def test_jobs_match_the_study_graph() -> None:
    config, _, works = _work()
    checkpoints = len(config.tune.checkpoints)
    per_seed = len(config.arms) * checkpoints + 1  # every tuned checkpoint and the base
    assert len(_by_stage(works, "tune")) == len(config.arms) * len(config.seeds)
    assert len(_by_stage(works, "eval")) == per_seed * len(config.seeds)
    assert len(_by_stage(works, "transfer")) == per_seed * len(config.seeds)
    assert all(w.deps for w in works if w.stage != "tune" and "base" not in w.job_id)


def test_counts_scale_with_what_the_config_sets() -> None:
    _, shape, works = _work()
    _, _, more_steps = _work("tune.steps=60")
    _, _, more_repeats = _work("transfer.repeats=4")
    tune, tune2 = _by_stage(works, "tune")[0], _by_stage(more_steps, "tune")[0]
    assert tune2.trained_tokens == pytest.approx(2 * tune.trained_tokens)
    assert _by_stage(more_steps, "eval")[0].forward_tokens == _by_stage(works, "eval")[0].forward_tokens
    base = _by_stage(works, "transfer")[0]
    repeats = load_study_config("smoke").transfer.repeats
    assert _by_stage(more_repeats, "transfer")[0].trained_tokens == pytest.approx(base.trained_tokens * 4 / repeats)
    assert shape.params > 1_000_000 and shape.vocab == 1024


def test_replay_adds_its_blocks_on_top() -> None:
    config, _, works = _work()
    plain = next(w for w in _by_stage(works, "tune") if "replay" not in w.job_id)
    replay_arm = next((a for a in config.arms if a.replay.ratio > 0), None)
    if replay_arm is None:
        pytest.skip("the smoke preset has no replay arm")
    replay = next(w for w in _by_stage(works, "tune") if replay_arm.name in w.job_id)
    extra = config.tune.steps * config.tune.batch_size * replay_arm.replay.ratio * replay_arm.replay.block_len
    assert replay.trained_tokens == pytest.approx(plain.trained_tokens + extra)


def test_plan_config_prints_every_stage_and_a_wall_time() -> None:
    result = runner.invoke(app, ["plan", "smoke", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert set(data["stages"]) == {"tune", "eval", "transfer"}
    assert all(stage["fits"] == 1.0 and stage["flops"] > 0 for stage in data["stages"].values())
    jobs_seconds = sum(stage["job_seconds"] for stage in data["stages"].values())
    # two workers: the wall time lies between perfect packing and running one at a time
    assert jobs_seconds / 2 <= data["wall_seconds"] <= jobs_seconds
    gpu = json.loads(runner.invoke(app, ["plan", "smoke", "--json", "--gpu-tflops", "100"]).output.splitlines()[-1])
    assert gpu["workers"] == 1 and gpu["device"]["name"].startswith("gpu-100")


def test_the_estimate_uses_the_shipped_fit() -> None:
    config = load_study_config("smoke")
    estimate = estimate_config(config, shipped_cpu_device())
    assert estimate.device.basis.startswith("fitted on")
    assert estimate.wall_seconds > 0


def test_an_unreadable_base_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = load_study_config("smoke", ["base.name_or_path=no-such-org/no-such-model"])
    with pytest.raises(ConfigError, match="cannot read its config") as err:
        estimate_config(config, shipped_cpu_device())
    assert "\n" not in str(err.value)


def test_a_builtin_base_that_is_not_shipped_is_not_pretrained_to_price_it() -> None:
    config = load_study_config("smoke", ["base.name_or_path=builtin:micro"])
    with pytest.raises(ConfigError, match="instructmtl pretrain --preset micro"):
        planning_base(config)
