"""Replay plan: the split is exact over steps, deterministic, and a pure function of the step."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from instructmtl.mtl import ReplayPlan


@pytest.mark.parametrize(("ratio", "batch"), [(0.1, 8), (0.25, 8), (1 / 3, 10), (0.05, 1), (0.0, 16), (0.7, 3)])
def test_realised_ratio_is_exact_after_every_step(ratio: float, batch: int) -> None:
    plan = ReplayPlan(ratio=ratio)
    replayed = 0
    for step in range(500):
        n_inst, n_rep = plan.split_batch(batch, step)
        assert n_inst + n_rep == batch and n_inst >= 0
        assert n_rep in (math.floor(plan.exact_ratio * batch), math.ceil(plan.exact_ratio * batch))
        replayed += n_rep
        assert replayed == math.floor(plan.exact_ratio * batch * (step + 1))
    assert abs(replayed / (500 * batch) - ratio) < 1 / (500 * batch) + 1e-9


def test_decimal_ratios_are_exact_fractions() -> None:
    plan = ReplayPlan(ratio=0.1)
    assert plan.exact_ratio == Fraction(1, 10)
    # 0.1 * 10 * 3 is 3.0000000000000004 in floats; the exact split gives 3 after 3 steps
    assert sum(plan.split_batch(10, s)[1] for s in range(3)) == 3


def test_split_is_a_pure_function_of_the_step() -> None:
    plan = ReplayPlan(ratio=0.3)
    uninterrupted = [plan.split_batch(7, s) for s in range(50)]
    fresh = ReplayPlan(ratio=0.3)  # as rebuilt from the config after a restart
    resumed = [plan.split_batch(7, s) for s in range(20)] + [fresh.split_batch(7, s) for s in range(20, 50)]
    assert uninterrupted == resumed
    assert {n_rep for _, n_rep in uninterrupted} == {2, 3}


def test_combine_weights_the_replay_loss() -> None:
    plan = ReplayPlan(ratio=0.2, weight=0.5)
    total = plan.combine(torch.tensor(2.0), torch.tensor(3.0))
    assert total.item() == pytest.approx(3.5)
    assert plan.combine(torch.tensor(2.0), None).item() == 2.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"), [({"ratio": 1.0}, r"ratio must be a number in \[0, 1\)"), ({"weight": -1}, "weight")]
)
def test_bad_plans_are_rejected(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ReplayPlan(**kwargs)
    with pytest.raises(ValueError):
        ReplayPlan(0.5).split_batch(0, 0)
