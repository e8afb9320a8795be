"""YAML loading, dotted overrides and one-line validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from instructmtl.config import apply_overrides, config_hash, read_yaml, validate
from instructmtl.errors import ConfigError


class Optim(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    lr: float = 1e-3
    warmup: int = 0


class Conf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    optim: Optim = Optim()
    seeds: list[int] = [0]


def test_overrides_set_typed_values_including_list_items() -> None:
    data = apply_overrides({"optim": {"lr": 0.1}, "seeds": [0, 1]}, ["optim.lr=1e-5", "seeds.1=7", "optim.warmup=3"])
    conf = validate(Conf, data, "x.yaml")
    assert conf.optim.lr == pytest.approx(1e-5)
    assert conf.optim.warmup == 3
    assert conf.seeds == [0, 7]


def test_override_without_equals_is_an_error() -> None:
    with pytest.raises(ConfigError, match="must look like"):
        apply_overrides({}, ["optim.lr"])


def test_validation_error_names_the_key_on_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        validate(Conf, {"optim": {"lr": "fast"}}, "study.yaml")
    message = str(info.value)
    assert message.startswith("study.yaml: key 'optim.lr'")
    assert "\n" not in message


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="key 'optim.lrr'"):
        validate(Conf, {"optim": {"lrr": 1}}, "s.yaml")


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: line"):
        read_yaml(path)


def test_hash_changes_with_content_and_is_stable() -> None:
    a, b = Conf(), Conf(optim=Optim(lr=0.5))
    assert config_hash(a) == config_hash(Conf())
    assert config_hash(a) != config_hash(b)
