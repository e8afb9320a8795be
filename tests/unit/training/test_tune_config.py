"""TuneConfig: strategy names and parameters are checked when the config is read."""

from __future__ import annotations

import pytest

from instructmtl.config import validate
from instructmtl.errors import ConfigError, InstructMTLError
from instructmtl.training.config import ArmConfig, TuneConfig

BASE = {"model": {"name_or_path": "some/model"}, "arm": {"name": "a"}}


def test_short_and_long_plugin_forms() -> None:
    arm = ArmConfig.model_validate(
        {"name": "t", "sampler": {"name": "temperature", "temperature": 3}, "batching": "homogeneous"}
    )
    assert arm.sampler.name == "temperature" and arm.sampler.params == {"temperature": 3}
    assert arm.batching.name == "homogeneous" and arm.batching.params == {}


def test_unknown_strategy_name_suggests_close_matches() -> None:
    with pytest.raises(InstructMTLError, match="Did you mean: upgrad"):
        ArmConfig.model_validate({"name": "x", "aggregator": "upgrd"})


def test_bad_strategy_parameter_names_the_accepted_ones() -> None:
    with pytest.raises(InstructMTLError, match="accepted parameters"):
        ArmConfig.model_validate({"name": "x", "sampler": {"name": "proportional", "kap": 3}})


def test_aggregator_with_a_loss_weighting_is_refused_on_one_line() -> None:
    with pytest.raises(ConfigError, match="key 'arm'.*replaces loss weighting"):
        arm = {"name": "a", "aggregator": "upgrad", "weighting": "uncertainty"}
        validate(TuneConfig, {**BASE, "arm": arm}, "t.yaml")


def test_checkpoint_fractions_become_steps() -> None:
    config = TuneConfig.model_validate({**BASE, "steps": 200, "checkpoints": [0.1, 0.25, 0.5, 1.0, 30]})
    assert config.checkpoint_steps() == [20, 30, 50, 100, 200]
    with pytest.raises(ValueError, match=r"checkpoint 1\.5 must be a fraction in \(0, 1\] or a step number"):
        TuneConfig.model_validate({**BASE, "steps": 10, "checkpoints": [1.5]})
