"""Loss weighting: equal and Kendall et al. uncertainty weighting with explicit state."""

from __future__ import annotations

import math

import pytest
import torch

from instructmtl.errors import InstructMTLError
from instructmtl.mtl import WEIGHTINGS, build

GROUPS = ["cls", "gen", "math"]
LOSSES = {"cls": torch.tensor(2.0), "gen": torch.tensor(0.5), "math": torch.tensor(1.25)}


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_weighting_starts_as_the_mean_and_ignores_loss_order(name: str) -> None:
    weighting = build(WEIGHTINGS, name)
    state = weighting.init_state(GROUPS)
    reordered = dict(reversed(list(LOSSES.items())))
    assert weighting.combine(LOSSES, state).item() == pytest.approx(3.75 / 3)
    assert weighting.combine(reordered, state) == weighting.combine(LOSSES, state)


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_a_step_may_see_only_some_groups_but_not_unknown_ones(name: str) -> None:
    weighting = build(WEIGHTINGS, name)
    state = weighting.init_state(GROUPS)
    assert weighting.combine({"gen": torch.tensor(0.5)}, state).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown"):
        weighting.combine({"poetry": torch.tensor(1.0)}, state)
    with pytest.raises(ValueError, match="losses must be a non-empty subset of groups"):
        weighting.combine({}, state)


def test_equal_learns_nothing() -> None:
    state = build(WEIGHTINGS, "equal").init_state(GROUPS)
    assert state.parameters() == [] and state.state_dict() == {}


def test_uncertainty_state_changes_the_loss_by_the_formula() -> None:
    weighting = build(WEIGHTINGS, "uncertainty")
    state = weighting.init_state(GROUPS)
    with torch.no_grad():
        state.params.copy_(torch.tensor([1.0, -1.0, 0.0]))
    expected = ((math.exp(-1) * 2.0 + 0.5) + (math.exp(1) * 0.5 - 0.5) + 1.25) / 3
    assert weighting.combine(LOSSES, state).item() == pytest.approx(expected)


def test_uncertainty_log_variances_learn_towards_log_two_loss() -> None:
    weighting = build(WEIGHTINGS, "uncertainty")
    state = weighting.init_state(GROUPS)
    optimizer = torch.optim.SGD(state.parameters(), lr=0.5)
    for _ in range(300):
        optimizer.zero_grad()
        weighting.combine(LOSSES, state).backward()
        optimizer.step()
    expected = torch.tensor([math.log(2 * LOSSES[g].item()) for g in GROUPS])
    torch.testing.assert_close(state.params.detach(), expected, atol=1e-3, rtol=0)


def test_uncertainty_gradient_reaches_the_group_losses_with_the_learned_weight() -> None:
    weighting = build(WEIGHTINGS, "uncertainty", init_log_variance=math.log(4.0))
    state = weighting.init_state(GROUPS)
    loss = torch.tensor(3.0, requires_grad=True)
    weighting.combine({"cls": loss}, state).backward()
    assert loss.grad.item() == pytest.approx(0.25)


def test_uncertainty_state_round_trips_in_place() -> None:
    weighting = build(WEIGHTINGS, "uncertainty")
    state, other = weighting.init_state(GROUPS), weighting.init_state(GROUPS)
    with torch.no_grad():
        state.params.copy_(torch.tensor([0.1, 0.2, 0.3]))
    held = other.params
    other.load_state_dict(state.state_dict())
    assert other.params is held  # an optimizer holding the tensor keeps working
    torch.testing.assert_close(other.params.detach(), torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="checkpoint has"):
        other.load_state_dict({"cls": torch.tensor(0.0)})


def test_uncertainty_rejects_bad_params_and_groups() -> None:
    with pytest.raises(InstructMTLError, match="init_log_variance must be a finite number"):
        build(WEIGHTINGS, "uncertainty", init_log_variance=float("nan"))
    with pytest.raises(ValueError, match="distinct"):
        build(WEIGHTINGS, "uncertainty").init_state(["a", "a"])
