"""Gradient aggregators: shared properties over every registered name, then method facts."""

from __future__ import annotations

import pytest
import torch

from instructmtl.errors import InstructMTLError
from instructmtl.mtl import AGGREGATORS, build

NAMES = AGGREGATORS.names()
# Methods that return g itself when every group gradient is g.
GIVES_BACK_IDENTICAL = {"mean", "upgrad", "dualproj", "mgda", "imtl_g", "aligned_mtl"}
# Methods whose update never decreases any group's directional derivative below 0.
NON_CONFLICTING = {"upgrad", "dualproj", "mgda"}
# Methods with update(c * J) == c * update(J) for c > 0 (nash_mtl clips the update's norm).
HOMOGENEOUS = set(NAMES) - {"nash_mtl"}


def _rng() -> torch.Generator:
    return torch.Generator().manual_seed(11)


def _generated(n_groups: int, n_params: int, seed: int) -> torch.Tensor:
    return torch.randn(n_groups, n_params, generator=torch.Generator().manual_seed(seed))


def _conflicting() -> torch.Tensor:
    base = _generated(1, 40, 0)[0]
    return torch.stack([base, -0.8 * base + 0.3 * _generated(1, 40, 1)[0], _generated(1, 40, 2)[0]])


def test_every_aggregator_has_its_identical_gradient_behaviour_stated() -> None:
    assert GIVES_BACK_IDENTICAL | {"pcgrad", "cagrad", "nash_mtl"} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("n_groups", "seed"), [(1, 0), (2, 1), (5, 2)])
def test_output_shape_dtype_and_weights_combine_rows(name: str, n_groups: int, seed: int) -> None:
    agg = build(AGGREGATORS, name)
    if n_groups < agg.min_groups:
        with pytest.raises(InstructMTLError, match=f"needs at least {agg.min_groups} task groups"):
            agg(_generated(n_groups, 30, seed))
        return
    matrix = _generated(n_groups, 30, seed)
    out = agg(matrix, rng=_rng())
    assert out.shape == (30,) and out.dtype == torch.float32 and torch.isfinite(out).all()
    weights = agg.weights(matrix, rng=_rng())
    assert weights.shape == (n_groups,)
    torch.testing.assert_close(weights.to(matrix.dtype) @ matrix, out, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_half_precision_input_gives_half_precision_output(name: str) -> None:
    matrix = _generated(3, 16, 3)
    out = build(AGGREGATORS, name)(matrix.bfloat16(), rng=_rng())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), build(AGGREGATORS, name)(matrix, rng=_rng()), atol=0.1, rtol=0.05)


@pytest.mark.parametrize("name", sorted(GIVES_BACK_IDENTICAL))
def test_identical_gradients_give_back_that_gradient(name: str) -> None:
    g = _generated(1, 25, 4)[0]
    torch.testing.assert_close(build(AGGREGATORS, name)(torch.stack([g, g, g])), g, atol=1e-4, rtol=1e-4)


def test_pcgrad_sums_and_cagrad_stretches_identical_gradients() -> None:
    g = _generated(1, 25, 4)[0]
    same = torch.stack([g, g, g])
    torch.testing.assert_close(build(AGGREGATORS, "pcgrad")(same, rng=_rng()), 3 * g, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(build(AGGREGATORS, "cagrad", c=0.5)(same), 1.5 * g, atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(build(AGGREGATORS, "cagrad", c=0.0)(same), g, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"mean"}))
def test_conflicting_gradients_change_the_update(name: str) -> None:
    matrix = _conflicting()
    out = build(AGGREGATORS, name)(matrix, rng=_rng())
    assert (out - matrix.mean(dim=0)).norm() > 1e-2 * matrix.mean(dim=0).norm()


@pytest.mark.parametrize("name", sorted(NON_CONFLICTING))
def test_update_conflicts_with_no_group(name: str) -> None:
    matrix = _conflicting()
    assert (matrix @ matrix.mean(dim=0) < 0).any()  # the mean does hurt some group here
    out = build(AGGREGATORS, name)(matrix)
    # torchjd regularises the Gramian slightly (reg_eps), hence a relative tolerance
    assert (matrix @ out >= -1e-3 * matrix.norm(dim=1) * out.norm()).all()


