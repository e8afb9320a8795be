"""Trackers through accelerate: a ``tensorboard`` run writes the logged loss; none is written by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.installed import require_module
from fixtures.tune_configs import small_tune_config
from instructmtl.training.config import TuneConfig
from instructmtl.workflows import tune

pytestmark = pytest.mark.slow


def make_config(model_dir: Path, trackers: list[str]) -> TuneConfig:
    return TuneConfig.model_validate(
        small_tune_config(model_dir, arm={"name": "tracked"}, steps=3, batch_size=4, checkpoints=[], trackers=trackers)
    )


def event_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob("events.out.tfevents.*"))


def test_tensorboard_tracker_writes_the_logged_losses(tiny_lm_dir: Path, tmp_path: Path) -> None:
    require_module("tensorboard", "pip install -e '.[test]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    tune.main(make_config(tiny_lm_dir, ["tensorboard"]), run_dir, progress=False)
    files = event_files(run_dir)
    assert files, f"no tensorboard event file under {run_dir}"
    events = EventAccumulator(str(files[0].parent))
    events.Reload()
    assert {"loss", "lr", "grad_norm"} <= set(events.Tags()["scalars"])
    logged = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    scalars = events.Scalars("loss")
    # one scalar per optimizer step, at the step it ends, equal to the JSONL log's loss (float32 in the event file)
    assert [s.step for s in scalars] == [row["step"] for row in logged] == [1, 2, 3]
    assert [s.value for s in scalars] == pytest.approx([row["loss"] for row in logged], rel=1e-6)


def test_no_tracker_files_by_default(tiny_lm_dir: Path, tmp_path: Path) -> None:
    config = make_config(tiny_lm_dir, [])
    assert TuneConfig.model_validate({"model": {"name_or_path": "x"}, "arm": {"name": "a"}}).trackers == []
    tune.main(config, tmp_path / "run", progress=False)
    assert event_files(tmp_path / "run") == []
    assert not any(p.name in ("wandb", "mlruns") for p in (tmp_path / "run").iterdir())
