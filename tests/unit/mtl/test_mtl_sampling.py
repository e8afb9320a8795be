"""Task samplers: shared properties over every registered sampler, then each method's own facts."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
import torch

from instructmtl.errors import InstructMTLError, UnknownNameError
from instructmtl.mtl import SAMPLERS, build
from instructmtl.mtl.sampling import (
    Anneal,
    Mixture,
    MixtureComponent,
    Proportional,
    ReverseAnneal,
    Temperature,
    Uniform,
    draw_tasks,
    inverse_temperature,
)

SIZES = {"small": 4, "huge": 5000, "mid": 120, "tiny": 1, "big": 900}

# One or more configurations of every registered sampler; the coverage test below
# fails when a sampler is registered without being added here.
CONFIGS: list[tuple[str, dict]] = [
    ("proportional", {}),
    ("proportional", {"cap": 200}),
    ("temperature", {"temperature": 3.0}),
    ("temperature", {"temperature": 0.5, "cap": 1000}),
    ("uniform", {}),
    ("anneal", {"cap": 1000, "horizon": 0.5, "shape": "cosine"}),
    ("anneal", {}),
    ("reverse_anneal", {"shape": "cosine"}),
    ("reverse_anneal", {"horizon": 0.3}),
    (
        "mixture",
        {
            "components": [
                {"tasks": ["small", "huge"], "rate": 3, "sampler": {"name": "proportional", "cap": 100}},
                {"tasks": ["mid", "tiny", "big"], "sampler": "uniform"},
            ]
        },
    ),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]


def _random_sizes(rng: np.random.Generator) -> dict[str, int]:
    n_tasks = int(rng.integers(1, 12))
    return {f"task{int(i)}": int(rng.integers(1, 10_000)) for i in rng.permutation(50)[:n_tasks]}


def test_every_registered_sampler_is_property_checked() -> None:
    assert {name for name, _ in CONFIGS} == set(SAMPLERS.names())


@pytest.mark.parametrize(("name", "params"), [c for c in CONFIGS if c[0] != "mixture"], ids=IDS[:-1])
def test_probabilities_are_a_distribution_on_generated_sizes(name: str, params: dict) -> None:
    sampler = build(SAMPLERS, name, **params)
    rng = np.random.default_rng(1)
    for _ in range(20):
        sizes = _random_sizes(rng)
        for progress in (0.0, 0.37, 1.0):
            p = sampler.probabilities(sizes, progress)
            assert list(p) == list(sizes)
            assert all(v >= 0 for v in p.values())
            assert math.fsum(p.values()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("name", "params"), CONFIGS, ids=IDS)
def test_probabilities_do_not_depend_on_task_order(name: str, params: dict) -> None:
    sampler = build(SAMPLERS, name, **params)
    reordered = dict(reversed(list(SIZES.items())))
    for progress in (0.0, 0.2, 0.9):
        assert sampler.probabilities(reordered, progress) == sampler.probabilities(SIZES, progress)


@pytest.mark.parametrize(("name", "params"), CONFIGS, ids=IDS)
def test_empty_task_and_bad_progress_are_rejected(name: str, params: dict) -> None:
    sampler = build(SAMPLERS, name, **params)
    with pytest.raises(InstructMTLError, match="tiny"):
        sampler.probabilities({**SIZES, "tiny": 0}, 0.0)
    with pytest.raises(ValueError, match="progress"):
        sampler.probabilities(SIZES, 1.5)


def test_no_tasks_is_a_user_error() -> None:
    with pytest.raises(InstructMTLError, match="no training tasks"):
        Uniform().probabilities({}, 0.0)


def test_proportional_matches_hand_computation_with_cap() -> None:
    p = Proportional(cap=100).probabilities({"a": 10, "b": 1000, "c": 50}, 0.5)
    assert p == pytest.approx({"a": 10 / 160, "b": 100 / 160, "c": 50 / 160}, abs=1e-15)
    uncapped = Proportional().probabilities({"a": 10, "b": 1000, "c": 50}, 0.5)
    assert uncapped["b"] == pytest.approx(1000 / 1060)


def test_temperature_hand_computation() -> None:
    p = Temperature(temperature=2.0, cap=100).probabilities({"a": 4, "b": 1000}, 0.0)
    assert p["a"] == pytest.approx(2 / 12) and p["b"] == pytest.approx(10 / 12)


def test_temperature_one_is_proportional_and_large_temperature_tends_to_uniform() -> None:
    assert Temperature(temperature=1.0, cap=300).probabilities(SIZES, 0.0) == Proportional(cap=300).probabilities(
        SIZES, 0.0
    )
    hot = Temperature(temperature=1e6).probabilities(SIZES, 0.0)
    assert max(abs(v - 1 / len(SIZES)) for v in hot.values()) < 1e-4
    warm = Temperature(temperature=4.0).probabilities(SIZES, 0.0)
    # a higher temperature moves mass from the biggest task to the smallest
    prop = Proportional().probabilities(SIZES, 0.0)
    assert prop["huge"] > warm["huge"] > hot["huge"]
    assert prop["tiny"] < warm["tiny"] < hot["tiny"]


@pytest.mark.parametrize("shape", ["linear", "cosine"])
def test_anneal_end_points_are_exact(shape: str) -> None:
    prop, unif = Proportional(cap=1000).probabilities(SIZES, 0.0), Uniform().probabilities(SIZES, 0.0)
    forward, backward = Anneal(cap=1000, horizon=0.5, shape=shape), ReverseAnneal(cap=1000, horizon=0.5, shape=shape)
    assert forward.probabilities(SIZES, 0.0) == prop
    assert backward.probabilities(SIZES, 0.0) == unif
    for after_horizon in (0.5, 0.75, 1.0):  # the end point holds after the horizon
        assert forward.probabilities(SIZES, after_horizon) == unif
        assert backward.probabilities(SIZES, after_horizon) == prop


def test_anneal_moves_monotonically_towards_uniform() -> None:
    shares = [Anneal(shape="cosine").probabilities(SIZES, p)["huge"] for p in np.linspace(0, 1, 11)]
    assert all(a > b for a, b in pairwise(shares))
    reverse = [ReverseAnneal().probabilities(SIZES, p)["huge"] for p in np.linspace(0, 1, 11)]
    assert all(a < b for a, b in pairwise(reverse))


def test_inverse_temperature_schedule_formula() -> None:
    kw = {"start": 1.0, "end": 0.0, "horizon": 0.8}
    assert inverse_temperature(0.2, shape="linear", **kw) == pytest.approx(0.75)
    assert inverse_temperature(0.4, shape="linear", **kw) == pytest.approx(0.5)
    assert inverse_temperature(0.4, shape="cosine", **kw) == pytest.approx(0.5)
    assert inverse_temperature(0.2, shape="cosine", **kw) == pytest.approx(1 - (1 - math.cos(math.pi / 4)) / 2)
    # mid-schedule the sampler is temperature sampling at T = 1/beta
    mid = Anneal(horizon=0.8).probabilities(SIZES, 0.4)
    assert mid == pytest.approx(Temperature(temperature=2.0).probabilities(SIZES, 0.0), abs=1e-12)


def test_mixture_hand_computation_and_nesting() -> None:
    inner = Mixture((MixtureComponent(("a",), Uniform(), 1.0), MixtureComponent(("b", "c"), Proportional(), 1.0)))
    outer = Mixture((MixtureComponent(("a", "b", "c"), inner, 3.0), MixtureComponent(("d",), Uniform(), 1.0)))
    p = outer.probabilities({"a": 5, "b": 10, "c": 30, "d": 7}, 0.0)
    assert p == pytest.approx({"a": 0.75 * 0.5, "b": 0.75 * 0.5 * 0.25, "c": 0.75 * 0.5 * 0.75, "d": 0.25})


def test_mixture_passes_progress_to_its_components() -> None:
    mix = Mixture((MixtureComponent(tuple(SIZES), Anneal(), 1.0),))
    assert mix.probabilities(SIZES, 1.0) == pytest.approx(Uniform().probabilities(SIZES, 0.0))
    assert mix.probabilities(SIZES, 0.0) == pytest.approx(Proportional().probabilities(SIZES, 0.0))


def test_mixture_coverage_errors_name_the_tasks() -> None:
    mix = Mixture((MixtureComponent(("a", "b"), Uniform()),))
    with pytest.raises(InstructMTLError, match=r"task\(s\) c are in no component"):
        mix.probabilities({"a": 1, "b": 1, "c": 1}, 0.0)
    with pytest.raises(InstructMTLError, match="b are not training tasks"):
        mix.probabilities({"a": 1}, 0.0)


@pytest.mark.parametrize(
    "components",
    [
        [],
        [{"tasks": ["a"], "sampler": "uniform"}, {"tasks": ["a"], "sampler": "uniform"}],
        [{"tasks": ["a"], "sampler": "uniform", "weight": 2}],
        [{"tasks": ["a"], "sampler": {"cap": 3}}],
        [{"tasks": "a", "sampler": "uniform"}],
        [{"tasks": ["a"], "sampler": "uniform", "rate": -1}],
    ],
)
def test_bad_mixture_configs_are_one_line_errors(components: list) -> None:
    with pytest.raises(InstructMTLError, match="^task sampler 'mixture': .*accepted parameters: components$"):
        build(SAMPLERS, "mixture", components=components)


def test_nested_sampler_errors_name_the_inner_sampler() -> None:
    bad = [{"tasks": ["a"], "sampler": {"name": "temperature", "temperature": -2}}]
    with pytest.raises(InstructMTLError, match="task sampler 'temperature': temperature must be a number > 0"):
        build(SAMPLERS, "mixture", components=bad)
    with pytest.raises(UnknownNameError, match="Did you mean: uniform"):
        build(SAMPLERS, "mixture", components=[{"tasks": ["a"], "sampler": "unifrom"}])


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("temperature", {"temperature": 0}, "temperature must be a number > 0"),
        ("temperature", {"temperature": "2"}, "temperature must be a number > 0, got '2'"),
        ("proportional", {"cap": 2.5}, "cap must be an integer >= 1 or null"),
        ("anneal", {"horizon": 0}, r"horizon must be a number in \(0, 1\]"),
        ("anneal", {"shape": "exp"}, "shape must be one of cosine, linear"),
        ("uniform", {"cap": 3}, "unexpected keyword argument 'cap'"),
    ],
)
def test_bad_params_are_one_line_errors_listing_accepted_params(name: str, params: dict, fragment: str) -> None:
    with pytest.raises(InstructMTLError, match=fragment) as info:
        build(SAMPLERS, name, **params)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"task sampler '{name}'")
    assert "accepted parameters" in message


def test_uniform_draw_frequencies_match_with_numpy_and_torch_generators() -> None:
    p = Uniform().probabilities(SIZES, 0.0)
    for rng in (np.random.default_rng(7), torch.Generator().manual_seed(7)):
        draws = draw_tasks(p, 50_000, rng)
        for name in SIZES:
            assert draws.count(name) / len(draws) == pytest.approx(0.2, abs=0.01)


def test_draws_are_reproducible_and_independent_of_dict_order() -> None:
    p = Proportional().probabilities(SIZES, 0.0)
    reordered = dict(reversed(list(p.items())))
    first = draw_tasks(p, 100, np.random.default_rng(3))
    assert first == draw_tasks(reordered, 100, np.random.default_rng(3))
    assert first != draw_tasks(p, 100, np.random.default_rng(4))
    torch_draws = draw_tasks(p, 100, torch.Generator().manual_seed(3))
    assert torch_draws == draw_tasks(reordered, 100, torch.Generator().manual_seed(3))
    assert draw_tasks(p, 0, np.random.default_rng(0)) == [] == draw_tasks(p, 0, torch.Generator())


def test_draw_rejects_non_distributions() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        draw_tasks({"a": 0.5, "b": 0.4}, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must be"):
        draw_tasks({"a": 1.0}, -1, np.random.default_rng(0))
