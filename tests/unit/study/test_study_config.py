"""Study config: presets load, errors name the key, and arms expand into tune configs."""

from __future__ import annotations

import pytest

from instructmtl.errors import ConfigError, InstructMTLError
from instructmtl.study.config import PRESETS, load_study_config


@pytest.mark.parametrize("preset", PRESETS)
def test_every_shipped_preset_validates(preset: str) -> None:
    config = load_study_config(preset)
    # smoke is a first look in two minutes: still enough arms for claim 3 and checkpoints for claim 5
    assert len(config.arms) >= (3 if preset == "smoke" else 5) and config.seeds
    assert len(config.tune.checkpoints) >= 2


def test_default_preset_meets_the_study_minimums() -> None:
    config = load_study_config(None)
    assert config.builtin_preset == "tiny"
    assert len(config.arms) >= 5 and len(config.seeds) >= 2 and len(config.tune.checkpoints) >= 2
    from instructmtl.config.tasks import build_study_split

    _, split = build_study_split(config.tasks)  # issue 11: a held-out set that can decide something
    assert len(split.held_out_tasks) >= 30 and len({s.task.category for s in split.held_out_tasks}) >= 6
    assert sum(len(s.eval) >= 24 for s in split.held_out_tasks) >= 24
    sizes = sorted(len(s.train) for s in split.train_tasks)
    assert sizes[-1] >= 10 * sizes[0]  # trained task sizes differ, so the sampling arms differ
    names = [arm.name for arm in config.arms]
    assert names[0] == "proportional" and any("replay" in n for n in names)
    assert any(arm.aggregator.name != "mean" and arm.groups == "category" for arm in config.arms)
    tune = config.tune_config(config.arms[1], seed=1, base=config.base)
    assert tune.seed == 1 and tune.arm.name == names[1] and tune.steps == config.tune.steps


def test_unknown_key_and_bad_value_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"key 'tune.stepz'"):
        load_study_config(None, ["tune.stepz=3"])
    with pytest.raises(ConfigError, match=r"key 'executor.kind'.*'local' or 'ray'"):
        load_study_config(None, ["executor.kind=slurm"])


def test_unknown_preset_and_unknown_strategy() -> None:
    with pytest.raises(ConfigError, match="neither a preset"):
        load_study_config("nope")
    with pytest.raises(InstructMTLError, match="Did you mean: uniform"):
        load_study_config(None, ["arms.1.sampler=unifrom"])


def test_analysis_must_name_existing_arms() -> None:
    with pytest.raises(ConfigError, match="not one of"):
        load_study_config(None, ["analysis.baseline_arm=missing"])


def test_default_study_holds_out_at_least_8_tasks_of_untrained_categories() -> None:
    from instructmtl.config.tasks import build_study_split

    config = load_study_config(None)
    _, split = build_study_split(config.tasks)
    held = {t.task.category for t in split.held_out_tasks}
    trained = {t.task.category for t in split.train_tasks}
    assert len(split.held_out_tasks) >= 8 and not held & trained
    kinds = {t.task.labels is None for t in split.held_out_tasks}
    assert kinds == {True, False}  # generation and classification both held out
