"""The registries and build(): every strategy is built by name, immutable, and fails in one line."""

from __future__ import annotations

import dataclasses

import pytest

from instructmtl.errors import InstructMTLError, UnknownNameError
from instructmtl.mtl import AGGREGATORS, BATCHING, REGULARIZERS, SAMPLERS, WEIGHTINGS, accepted_params, build

REGISTRIES = [SAMPLERS, BATCHING, AGGREGATORS, WEIGHTINGS, REGULARIZERS]
NEEDS_PARAMS = {"mixture"}


def test_registries_hold_the_documented_strategies() -> None:
    assert set(SAMPLERS.names()) == {"proportional", "temperature", "uniform", "anneal", "reverse_anneal", "mixture"}
    assert set(BATCHING.names()) == {"mixed", "homogeneous"}
    assert set(AGGREGATORS.names()) == {
        "mean",
        "upgrad",
        "pcgrad",
        "mgda",
        "cagrad",
        "imtl_g",
        "aligned_mtl",
        "nash_mtl",
        "dualproj",
    }
    assert set(WEIGHTINGS.names()) == {"equal", "uncertainty"}
    assert set(REGULARIZERS.names()) == {"none", "l2sp", "ewc"}


@pytest.mark.parametrize(
    ("registry", "name"),
    [(r, n) for r in REGISTRIES for n in r.names() if n not in NEEDS_PARAMS],
    ids=lambda x: x if isinstance(x, str) else x.kind,
)
def test_every_strategy_builds_with_defaults_and_is_immutable(registry, name: str) -> None:
    strategy = build(registry, name)
    assert dataclasses.is_dataclass(strategy)
    field = next(iter(dataclasses.fields(strategy)), None)
    if field is not None:
        with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot assign to field '{field.name}'"):
            setattr(strategy, field.name, None)
    assert strategy == build(registry, name)


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean: upgrad") as info:
        build(AGGREGATORS, "upgard")
    assert "\n" not in str(info.value)


def test_missing_required_param_is_one_line() -> None:
    with pytest.raises(InstructMTLError, match="task sampler 'mixture': missing a required argument: 'components'"):
        build(SAMPLERS, "mixture")


def test_accepted_params_lists_defaults() -> None:
    assert accepted_params(SAMPLERS.get("temperature")) == "temperature=2.0, cap=None"
    assert accepted_params(BATCHING.get("mixed")) == "none"
