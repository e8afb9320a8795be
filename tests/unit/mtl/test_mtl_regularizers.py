"""Regularizers towards the base weights: L2-SP, EWC (with a real LM-loss Fisher) and none."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from instructmtl.errors import InstructMTLError
from instructmtl.mtl import REGULARIZERS, build
from instructmtl.mtl.regularizers import Anchor, FisherSource, estimate_fisher


def _model() -> nn.Module:
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    model[0].bias.requires_grad_(False)  # frozen parameters are not anchored (think LoRA)
    return model


def _mse(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def _batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [(torch.randn(5, 4, generator=gen), torch.randn(5, 2, generator=gen)) for _ in range(n)]


def _nudge(model: nn.Module, amount: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(amount)


def _anchor(name: str, model: nn.Module, **params: object) -> tuple[object, Anchor]:
    reg = build(REGULARIZERS, name, **params)
    source = FisherSource(_batches(8), _mse) if reg.needs_fisher else None
    return reg, reg.make_anchor(model, source)


@pytest.mark.parametrize("name", REGULARIZERS.names())
def test_penalty_is_zero_at_the_anchor(name: str) -> None:
    model = _model()
    reg, anchor = _anchor(name, model)
    assert reg.penalty(model, anchor).item() == 0.0


@pytest.mark.parametrize("name", ["l2sp", "ewc"])
def test_penalty_grows_away_from_the_anchor_and_pulls_back(name: str) -> None:
    model = _model()
    reg, anchor = _anchor(name, model)
    _nudge(model, 0.1)
    small = reg.penalty(model, anchor)
    _nudge(model, 0.1)
    large = reg.penalty(model, anchor)
    assert 0 < small.item() < large.item()
    large.backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all((p.grad >= 0).all() for p in trainable)  # every weight moved up, so the pull is down
    assert any((p.grad > 0).any() for p in trainable)


def test_l2sp_matches_hand_computation_and_skips_frozen_parameters() -> None:
    model = _model()
    reg, anchor = _anchor("l2sp", model, alpha=0.3)
    assert "0.bias" not in anchor.weights and "0.weight" in anchor.weights
    _nudge(model, 0.5)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert reg.penalty(model, anchor).item() == pytest.approx(0.3 / 2 * 0.25 * n_trainable)


def test_ewc_with_unit_fisher_equals_l2sp() -> None:
    model = _model()
    l2sp, anchor = _anchor("l2sp", model, alpha=0.7)
    ewc = build(REGULARIZERS, "ewc", lam=0.7)
    ones = Anchor(anchor.weights, {name: torch.ones_like(w) for name, w in anchor.weights.items()})
    _nudge(model, -0.2)
    torch.testing.assert_close(ewc.penalty(model, ones), l2sp.penalty(model, anchor))


def test_fisher_is_the_mean_squared_batch_gradient_and_leaves_grads_alone() -> None:
    model, batches = _model(), _batches(5)
    fisher = estimate_fisher(model, iter(batches), _mse, n_batches=3)
    assert all(p.grad is None for p in model.parameters())
    w = model[2].weight
    expected = torch.stack([torch.autograd.grad(_mse(model, b), w)[0] ** 2 for b in batches[:3]]).mean(dim=0)
    torch.testing.assert_close(fisher["2.weight"], expected)
    assert set(fisher) == {"0.weight", "2.weight", "2.bias"}


def test_ewc_fisher_and_penalty_by_hand_on_a_two_parameter_model() -> None:
    # y = w x + b at w = 2, b = 1, loss = mean squared error over a batch of two
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.fill_(1.0)
    batches = [
        # predictions 3, 5, residuals 1, 1: dL/dw = mean(2 r x) = 3, dL/db = mean(2 r) = 2
        (torch.tensor([[1.0], [2.0]]), torch.tensor([[2.0], [4.0]])),
        # predictions 1, 3, residuals -2, 2: dL/dw = (0 + 4) / 2 = 2, dL/db = (-4 + 4) / 2 = 0
        (torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0], [1.0]])),
    ]
    reg = build(REGULARIZERS, "ewc", lam=2.0, fisher_batches=2)
    anchor = reg.make_anchor(model, FisherSource(batches, _mse))
    # the Fisher is the mean over batches of the squared batch gradient
    assert anchor.fisher["weight"].item() == pytest.approx((3.0**2 + 2.0**2) / 2)  # 6.5
    assert anchor.fisher["bias"].item() == pytest.approx((2.0**2 + 0.0**2) / 2)  # 2
    with torch.no_grad():
        model.weight.add_(0.1)
        model.bias.add_(0.2)
    # lam / 2 * (6.5 * 0.1^2 + 2 * 0.2^2) = 0.145, where L2-SP with alpha = 2 gives 0.05
    assert reg.penalty(model, anchor).item() == pytest.approx(0.145, rel=1e-5)
    assert build(REGULARIZERS, "l2sp", alpha=2.0).penalty(model, anchor).item() == pytest.approx(0.05, rel=1e-5)


def test_fisher_needs_enough_batches() -> None:
    with pytest.raises(InstructMTLError, match="corpus gave 2 batches, fisher_batches asks for 4"):
        estimate_fisher(_model(), _batches(2), _mse, n_batches=4)


def test_ewc_weighs_each_weight_by_its_fisher() -> None:
    model = _model()
    reg, anchor = _anchor("ewc", model, lam=2.0, fisher_batches=4)
    _nudge(model, 0.1)
    expected = sum((anchor.fisher[n] * 0.01).sum() for n in anchor.weights)
    assert reg.penalty(model, anchor).item() == pytest.approx(expected.item(), rel=1e-4)


@pytest.mark.slow  # importing transformers dominates
def test_ewc_fisher_from_a_tiny_causal_lm() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=48,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    model = LlamaForCausalLM(config)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 48, (2, 12), generator=gen) for _ in range(3)]

    def lm_loss(m: nn.Module, ids: torch.Tensor) -> torch.Tensor:
        return m(input_ids=ids, labels=ids).loss

    reg = build(REGULARIZERS, "ewc", lam=1.0, fisher_batches=3)
    anchor = reg.make_anchor(model, FisherSource(batches, lm_loss))
    assert anchor.fisher.keys() == dict(model.named_parameters()).keys()
    assert all((f >= 0).all() for f in anchor.fisher.values())
    assert anchor.fisher["lm_head.weight"].sum() > 0
    _nudge(model, 0.01)
    assert reg.penalty(model, anchor).item() > 0


def test_anchor_of_another_model_is_a_one_line_error() -> None:
    reg, anchor = _anchor("l2sp", _model())
    other = nn.Linear(4, 2)
    with pytest.raises(InstructMTLError, match="anchor does not match the model"):
        reg.penalty(other, anchor)


def test_ewc_needs_a_fisher_source_and_a_fisher() -> None:
    reg = build(REGULARIZERS, "ewc")
    with pytest.raises(ValueError, match="FisherSource"):
        reg.make_anchor(_model())
    with pytest.raises(ValueError, match="no Fisher"):
        reg.penalty(_model(), Anchor({}))


def test_bad_strengths_are_one_line_errors() -> None:
    with pytest.raises(InstructMTLError, match="regularizer 'l2sp': alpha must be a number >= 0"):
        build(REGULARIZERS, "l2sp", alpha=-1)
    with pytest.raises(InstructMTLError, match="fisher_batches must be an integer >= 1"):
        build(REGULARIZERS, "ewc", fisher_batches=0)
