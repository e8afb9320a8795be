"""Gradient-conflict diagnostics on hand-built gradients."""

from __future__ import annotations

import pytest
import torch

from instructmtl.mtl import gradient_conflict


def test_identical_gradients_are_fully_aligned() -> None:
    g = torch.tensor([1.0, -2.0, 0.5])
    d = gradient_conflict(torch.stack([g, g, g]))
    assert d.n_groups == 3
    assert d.directional_conflict == pytest.approx(2 / 3)  # the maximum, (K-1)/K
    assert d.magnitude_conflict == pytest.approx(0.0, abs=1e-12)
    assert d.mean_pairwise_cosine == pytest.approx(1.0)
    assert d.conflicting_pair_fraction == 0.0


def test_opposite_gradients_conflict_fully() -> None:
    g = torch.tensor([3.0, 4.0])
    d = gradient_conflict(torch.stack([g, -g]))
    assert d.directional_conflict == pytest.approx(-0.5)  # |0|^2 - 1/2
    assert d.mean_pairwise_cosine == pytest.approx(-1.0)
    assert d.conflicting_pair_fraction == 1.0


def test_orthogonal_gradients_score_zero_and_norms_give_magnitude_conflict() -> None:
    d = gradient_conflict(torch.tensor([[1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 2.0]]))
    assert d.directional_conflict == pytest.approx(0.0, abs=1e-12)
    assert d.mean_pairwise_cosine == pytest.approx(0.0, abs=1e-12)
    assert d.conflicting_pair_fraction == 0.0
    assert d.magnitude_conflict == pytest.approx((2 / 3) / 4)  # var(1, 3, 2) = 2/3, mean 2


def test_fraction_counts_conflicting_pairs() -> None:
    # pairs (0,1) cos>0, (0,2) cos<0, (1,2) cos<0
    d = gradient_conflict(torch.tensor([[1.0, 0.2], [1.0, 1.0], [-1.0, -0.1]]))
    assert d.conflicting_pair_fraction == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_directional_conflict_identity_and_scale_invariance(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    k = 2 + seed
    matrix = torch.randn(k, 50, generator=gen, dtype=torch.float64)
    d = gradient_conflict(matrix)
    unit = matrix / matrix.norm(dim=1, keepdim=True)
    assert d.directional_conflict == pytest.approx(unit.mean(dim=0).norm().item() ** 2 - 1 / k)
    assert d.directional_conflict == pytest.approx((k - 1) / k * d.mean_pairwise_cosine)
    rescaled = gradient_conflict(matrix * torch.rand(k, 1, generator=gen, dtype=torch.float64).add(0.1))
    assert rescaled.directional_conflict == pytest.approx(d.directional_conflict)
    assert gradient_conflict(5 * matrix).magnitude_conflict == pytest.approx(d.magnitude_conflict)


def test_half_precision_input_is_accepted() -> None:
    g = torch.tensor([[1.0, 2.0], [2.0, 1.0]])
    assert gradient_conflict(g.bfloat16()).mean_pairwise_cosine == pytest.approx(0.8, abs=1e-2)


def test_undefined_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="K >= 2"):
        gradient_conflict(torch.ones(1, 3))
    with pytest.raises(ValueError, match="zero gradient"):
        gradient_conflict(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