@pytest.mark.parametrize("name", ["upgrad", "dualproj"])
def test_without_conflict_the_dual_cone_methods_are_the_mean(name: str) -> None:
    matrix = _generated(3, 20, 5).abs()  # all positive: every pair has a positive inner product
    torch.testing.assert_close(build(AGGREGATORS, name)(matrix), matrix.mean(dim=0), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(HOMOGENEOUS))
@pytest.mark.parametrize("scale", [0.01, 7.0])
def test_scaling_the_gradients_scales_the_update(name: str, scale: float) -> None:
    agg, matrix = build(AGGREGATORS, name), _conflicting()
    torch.testing.assert_close(agg(scale * matrix, rng=_rng()), scale * agg(matrix, rng=_rng()), atol=1e-4, rtol=1e-3)


def test_nash_mtl_clips_the_update_norm() -> None:
    out = build(AGGREGATORS, "nash_mtl", max_norm=0.5)(10 * _conflicting())
    assert out.norm() <= 0.5 + 1e-5


@pytest.mark.parametrize("name", ["nash_mtl", "cagrad", "mgda"])
def test_calls_are_stateless(name: str) -> None:
    agg = build(AGGREGATORS, name)
    first = agg(_conflicting())
    agg(_generated(3, 40, 9))
    torch.testing.assert_close(agg(_conflicting()), first)


def test_random_method_needs_the_generator_and_leaves_the_global_one_alone() -> None:
    agg = build(AGGREGATORS, "pcgrad")
    matrix = _generated(6, 30, 6)
    with pytest.raises(ValueError, match="pass the run's generator"):
        agg(matrix)
    before = torch.random.get_rng_state()
    outputs = {tuple(agg(matrix, rng=torch.Generator().manual_seed(s)).tolist()) for s in range(8)}
    assert torch.equal(torch.random.get_rng_state(), before)
    assert len(outputs) > 1  # the visiting order really is random...
    torch.testing.assert_close(agg(matrix, rng=_rng()), agg(matrix, rng=_rng()))  # ...and seeded


def test_torchjd_object_is_fresh_each_time() -> None:
    agg = build(AGGREGATORS, "nash_mtl")
    assert agg.torchjd(3) is not agg.torchjd(3)
    assert agg.torchjd(4).n_tasks == 4


def test_aggregators_are_immutable_and_compare_by_hyperparameters() -> None:
    agg = build(AGGREGATORS, "cagrad", c=0.2)
    assert agg == build(AGGREGATORS, "cagrad", c=0.2) != build(AGGREGATORS, "cagrad", c=0.3)
    with pytest.raises(AttributeError, match="cannot assign to field 'name'"):
        agg.name = "mean"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("cagrad", {"c": -1}, "c must be a number >= 0"),
        ("mgda", {"max_iters": 0}, "max_iters must be an integer >= 1"),
        ("aligned_mtl", {"scale_mode": "max"}, "scale_mode must be one of"),
        ("upgrad", {"c": 1}, "unexpected keyword argument 'c'"),
    ],
)
def test_bad_params_are_one_line_errors(name: str, params: dict, fragment: str) -> None:
    with pytest.raises(InstructMTLError, match=fragment):
        build(AGGREGATORS, name, **params)


def test_missing_optional_solver_is_a_one_line_error_naming_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchjd._mixins

    real = torchjd._mixins.find_spec
    monkeypatch.setattr(torchjd._mixins, "find_spec", lambda name: None if name == "cvxpy" else real(name))
    expected = r"^gradient aggregator 'nash_mtl': .*pip install \"torchjd\[nash_mtl\]\"$"
    with pytest.raises(InstructMTLError, match=expected):
        build(AGGREGATORS, "nash_mtl")


def test_malformed_matrix_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\[G, P\]"):
        build(AGGREGATORS, "mean")(torch.zeros(5))
    with pytest.raises(ValueError, match=r"\[G, P\]"):
        build(AGGREGATORS, "mean")(torch.zeros(0, 5))
