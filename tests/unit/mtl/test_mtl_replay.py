"""Replay plan: exact over steps, a pure function of the step, and added on top of the instructions by default."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from pydantic import ValidationError

from instructmtl.corpus import TextCorpusConfig
from instructmtl.mtl import ReplayPlan
from instructmtl.training.config import ReplayConfig

MODES = ["add", "replace"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("ratio", "batch"), [(0.1, 8), (0.25, 8), (1 / 3, 10), (0.05, 1), (0.0, 16), (0.7, 3)])
def test_realised_ratio_is_exact_after_every_step(ratio: float, batch: int, mode: str) -> None:
    plan = ReplayPlan(ratio=ratio, mode=mode)
    replayed = 0
    for step in range(500):
        n_inst, n_rep = plan.split_batch(batch, step)
        assert n_inst == (batch if mode == "add" else batch - n_rep) and n_inst >= 0
        assert n_rep in (math.floor(plan.exact_ratio * batch), math.ceil(plan.exact_ratio * batch))
        replayed += n_rep
        assert replayed == math.floor(plan.exact_ratio * batch * (step + 1)) == plan.replayed_before(batch, step + 1)
    assert abs(replayed / (500 * batch) - ratio) < 1 / (500 * batch) + 1e-9


def test_add_is_the_default_and_every_arm_sees_the_same_instructions() -> None:
    assert ReplayPlan(0.25).mode == "add" and ReplayConfig().mode == "add"
    batch, steps = 8, 40
    arms = [ReplayPlan(0.0), ReplayPlan(0.25), ReplayPlan(1.0), ReplayPlan(2.5)]
    splits = [[arm.split_batch(batch, s) for s in range(steps)] for arm in arms]
    assert {sum(n for n, _ in arm) for arm in splits} == {batch * steps}
    assert [sum(r for _, r in arm) for arm in splits] == [0, 2 * steps, 8 * steps, 20 * steps]
    # replace mode takes the replay out of the batch instead
    replaced = [ReplayPlan(0.25, mode="replace").split_batch(batch, s) for s in range(steps)]
    assert all(split == (6, 2) for split in replaced)


def test_decimal_ratios_are_exact_fractions() -> None:
    plan = ReplayPlan(ratio=0.1)
    assert plan.exact_ratio == Fraction(1, 10)
    # 0.1 * 10 * 3 is 3.0000000000000004 in floats; the exact split gives 3 after 3 steps
    assert sum(plan.split_batch(10, s)[1] for s in range(3)) == 3


@pytest.mark.parametrize("mode", MODES)
def test_split_is_a_pure_function_of_the_step(mode: str) -> None:
    plan = ReplayPlan(ratio=0.3, mode=mode)
    uninterrupted = [plan.split_batch(7, s) for s in range(50)]
    fresh = ReplayPlan(ratio=0.3, mode=mode)  # as rebuilt from the config after a restart
    resumed = [plan.split_batch(7, s) for s in range(20)] + [fresh.split_batch(7, s) for s in range(20, 50)]
    assert uninterrupted == resumed
    assert {n_rep for _, n_rep in uninterrupted} == {2, 3}


def test_combine_weights_the_replay_loss() -> None:
    plan = ReplayPlan(ratio=0.2, weight=0.5)
    total = plan.combine(torch.tensor(2.0), torch.tensor(3.0))
    assert total.item() == pytest.approx(3.5)
    assert plan.combine(torch.tensor(2.0), None).item() == 2.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"ratio": 1.0, "mode": "replace"}, r"ratio \(replace mode\) must be a number in \[0, 1\)"),
        ({"ratio": 4.5}, "at most 4 replay blocks per instruction example"),
        ({"ratio": -0.1}, "ratio must be a number >= 0"),
        ({"weight": -1}, "weight"),
        ({"mode": "mix"}, "mode must be one of add, replace"),
    ],
)
def test_bad_plans_are_rejected(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ReplayPlan(**kwargs)
    with pytest.raises(ValueError, match="need global_batch_size >= 1 and step >= 0, got 0, 0"):
        ReplayPlan(0.5).split_batch(0, 0)


def test_add_mode_accepts_ratios_above_one() -> None:
    assert ReplayPlan(4.0).split_batch(8, 0) == (8, 32)
    assert ReplayConfig(ratio=2.0).ratio == 2.0


def test_replay_config_checks_ratio_by_mode_and_families_by_corpus() -> None:
    with pytest.raises(ValidationError, match="at most 4"):
        ReplayConfig(ratio=5.0)
    with pytest.raises(ValidationError, match=r"replace mode"):
        ReplayConfig(ratio=1.0, mode="replace")
    assert ReplayConfig(ratio=0.5, mode="replace").mode == "replace"
    assert ReplayConfig(exclude_held_out_families=True).exclude_held_out_families
    with pytest.raises(ValidationError, match="exclude_held_out_families needs the builtin corpus"):
        ReplayConfig(exclude_held_out_families=True, corpus=TextCorpusConfig(paths=("x.txt",)))
