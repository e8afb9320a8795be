"""The anchor a regularizer pulls towards: the base weights w0 and, for EWC, a diagonal Fisher.

The anchor is explicit state: the training loop makes it once from the base
model and passes it to every ``penalty`` call. It is not saved: a resumed run
makes it again from the same base weights (and, for EWC, the same seeded
corpus batches), so it pulls towards the same point (tested: a killed EWC run
resumes to bit-identical weights).

Only trainable parameters (``requires_grad``) are anchored: with LoRA the
frozen base weights cannot move, so anchoring them would only cost memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from instructmtl.errors import InstructMTLError


@dataclass(frozen=True)
class Anchor:
    """Base weights (and optionally a diagonal Fisher), keyed by parameter name.

    Args:
        weights: parameter name → w0 (detached copies).
        fisher: parameter name → diagonal Fisher estimate (float32), or ``None``.
    """

    weights: Mapping[str, torch.Tensor]
    fisher: Mapping[str, torch.Tensor] | None = None


@dataclass(frozen=True)
class FisherSource:
    """Where EWC's Fisher comes from: corpus batches and the LM loss on them.

    Args:
        batches: batches of pretraining text (whatever ``loss_fn`` accepts).
        loss_fn: ``loss_fn(model, batch)`` → scalar mean LM loss.
    """

    batches: Iterable[Any]
    loss_fn: Callable[[nn.Module, Any], torch.Tensor]


def trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    """The parameters an anchor covers: name → parameter, for those with ``requires_grad``."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of the trainable parameters: w0."""
    return {name: p.detach().clone() for name, p in trainable(model).items()}


def estimate_fisher(
    model: nn.Module, batches: Iterable[Any], loss_fn: Callable[[nn.Module, Any], torch.Tensor], n_batches: int
) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher from squared gradients of the LM loss (Kirkpatrick et al. 2017).

    ``F_i = mean over batches of (d loss / d w_i)^2``. Squaring the *batch*
    gradient rather than each example's is the usual cheap approximation; it
    is smaller than the per-example Fisher by about the batch size, which the
    EWC strength absorbs. The model's train/eval mode is left as the caller set
    it, and ``.grad`` fields are not touched.

    Args:
        model: the base model (before any instruction-tuning).
        batches: corpus batches; the first ``n_batches`` are used.
        loss_fn: ``loss_fn(model, batch)`` → scalar LM loss.
        n_batches: how many batches to average over (>= 1).

    Returns:
        Parameter name → float32 Fisher diagonal, for the trainable parameters.

    Raises:
        InstructMTLError: if the corpus yields fewer than ``n_batches`` batches.
    """
    params = trainable(model)
    fisher = {name: torch.zeros_like(p, dtype=torch.float32) for name, p in params.items()}
    seen = 0
    for batch in itertools.islice(batches, n_batches):
        grads = torch.autograd.grad(loss_fn(model, batch), list(params.values()), allow_unused=True)
        for name, grad in zip(params, grads, strict=True):
            if grad is not None:  # a parameter the LM loss does not reach has zero Fisher
                fisher[name] += grad.detach().float() ** 2
        seen += 1
    if seen < n_batches:
        raise InstructMTLError(
            f"regularizer 'ewc': the corpus gave {seen} batches, fisher_batches asks for {n_batches}; "
            "lower fisher_batches or use a larger corpus"
        )
    return {name: f / seen for name, f in fisher.items()}


def squared_distance(model: nn.Module, anchor: Anchor, fisher: Mapping[str, torch.Tensor] | None) -> torch.Tensor:
    """``sum_i F_i (w_i - w0_i)^2`` over the anchored parameters (``F = 1`` when ``fisher`` is None).

    Returns:
        A float32 scalar on the parameters' device, differentiable in the model's weights.

    Raises:
        InstructMTLError: if the anchor's parameters are not the model's trainable ones.
    """
    params = trainable(model)
    if params.keys() != anchor.weights.keys():
        missing, extra = sorted(params.keys() - anchor.weights.keys()), sorted(anchor.weights.keys() - params.keys())
        raise InstructMTLError(
            f"regularizer anchor does not match the model (unanchored: {missing[:3]}, unknown: {extra[:3]}); "
            "make the anchor from this model, or resume from a checkpoint of the same model"
        )
    terms = []
    for name, p in params.items():
        diff = (p.float() - anchor.weights[name].float()) ** 2
        terms.append((diff if fisher is None else fisher[name] * diff).sum())
    return torch.stack(terms).sum()
