"""End-to-end instruction-tuning runs on a tiny random Llama: every strategy does what it says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from fixtures.tune_configs import small_tune_config
from instructmtl.errors import InstructMTLError, TrainingDivergedError
from instructmtl.training.config import TuneConfig
from instructmtl.workflows import tune

pytestmark = pytest.mark.slow


def make_config(model_dir: Path, **overrides: Any) -> TuneConfig:
    return TuneConfig.model_validate(
        small_tune_config(model_dir, **{"checkpoints": [0.5, 1.0], "state_every": 1, **overrides})
    )


def log_rows(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def final_weights(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "checkpoints" / f"step-{step:06d}" / "model.safetensors"))


def test_plain_run_checkpoints_records_counts_and_learns(tiny_lm_dir: Path, tmp_path: Path) -> None:
    config = make_config(tiny_lm_dir, steps=8)
    result = tune.main(config, tmp_path / "run", progress=False)
    assert sorted(result.checkpoints) == [4, 8]
    assert result.examples_seen == 8 * 8 == sum(result.task_counts.values())
    meta = json.loads((result.checkpoints[8] / "instructmtl_checkpoint.json").read_text())["metadata"]
    assert meta["step"] == 8 and meta["examples_seen"] == 64
    rows = log_rows(tmp_path / "run")
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert rows[-1]["loss"] < rows[0]["loss"] - 0.2
    assert 0.0 <= result.padding_fraction < 0.25
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["task_counts"] == result.task_counts


# EWC with replay: the saved state holds no anchor and no sampler state; the anchor is made again
# from the base model and the seeded corpus batches, the data position is the task counts
RESUMED_ARMS = {
    "plain": {"name": "arm"},
    "ewc_replay": {
        "name": "ewc",
        "regularizer": {"name": "ewc", "lam": 10.0, "fisher_batches": 2},
        "replay": {"ratio": 0.25, "block_len": 32},
    },
}


@pytest.mark.parametrize("arm", RESUMED_ARMS.values(), ids=RESUMED_ARMS.keys())
def test_killed_run_resumes_to_identical_weights(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arm: dict[str, Any]
) -> None:
    config = make_config(tiny_lm_dir, arm=arm, steps=6, checkpoints=[1.0], state_every=2)
    tune.main(config, tmp_path / "whole", progress=False)

    real_save = tune.save_state

    def save_then_die(run_dir, model, optimizer, scheduler, extras, state):  # type: ignore[no-untyped-def]
        path = real_save(run_dir, model, optimizer, scheduler, extras, state)
        if state.step == 4:
            raise KeyboardInterrupt  # the process dies right after its step-4 state is on disk
        return path

    monkeypatch.setattr(tune, "save_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        tune.main(config, tmp_path / "killed", progress=False)
    monkeypatch.setattr(tune, "save_state", real_save)
    tune.main(config, tmp_path / "killed", progress=False)

    whole, resumed = final_weights(tmp_path / "whole", 6), final_weights(tmp_path / "killed", 6)
    assert whole.keys() == resumed.keys()
    for name in whole:
        assert torch.equal(whole[name], resumed[name]), name
    assert log_rows(tmp_path / "killed") == log_rows(tmp_path / "whole")  # penalty and replay loss too


def test_resuming_with_another_config_is_refused(tiny_lm_dir: Path, tmp_path: Path) -> None:
    tune.main(make_config(tiny_lm_dir, steps=2, checkpoints=[1.0]), tmp_path / "run", progress=False)
    with pytest.raises(InstructMTLError, match="another config"):
        tune.main(make_config(tiny_lm_dir, steps=3, checkpoints=[1.0]), tmp_path / "run", progress=False)


def test_homogeneous_batches_are_single_task(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, ...]] = []
    distinct: list[bool] = []
    real_collate = tune.collate

    def spy(examples, pad_id):  # type: ignore[no-untyped-def]
        batch = real_collate(examples, pad_id)
        seen.append(batch.tasks)
        rows = {tuple(ex.input_ids) for ex in examples}
        distinct.append(len(rows) == len(examples))  # a task drawn 4 times gives 4 different examples
        return batch

    monkeypatch.setattr(tune, "collate", spy)
    config = make_config(tiny_lm_dir, arm={"name": "homo", "batching": "homogeneous"}, steps=2, checkpoints=[1.0])
    tune.main(config, tmp_path / "run", progress=False)
    assert len(seen) == 2 * 2  # 8 examples per step in micro-batches of 4
    assert all(len(set(tasks)) == 1 for tasks in seen)
    assert all(distinct)

    seen.clear()
    tune.main(make_config(tiny_lm_dir, steps=2, checkpoints=[1.0]), tmp_path / "mixed", progress=False)
    assert any(len(set(tasks)) > 1 for tasks in seen)


def test_uniform_sampler_records_realised_counts_and_its_probabilities(tiny_lm_dir: Path, tmp_path: Path) -> None:
    config = make_config(tiny_lm_dir, arm={"name": "uni", "sampler": "uniform"}, steps=2, checkpoints=[1.0])
    tune.main(config, tmp_path / "run", progress=False)
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    probs = summary["final_probabilities"]
    assert len(set(round(p, 12) for p in probs.values())) == 1
    assert sum(summary["task_counts"].values()) == summary["examples_seen"] == 16


def test_aggregator_over_categories_logs_gradient_conflict(tiny_lm_dir: Path, tmp_path: Path) -> None:
    arm = {"name": "upgrad", "aggregator": "upgrad", "groups": "category", "groups_per_step": 3}
    tune.main(make_config(tiny_lm_dir, arm=arm, steps=2, checkpoints=[1.0]), tmp_path / "run", progress=False)
    rows = log_rows(tmp_path / "run")
    assert all(r["conflict"]["n_groups"] == 3 for r in rows)
    assert all(-1.0 <= r["conflict"]["mean_pairwise_cosine"] <= 1.0 for r in rows)


def test_replay_and_l2sp_show_their_loss_terms(tiny_lm_dir: Path, tmp_path: Path) -> None:
    arm = {"name": "replay", "replay": {"ratio": 0.25, "block_len": 32}, "regularizer": {"name": "l2sp", "alpha": 0.1}}
    result = tune.main(make_config(tiny_lm_dir, arm=arm, steps=3, checkpoints=[1.0]), tmp_path / "run", progress=False)
    rows = log_rows(tmp_path / "run")
    assert all(r["replay_examples"] == 2 and r["replay_loss"] > 0 for r in rows)
    assert rows[0]["penalty"] == 0.0 and rows[-1]["penalty"] > 0.0
    assert result.examples_seen == 3 * 8  # replay is added on top of the full batch of 8 (mode: add)


def test_replay_in_replace_mode_takes_its_share_of_the_batch(tiny_lm_dir: Path, tmp_path: Path) -> None:
    arm = {"name": "replay", "replay": {"ratio": 0.25, "block_len": 32, "mode": "replace"}}
    result = tune.main(make_config(tiny_lm_dir, arm=arm, steps=2, checkpoints=[1.0]), tmp_path / "run", progress=False)
    assert all(r["replay_examples"] == 2 for r in log_rows(tmp_path / "run"))
    assert result.examples_seen == 2 * 6  # replay takes 2 of each step's 8 examples


def test_ewc_uses_a_fisher_from_corpus_batches(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from instructmtl.corpus import build_source
    from instructmtl.models import load_model
    from instructmtl.mtl import estimate_fisher

    arm = {"name": "ewc", "regularizer": {"name": "ewc", "lam": 10.0, "fisher_batches": 2}, "replay": {"block_len": 32}}
    config = make_config(tiny_lm_dir, arm=arm, steps=2, checkpoints=[0.5, 1.0])
    tune.main(config, tmp_path / "run", progress=False)
    # step 2's penalty is lam / 2 * sum F (w1 - w0)^2 at the weights after step 1, F the base model's
    # Fisher on the run's corpus batches; L2-SP (F = 1) would log another number
    base = load_model(config.model)
    batches = tune._fisher_source(build_source(config.arm.replay.corpus), base.tokenizer, config.arm, config.seed)
    fisher = estimate_fisher(base.model, batches.batches, batches.loss_fn, n_batches=2)
    w0, w1 = dict(base.model.named_parameters()), final_weights(tmp_path / "run", 1)
    distance = sum(float((f * (w1[name] - w0[name].detach()) ** 2).sum()) for name, f in fisher.items())
    assert log_rows(tmp_path / "run")[1]["penalty"] == pytest.approx(10.0 / 2 * distance, rel=1e-4)
    assert sum(float(((w1[name] - w0[name].detach()) ** 2).sum()) for name in fisher) != pytest.approx(distance)


def test_uncertainty_weighting_trains_its_log_variances(tiny_lm_dir: Path, tmp_path: Path) -> None:
    arm = {"name": "unc", "weighting": "uncertainty", "groups": "category"}
    tune.main(make_config(tiny_lm_dir, arm=arm, steps=2, checkpoints=[1.0]), tmp_path / "run", progress=False)
    extras = load_file(str(tmp_path / "run" / "state" / "extras.safetensors"))
    values = torch.cat([v.flatten() for v in extras.values()])
    assert values.numel() > 1 and values.abs().max() > 0  # moved from their zero init


def test_lora_checkpoint_is_a_merged_full_model(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from instructmtl.models import ModelSpec, load_model

    arm = {"name": "lora", "lora": {"rank": 4, "target_modules": ["q_proj", "v_proj"]}}
    result = tune.main(make_config(tiny_lm_dir, arm=arm, steps=2, checkpoints=[1.0]), tmp_path / "run", progress=False)
    weights = final_weights(tmp_path / "run", 2)
    assert not any("lora" in name for name in weights)
    base = load_file(str(tiny_lm_dir / "model.safetensors"))
    q = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(weights[q], base[q])  # the adapter was merged in
    assert torch.equal(weights["model.layers.0.mlp.up_proj.weight"], base["model.layers.0.mlp.up_proj.weight"])
    load_model(ModelSpec(name_or_path=str(result.checkpoints[2]), device="cpu"))


def test_nan_loss_stops_with_the_step_and_last_checkpoint(tiny_lm_dir: Path, tmp_path: Path) -> None:
    import shutil

    from safetensors.torch import save_file

    broken = tmp_path / "nan-model"
    shutil.copytree(tiny_lm_dir, broken)
    weights = load_file(str(broken / "model.safetensors"))
    weights["model.norm.weight"] = torch.full_like(weights["model.norm.weight"], float("nan"))
    save_file(weights, str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(TrainingDivergedError, match=r"step 0: loss is nan; last good checkpoint: none yet"):
        tune.main(make_config(broken, steps=2, checkpoints=[1.0]), tmp_path / "run", progress=False)


def test_aggregator_runs_under_bf16_autocast(tiny_lm_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    import yaml

    # its own process: accelerate fixes the mixed precision once per process, and the other tests use fp32
    arm = {"name": "upgrad", "aggregator": "upgrad", "groups": "category", "groups_per_step": 2}
    config = make_config(tiny_lm_dir, arm=arm, steps=1, checkpoints=[1.0], precision="bf16")
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    done = subprocess.run(
        [sys.executable, "-m", "instructmtl", "tune", str(path), "--out", str(tmp_path / "run"), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert log_rows(tmp_path / "run")[0]["conflict"]["n_groups"] == 2


def test_checkpoints_record_drawn_instances_in_the_order_fit_is_planned(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from instructmtl.config.tasks import build_study_split
    from instructmtl.training.fit_plan import fit_plan

    config = make_config(tiny_lm_dir, steps=8)
    result = tune.main(config, tmp_path / "run", progress=False)
    meta = json.loads((result.checkpoints[8] / "instructmtl_checkpoint.json").read_text())["metadata"]
    drawn = meta["drawn_instances"]
    assert drawn.keys() == result.task_counts.keys()
    assert all(len(set(ids)) == len(ids) <= result.task_counts[t] for t, ids in drawn.items())
    _, split = build_study_split(config.tasks)
    train_ids = {s.name: {i.id for i in s.train} for s in split.train_tasks}
    assert all(set(ids) <= train_ids[t] for t, ids in drawn.items())
    # the base is planned from the seed alone; a checkpoint that drew m instances of a task drew exactly those
    base = fit_plan(split.train_tasks, config.data.encodings, config.seed, 1, None)
    tuned = fit_plan(split.train_tasks, config.data.encodings, config.seed, 1, drawn)
    assert tuned.instances and all(base.instances[t] == ids == drawn[t][:1] for t, ids in tuned.instances.items())
    assert set(tuned.skipped) == {s.name for s in split.train_tasks} - set(drawn)
    # the log keeps the optimized loss and its content / end-marker parts apart
    row = log_rows(tmp_path / "run")[-1]
    assert row["marker_loss"] is not None and row["content_loss"] is not None
    low, high = sorted((row["content_loss"], row["marker_loss"]))
    assert low <= row["loss"] <= high
